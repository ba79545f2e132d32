import { describe, expect, it } from "vitest";
import { aggregateBars, CandleAggregator, vwapOf } from "./candleAggregator.js";
import { type Decimal, dec, toWire, ZERO } from "./decimal.js";
import type { Bar, Candle, TradePrint } from "./marketData.js";

const T0 = Date.parse("2024-01-02T10:00:00Z");
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

const trade = (timeMs: number, price: string, size: string): TradePrint => ({
  timeMs,
  price: dec(price),
  size: dec(size),
  exchange: "NYSE",
  conditions: [],
  pastLimit: false,
  unreported: false,
});

const bar = (startMs: number, o: string, h: string, l: string, c: string, v: string, vwap?: string, count?: number): Bar => {
  const b: Bar = { startMs, open: dec(o), high: dec(h), low: dec(l), close: dec(c), volume: dec(v) };
  if (vwap !== undefined) b.vwap = dec(vwap);
  if (count !== undefined) b.count = count;
  return b;
};

/** Candle as plain strings, so equality does not depend on Decimal internals. */
const wire = (c: Candle) => ({
  start: new Date(c.startMs).toISOString(),
  interval: c.interval,
  ohlc: [c.open, c.high, c.low, c.close].map(toWire).join(" "),
  volume: toWire(c.volume),
  vwap: toWire(c.vwap),
  trades: c.tradeCount,
  complete: c.complete,
  afterGap: c.afterGap ?? false,
});

describe("CandleAggregator: live trades", () => {
  it("emits each change of the forming candle and one complete candle when the next interval starts", () => {
    const agg = new CandleAggregator("min1");
    const a = agg.addTrade(trade(T0 + 1 * SEC, "10", "2"));
    const b = agg.addTrade(trade(T0 + 20 * SEC, "12", "1"));
    const c = agg.addTrade(trade(T0 + 40 * SEC, "9", "1"));
    expect([...a, ...b, ...c].map((x) => [x.complete, toWire(x.close)])).toEqual([
      [false, "10"],
      [false, "12"],
      [false, "9"],
    ]);
    const next = agg.addTrade(trade(T0 + MIN + 1, "11", "1"));
    expect(next.map(wire)).toEqual([
      {
        start: "2024-01-02T10:00:00.000Z",
        interval: "min1",
        ohlc: "10 12 9 9",
        volume: "4",
        vwap: "10.25",
        trades: 3,
        complete: true,
        afterGap: false,
      },
      {
        start: "2024-01-02T10:01:00.000Z",
        interval: "min1",
        ohlc: "11 11 11 11",
        volume: "1",
        vwap: "11",
        trades: 1,
        complete: false,
        afterGap: false,
      },
    ]);
  });

  it("accepts aliases and rejects unknown intervals and zones", () => {
    expect(new CandleAggregator("1h").interval.name).toBe("h1");
    expect(() => new CandleAggregator("h3")).toThrow(/unknown interval "h3".*min1/);
    expect(() => new CandleAggregator("day", { timeZone: "Nowhere/City" })).toThrow(/Nowhere\/City/);
  });

  it("closes the forming candle on advance() once its end has passed, exactly once", () => {
    const agg = new CandleAggregator("min5");
    agg.addTrade(trade(T0 + MIN, "10", "1"));
    expect(agg.advance(T0 + 5 * MIN - 1)).toEqual([]);
    const closed = agg.advance(T0 + 5 * MIN);
    expect(closed.map((c) => [c.complete, new Date(c.startMs).toISOString()])).toEqual([[true, "2024-01-02T10:00:00.000Z"]]);
    expect(agg.advance(T0 + 10 * MIN)).toEqual([]);
    expect(agg.current()).toBeUndefined();
  });

  it("waits closeDelayMs before closing on advance()", () => {
    const agg = new CandleAggregator("min1", { closeDelayMs: 2 * SEC });
    agg.addTrade(trade(T0, "10", "1"));
    expect(agg.advance(T0 + MIN + SEC)).toEqual([]);
    // A trade stamped inside the interval but arriving after its end still counts.
    expect(agg.addTrade(trade(T0 + 59 * SEC, "11", "1"))[0]?.volume.toString()).toBe("2");
    expect(agg.advance(T0 + MIN + 2 * SEC).map((c) => c.complete)).toEqual([true]);
  });

  it("produces nothing for intervals without data", () => {
    const agg = new CandleAggregator("min1");
    agg.addTrade(trade(T0, "10", "1"));
    const out = agg.addTrade(trade(T0 + 10 * MIN, "10", "1"));
    expect(out.map((c) => [new Date(c.startMs).toISOString(), c.complete])).toEqual([
      ["2024-01-02T10:00:00.000Z", true],
      ["2024-01-02T10:10:00.000Z", false],
    ]);
  });

  it("ignores and counts late data instead of reopening a closed candle", () => {
    const agg = new CandleAggregator("min1");
    agg.addTrade(trade(T0, "10", "1"));
    agg.advance(T0 + MIN);
    expect(agg.addTrade(trade(T0 + 30 * SEC, "99", "1"))).toEqual([]);
    expect(agg.lateCount).toBe(1);
    agg.addTrade(trade(T0 + 5 * MIN, "10", "1"));
    // Older than the forming candle, even for an interval that never had a candle.
    expect(agg.addTrade(trade(T0 + 3 * MIN, "99", "1"))).toEqual([]);
    expect(agg.addBar(bar(T0 + 2 * MIN, "1", "1", "1", "1", "1"))).toEqual([]);
    expect(agg.lateCount).toBe(3);
    expect(toWire(agg.current()?.high)).toBe("10");
  });

  it("orders open and close by timestamp when trades arrive out of order within the interval", () => {
    const agg = new CandleAggregator("min1");
    agg.addTrade(trade(T0 + 30 * SEC, "10", "1"));
    agg.addTrade(trade(T0 + 10 * SEC, "9", "1"));
    agg.addTrade(trade(T0 + 20 * SEC, "11", "1"));
    const c = agg.current()!;
    expect([c.open, c.high, c.low, c.close].map(toWire)).toEqual(["9", "11", "9", "10"]);
  });

  it("rejects non-finite times, prices and negative sizes, counting them", () => {
    const agg = new CandleAggregator("min1");
    expect(agg.addTrade(trade(Number.NaN, "10", "1"))).toEqual([]);
    expect(agg.addTrade(trade(T0, "10", "-1"))).toEqual([]);
    expect(agg.addTrade({ ...trade(T0, "10", "1"), price: dec(Number.POSITIVE_INFINITY) })).toEqual([]);
    expect(agg.rejectedCount).toBe(3);
    expect(agg.current()).toBeUndefined();
  });
});

