import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { TickEvent } from "../../../gen/ibprovider/v1/market_data_service.js";
import { dec, type Decimal } from "../../domain/decimal.js";
import type { Level1, MarketDataType } from "../../domain/marketData.js";
import { tickToProto, writeTickEvent } from "./marketData.js";

// writeTickEvent is a hand-written mirror of ts-proto's encoding of TickEvent{tick: tickToProto(...)}:
// for any L1 state it must give the very same bytes (so a field added to Tick or to tickToProto without
// being written here fails this test).
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

describe("the hand-written TickEvent encoding", () => {
  it("is byte for byte ts-proto's, for states with any field set or unset, any time and sequence", () => {
    const rnd = random(7);
    const maybe = (d: () => Decimal): Decimal | undefined => (rnd() < 0.25 ? undefined : d());
    const types: MarketDataType[] = ["live", "frozen", "delayed", "delayed-frozen"];
    for (let i = 0; i < 2_000; i++) {
      const l1: Level1 = {
        timeMs: i === 0 ? 0 : Math.floor(rnd() * 2e12) + (rnd() < 0.5 ? 0 : 0.5),
        bid: maybe(() => dec((rnd() * 1e5).toFixed(2))),
        bidSize: maybe(() => dec(Math.floor(rnd() * 1e6))),
        ask: maybe(() => dec((rnd() * 1e5).toFixed(4))),
        askSize: maybe(() => dec((rnd() * 10).toFixed(8))),
        last: maybe(() => dec(0)),
        lastSize: maybe(() => dec("0.00000001")),
        volume: maybe(() => dec("123456789.123")),
        dataType: types[i % 4]!,
        ...(i % 3 === 0
          ? {
              optionComputations: (["bid", "ask", "last", "model"] as const)
                .filter(() => rnd() < 0.6)
                .map((kind) => ({
                  kind,
                  priceBased: rnd() < 0.5,
                  impliedVolatility: maybe(() => dec((rnd()).toFixed(6))),
                  delta: maybe(() => dec((rnd() * 2 - 1).toFixed(6))),
                  gamma: maybe(() => dec((rnd() / 10).toFixed(8))),
                  vega: maybe(() => dec((rnd()).toFixed(6))),
                  theta: maybe(() => dec((-rnd()).toFixed(6))),
                  optionPrice: maybe(() => dec((rnd() * 50).toFixed(2))),
                  underlyingPrice: maybe(() => dec((rnd() * 500).toFixed(2))),
                  pvDividend: maybe(() => dec(0)),
                })),
            }
          : {}),
      };
      const symbol = i % 7 === 0 ? "" : i % 2 === 0 ? "BTCUSDT" : "ÄPFEL";
      const seq = i % 5 === 0 ? 0 : Math.floor(rnd() * 2 ** 40);
      const expected = TickEvent.encode({ event: { $case: "tick", value: tickToProto(l1, symbol) }, sequence: String(seq) }).finish();
      const w = new BinaryWriter();
      writeTickEvent(l1, symbol, seq, w);
      expect(Buffer.from(w.finish()).equals(Buffer.from(expected)), `state ${i}`).toBe(true);
    }
  });
});
