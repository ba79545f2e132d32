import { describe, expect, it } from "vitest";
import { candleCsv, candleCsvFileName, candleCsvRowOf, csvTime } from "./candleCsv.js";
import { dec } from "./decimal.js";
import { textCandleOf } from "./marketData.js";

describe("candle CSV", () => {
  it("writes decimals as their wire text: no exponent, no trailing zeros, an unknown vwap empty", () => {
    const at = Date.UTC(2026, 11, 1, 14, 30);
    const csv = candleCsv([
      candleCsvRowOf(textCandleOf({ startMs: at, interval: "min1", open: dec("0.00000010"), high: dec("1e-7"), low: dec("100.50"), close: dec("100"), volume: dec("12345678901234567890.5"), vwap: dec("100.25"), tradeCount: 7, complete: true })),
      candleCsvRowOf(textCandleOf({ startMs: at + 60_000, interval: "min1", open: dec("1"), high: dec("1"), low: dec("1"), close: dec("1"), volume: dec("0"), tradeCount: 0, complete: false })),
    ]);
    expect(csv).toBe(
      "time,time_ms,open,high,low,close,volume,vwap,trades,complete\n" +
        `2026-12-01T14:30:00Z,${at},0.0000001,0.0000001,100.5,100,12345678901234567890.5,100.25,7,true\n` +
        `2026-12-01T14:31:00Z,${at + 60_000},1,1,1,1,0,,0,false\n`,
    );
  });

  it("writes a stored candle's text as it is", () => {
    const row = candleCsvRowOf({ startMs: 0, interval: "h1", open: "1.50", high: "2", low: "1", close: "1.75", volume: "10", vwap: "", tradeCount: 3, complete: false });
    expect(candleCsv([row])).toBe("time,time_ms,open,high,low,close,volume,vwap,trades,complete\n1970-01-01T00:00:00Z,0,1.50,2,1,1.75,10,,3,false\n");
  });

  it("writes times as the JSON API does: whole seconds without a fraction, milliseconds when there are any", () => {
    expect(csvTime(0)).toBe("1970-01-01T00:00:00Z");
    expect(csvTime(1_500)).toBe("1970-01-01T00:00:01.500Z");
  });

  it("names the file by symbol, interval and the first and last candle, safe on every file system", () => {
    expect(candleCsvFileName("AAPL", "min1", Date.UTC(2026, 11, 1, 14, 30), Date.UTC(2026, 11, 3, 20, 59, 15))).toBe("AAPL-min1-20261201T1430Z-20261203T205915Z.csv");
    expect(candleCsvFileName("BRK B", "day", undefined, undefined)).toBe("BRK_B-day-empty.csv");
    expect(candleCsvFileName("../etc/passwd", "h1", undefined, undefined)).toBe(".._etc_passwd-h1-empty.csv");
  });
});