describe("CandleAggregator: VWAP", () => {
  it("is exact before the single rounding to 8 decimals", () => {
    const agg = new CandleAggregator("min1");
    agg.addTrade(trade(T0, "0.1", "1"));
    agg.addTrade(trade(T0 + 1, "0.2", "1"));
    expect(toWire(agg.current()?.vwap)).toBe("0.15");
    agg.addTrade(trade(T0 + 2, "0.2", "1"));
    expect(toWire(agg.current()?.vwap)).toBe("0.16666667");
  });

  it("rounds half to even deterministically, for negative prices too", () => {
    expect(toWire(vwapOf(dec("0.000000025"), dec(1)))).toBe("0.00000002");
    expect(toWire(vwapOf(dec("0.000000035"), dec(1)))).toBe("0.00000004");
    expect(toWire(vwapOf(dec("0.0000000251"), dec(1)))).toBe("0.00000003");
    expect(toWire(vwapOf(dec("-0.000000025"), dec(1)))).toBe("-0.00000002");
    expect(toWire(vwapOf(dec("-5"), dec(3)))).toBe("-1.66666667");
    expect(toWire(vwapOf(dec("2"), dec(3)))).toBe("0.66666667");
    expect(vwapOf(ZERO, ZERO)).toBeUndefined();
  });

  it("is absent while volume is zero", () => {
    const agg = new CandleAggregator("min1");
    agg.addTrade(trade(T0, "10", "0"));
    expect(agg.current()?.vwap).toBeUndefined();
    agg.addTrade(trade(T0 + 1, "12", "2"));
    expect(toWire(agg.current()?.vwap)).toBe("12");
  });
});

