import { describe, expect, it } from "vitest";
import { intervalBounds } from "../../domain/calendar.js";
import { dec } from "../../domain/decimal.js";
import { parseInterval, type Interval } from "../../domain/intervals.js";
import type { Candle } from "../../domain/marketData.js";
import { MarketStore } from "../../store/marketStore.js";
import { DEFAULT_STORE_SETTINGS } from "../../store/storeSettings.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { CandleCache, type CandleSource } from "./candleCache.js";

// The cache's ranges are cut on the calendar's bar bounds (intraday: UTC multiples), but IB's bars need not
// start there: its 2- and 4-hour bars align to the exchange day. A fake IB on a clock the test moves.
const H = 3_600_000;
const DAY = Date.UTC(2026, 11, 1); // winter: New York is UTC-5, its 4-hour bars start at 01:00, 05:00, 09:00 UTC
const instrument = { conId: 1, symbol: "X", secType: "STK", timeZoneId: "America/New_York" } as unknown as ResolvedInstrument;

/** IB with bars of `lengthMs` from `gridMs` on; each answer's close is the hour (since DAY) it was asked at. */
function fakeIb(interval: Interval, gridMs: number, lengthMs: number, now: () => number): CandleSource & { asked: [number, number][] } {
  const asked: [number, number][] = [];
  return {
    asked,
    candles: async (_instrument, q) => {
      asked.push([(q.fromMs - DAY) / H, (q.toMs - DAY) / H]);
      const from = intervalBounds(q.fromMs, interval, "America/New_York").startMs;
      const out: Candle[] = [];
      for (let s = gridMs; s < q.toMs && s <= now(); s += lengthMs) {
        if (s < from) continue;
        out.push({ startMs: s, interval: interval.name, open: dec("1"), high: dec("2"), low: dec("1"), close: dec(String((now() - DAY) / H)), volume: dec("1"), tradeCount: 1, complete: s + lengthMs <= now() } as Candle);
      }
      return out;
    },
  };
}

describe("the cache and IB's bar bounds", () => {
  it("a 4-hour bar IB starts off the UTC bounds is not kept as settled while it forms: asked again once it has ended", async () => {
    const h4 = parseInterval("h4")!;
    const store = MarketStore.open(":memory:");
    let now = DAY + 8.5 * H; // the 05:00 bar forms until 09:00
    const ib = fakeIb(h4, DAY - 23 * H, 4 * H, () => now);
    const cache = new CandleCache(ib, store.candles, DEFAULT_STORE_SETTINGS, () => now, 100);
    const first = await cache.candles(instrument, { interval: h4, fromMs: DAY, toMs: now, regularHoursOnly: false });
    expect(first.map((c) => [(c.startMs - DAY) / H, c.complete])).toEqual([[1, true], [5, false]]);
    await store.flushed();
    now = DAY + 11 * H; // it ended at 09:00, more than the settle window ago
    const later = await cache.candles(instrument, { interval: h4, fromMs: DAY, toMs: now, regularHoursOnly: false });
    expect(later.map((c) => [(c.startMs - DAY) / H, c.complete, c.close])).toEqual([
      [1, true, "8.5"],
      [5, true, "11"],
      [9, false, "11"],
    ]);
    store.close();
  });

  it("a day bar lasts its local day: on the day New York's clocks go back (25 hours) it is still forming in its last hour", async () => {
    const day = parseInterval("day")!;
    const store = MarketStore.open(":memory:");
    const start = Date.UTC(2026, 10, 1, 4); // 2026-11-01 00:00 in New York (EDT); the next midnight is 05:00 UTC (EST)
    const key = { conId: 1, interval: "day" as const, whatToShow: "TRADES", rth: false, symbol: "X", timeZone: "America/New_York" };
    const bar = { startMs: start, open: dec("1"), high: dec("2"), low: dec("1"), close: dec("1.5"), volume: dec("1"), count: 1, complete: true };
    await store.candles.write(key, [bar], { covered: { fromMs: start, toMs: start + 25 * H } }, start + 26 * H);
    const now = start + 24.5 * H; // 23:30 local
    const cache = new CandleCache(fakeIb(day, start, 24 * H, () => now), store.candles, DEFAULT_STORE_SETTINGS, () => now, 100);
    const read = await cache.candles(instrument, { interval: day, fromMs: start, toMs: now, regularHoursOnly: false });
    expect(read.map((c) => [c.startMs, c.complete])).toEqual([[start, false]]);
    store.close();
  });
});
