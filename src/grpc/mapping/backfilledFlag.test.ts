import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { StreamCandlesResponse, StreamTradesResponse, type CandleEvent, type TradeEvent as ProtoTradeEvent } from "../../../gen/ibprovider/v1/market_data_service.js";
import { dec } from "../../domain/decimal.js";
import type { Candle } from "../../domain/marketData.js";
import type { TradeEvent } from "../../ib/ibAdapter.js";
import type { StreamRendering } from "../streamEncoding.js";
import { candleToProto, tradeToProto, withBackfilledFlag } from "./marketData.js";

/** A rendering as numberedRendering builds one: `{ event, sequence }` per data value. */
function rendering<T, E>(codec: { encode(m: { events: E[] }, w?: BinaryWriter): BinaryWriter }, toEvent: (value: T) => unknown): StreamRendering<T, E> {
  return {
    key: "test",
    encode: (events: E[], writer: BinaryWriter) => codec.encode({ events }, writer),
    data: (value: T, seq: number) => [{ event: toEvent(value), sequence: String(seq) } as E],
    control: (event: unknown) => ({ ...(event as object), sequence: "0" }) as E,
  } as unknown as StreamRendering<T, E>;
}

const candle = (startMs: number, backfilled: boolean): Candle => ({
  startMs,
  interval: "min1",
  open: dec("10"),
  high: dec("11"),
  low: dec("9"),
  close: dec("10.5"),
  volume: dec("3"),
  tradeCount: 2,
  complete: true,
  ...(backfilled ? { backfilled: true as const } : {}),
});

describe("the backfilled flag on the wire", () => {
  it("CandleEvent.backfilled and TradeEvent.backfilled are true for data fetched from IB's history after an outage, false otherwise", () => {
    const candles = withBackfilledFlag(rendering<Candle, CandleEvent>(StreamCandlesResponse, (c) => ({ $case: "candle", value: candleToProto(c, "BTCUSDT") })));
    const events = [...candles.data(candle(60_000, true), 7), ...candles.data(candle(120_000, false), 8)];
    const decoded = StreamCandlesResponse.decode(candles.encode(events, new BinaryWriter()).finish()).events;
    expect(decoded.map((e) => [e.sequence, e.backfilled])).toEqual([
      ["7", true],
      ["8", false],
    ]);

    const trades = withBackfilledFlag(rendering<TradeEvent, ProtoTradeEvent>(StreamTradesResponse, (t) => ({ $case: "trade", value: tradeToProto(t, "BTCUSDT") })));
    const print = { timeMs: 1_000, price: dec("100"), size: dec("1"), exchange: "PAXOS", conditions: [], pastLimit: false, unreported: false };
    const tradeEvents = [...trades.data({ trade: print, sequence: 1, quote: undefined, backfilled: true }, 3), ...trades.data({ trade: print, sequence: 2, quote: undefined }, 4)];
    const decodedTrades = StreamTradesResponse.decode(trades.encode(tradeEvents, new BinaryWriter()).finish()).events;
    expect(decodedTrades.map((e) => e.backfilled)).toEqual([true, false]);

    // A live event carries no backfilled field on the wire (ts-proto writes it unless it is false).
    const live = candles.data(candle(180_000, false), 9);
    const bare = StreamCandlesResponse.encode({ events: [{ ...live[0]!, backfilled: undefined as unknown as boolean }] }).finish();
    expect(candles.encode(live, new BinaryWriter()).finish().length).toBe(bare.length - 2);
  });
});