describe("CandleAggregator: 5-second real-time bars", () => {
  it("merges open/high/low/close/volume/vwap/count into the forming candle", () => {
    const agg = new CandleAggregator("min1");
    agg.addBar(bar(T0, "10", "11", "9.5", "10.5", "100", "10.2", 7));
    agg.addBar(bar(T0 + 5 * SEC, "10.5", "12", "10", "11", "300", "11.1", 9));
    agg.addBar(bar(T0 + 10 * SEC, "11", "11", "11", "11", "0", undefined, 0));
    const [closed] = agg.addBar(bar(T0 + MIN, "11", "11", "11", "11", "10", "11", 1));
    expect(wire(closed!)).toMatchObject({ ohlc: "10 12 9.5 11", volume: "400", vwap: "10.875", trades: 16, complete: true });
  });

  it("drops the vwap when a bar with volume has none, rather than guessing", () => {
    const agg = new CandleAggregator("min1");
    agg.addBar(bar(T0, "10", "10", "10", "10", "5", "10", 1));
    agg.addBar(bar(T0 + 5 * SEC, "10", "10", "10", "10", "5"));
    expect(agg.current()?.vwap).toBeUndefined();
    expect(agg.current()?.tradeCount).toBe(1);
  });
});

describe("CandleAggregator: feed gaps", () => {
  it("flags the forming candle, keeps aggregating, and keeps the flag on its complete version", () => {
    const agg = new CandleAggregator("min1");
    agg.addTrade(trade(T0, "10", "1"));
    const flagged = agg.markGap();
    expect(flagged.map((c) => [c.afterGap, c.complete])).toEqual([[true, false]]);
    expect(agg.markGap()).toEqual([]); // already flagged: no duplicate update
    expect(agg.addTrade(trade(T0 + SEC, "11", "1"))[0]?.afterGap).toBe(true);
    const [closed, next] = agg.addTrade(trade(T0 + MIN, "12", "1"));
    expect(closed?.afterGap).toBe(true);
    expect(closed?.volume.toString()).toBe("2");
    expect(next?.afterGap).toBeUndefined();
  });

  it("flags the next candle when the gap happened with no candle forming", () => {
    const agg = new CandleAggregator("min1");
    agg.markGap();
    expect(agg.addTrade(trade(T0, "10", "1"))[0]?.afterGap).toBe(true);
  });

  it("with a time, flags only the candle of the interval the gap happened in", () => {
    const agg = new CandleAggregator("min1");
    agg.addTrade(trade(T0, "10", "1"));
    // The gap is noticed after the forming candle ended: that candle is closed unflagged first.
    const out = agg.markGap(T0 + 2 * MIN + 5 * SEC);
    expect(out.map((c) => [c.complete, c.afterGap ?? false])).toEqual([[true, false]]);
    expect(agg.addTrade(trade(T0 + 2 * MIN + 10 * SEC, "10", "1"))[0]?.afterGap).toBe(true);

    const later = new CandleAggregator("min1");
    later.markGap(T0);
    expect(later.addTrade(trade(T0 + 3 * MIN, "10", "1"))[0]?.afterGap).toBeUndefined();
  });
});

describe("CandleAggregator: calendar intervals", () => {
  it("splits New York days at local midnight across the spring-forward day", () => {
    const agg = new CandleAggregator("day", { timeZone: "America/New_York" });
    const at = (iso: string) => Date.parse(iso);
    agg.addTrade(trade(at("2024-03-10T04:30:00Z"), "1", "1")); // Sat 23:30 EST
    const [sat, sun] = agg.addTrade(trade(at("2024-03-10T05:30:00Z"), "2", "1")); // Sun 00:30 EST
    expect(new Date(sat!.startMs).toISOString()).toBe("2024-03-09T05:00:00.000Z");
    expect(new Date(sun!.startMs).toISOString()).toBe("2024-03-10T05:00:00.000Z");
    // Sun 23:59 EDT is still Sunday: the day is 23 hours long.
    expect(agg.addTrade(trade(at("2024-03-11T03:59:00Z"), "3", "1")).map((c) => c.complete)).toEqual([false]);
    expect(agg.advance(at("2024-03-11T03:59:59.999Z"))).toEqual([]);
    expect(agg.advance(at("2024-03-11T04:00:00Z")).map((c) => [toWire(c.close), c.volume.toString()])).toEqual([["3", "2"]]);
  });
});

