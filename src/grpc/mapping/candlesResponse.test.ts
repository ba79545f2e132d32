import { expect, it } from "vitest";
import { GetCandlesResponse } from "../../../gen/ibprovider/v1/market_data_service.js";
import type { TextCandle } from "../../domain/marketData.js";
import { EMPTY_INSTRUMENT } from "./instrument.js";
import { encodeCandlesResponse } from "./candlesResponse.js";
import { textCandleToProto } from "./marketData.js";

it("encodes GetCandlesResponse byte for byte as ts-proto does, across the slices it yields between", async () => {
  const candles: TextCandle[] = Array.from({ length: 12_345 }, (_, i) => ({
    startMs: 1_764_000_000_000 + i * 60_000,
    interval: "min1",
    open: "100.5",
    high: i % 2 === 0 ? "101" : "100.75",
    low: "99.125",
    close: String(100 + (i % 7)),
    volume: i % 5 === 0 ? "0" : "12.5",
    vwap: i % 5 === 0 ? "" : "100.25",
    tradeCount: i % 3,
    complete: i < 12_344,
  }));
  const instrument = { ...EMPTY_INSTRUMENT, name: "BTCUSDT", conId: "479624278", secType: "CRYPTO", exchange: "PAXOS" };
  const { bytes: ours, candles: count } = await encodeCandlesResponse([candles.slice(0, 7_000), candles.slice(7_000)], "BTCUSDT", instrument);
  expect(count).toBe(12_345);
  const theirs = GetCandlesResponse.encode({ candles: candles.map((c) => textCandleToProto(c, "BTCUSDT")), instrument }).finish();
  expect(Buffer.compare(ours, Buffer.from(theirs))).toBe(0);
  expect(GetCandlesResponse.decode(ours).candles).toHaveLength(12_345);
});