describe("aggregateBars", () => {
  it("aggregates 1-minute bars into h1 candles, in time order whatever the input order", () => {
    const bars = [
      bar(T0 + HOUR, "13", "13", "13", "13", "1", "13", 1),
      bar(T0, "10", "11", "10", "11", "2", "10.5", 2),
      bar(T0 + 59 * MIN, "11", "12", "9", "12", "2", "11", 2),
    ];
    expect(aggregateBars(bars, "h1").map(wire)).toEqual([
      { start: "2024-01-02T10:00:00.000Z", interval: "h1", ohlc: "10 12 9 12", volume: "4", vwap: "10.75", trades: 4, complete: true, afterGap: false },
      { start: "2024-01-02T11:00:00.000Z", interval: "h1", ohlc: "13 13 13 13", volume: "1", vwap: "13", trades: 1, complete: true, afterGap: false },
    ]);
  });

  it("marks the last candle incomplete when its interval has not ended at nowMs", () => {
    const bars = [bar(T0, "10", "10", "10", "10", "1"), bar(T0 + HOUR, "10", "10", "10", "10", "1")];
    expect(aggregateBars(bars, "h1", "UTC", { nowMs: T0 + HOUR + MIN }).map((c) => c.complete)).toEqual([true, false]);
    expect(aggregateBars(bars, "h1", "UTC", { nowMs: T0 + 2 * HOUR }).map((c) => c.complete)).toEqual([true, true]);
    expect(aggregateBars([], "h1")).toEqual([]);
  });
});

describe("live aggregation and history aggregation agree", () => {
  /** LCG: deterministic pseudo-random trades. */
  function randomTrades(seed: number, startMs: number, spanMs: number, n: number): TradePrint[] {
    let s = seed >>> 0;
    const rand = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const out: TradePrint[] = [];
    for (let i = 0; i < n; i++) {
      const timeMs = startMs + Math.floor(rand() * spanMs);
      const price = toWire(dec(100).plus(dec(Math.floor(rand() * 2000)).div(100)));
      const size = toWire(dec(Math.floor(rand() * 500) + 1).div(rand() < 0.3 ? 10 : 1));
      out.push(trade(timeMs, price, size));
    }
    // Stable sort keeps ties in generation order, as a feed would deliver them.
    return out.sort((a, b) => a.timeMs - b.timeMs);
  }

  /** 1-minute bars as IB would build them from the same prints (vwap at full precision). */
  function minuteBars(trades: readonly TradePrint[]): Bar[] {
    const byMinute = new Map<number, TradePrint[]>();
    for (const t of trades) {
      const k = Math.floor(t.timeMs / MIN) * MIN;
      byMinute.set(k, [...(byMinute.get(k) ?? []), t]);
    }
    return [...byMinute.entries()].map(([startMs, ts]) => {
      const volume = ts.reduce<Decimal>((a, t) => a.plus(t.size), ZERO);
      const turnover = ts.reduce<Decimal>((a, t) => a.plus(t.price.times(t.size)), ZERO);
      const prices = ts.map((t) => t.price);
      return {
        startMs,
        open: prices[0]!,
        high: prices.reduce((a, p) => (p.gt(a) ? p : a)),
        low: prices.reduce((a, p) => (p.lt(a) ? p : a)),
        close: prices[prices.length - 1]!,
        volume,
        vwap: turnover.div(volume),
        count: ts.length,
      };
    });
  }

  function live(trades: readonly TradePrint[], interval: string, timeZone: string): Candle[] {
    const agg = new CandleAggregator(interval, { timeZone });
    const complete: Candle[] = [];
    for (const t of trades) {
      for (const c of agg.advance(t.timeMs)) complete.push(c);
      for (const c of agg.addTrade(t)) if (c.complete) complete.push(c);
    }
    complete.push(...agg.finish());
    return complete;
  }

  it.each([
    ["h1", "UTC", Date.parse("2024-01-02T09:00:00Z"), 5 * HOUR],
    ["h4", "America/New_York", Date.parse("2024-01-02T09:00:00Z"), 20 * HOUR],
    ["day", "America/New_York", Date.parse("2024-03-08T12:00:00Z"), 4 * 24 * HOUR],
    ["week", "America/New_York", Date.parse("2024-03-01T12:00:00Z"), 20 * 24 * HOUR],
  ])("for %s candles in %s", (interval, zone, start, span) => {
    for (const seed of [1, 2, 3]) {
      const trades = randomTrades(seed, start, span, 1500);
      const fromLive = live(trades, interval, zone).map(wire);
      const fromBars = aggregateBars(minuteBars(trades), interval, zone).map(wire);
      expect(fromBars.length).toBeGreaterThan(1);
      expect(fromBars).toEqual(fromLive);
      expect(fromLive.every((c) => c.complete)).toBe(true);
    }
  });
});
