import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import type { Bar, BarQuery, InstrumentSpec } from "./types.js";
import { aggregateTrades, isMultiple, norm, spec, testMarket } from "./testSupport.js";

const market = testMarket(5);
const aapl = spec(market, "AAPL");
const btc = spec(market, "BTC.USD");
const es = spec(market, "ESU5");
const eur = spec(market, "EUR.USD");

const WED = Date.UTC(2025, 4, 14) / 1000; // Wed 2025-05-14 00:00 UTC
const SAT = Date.UTC(2025, 4, 17) / 1000;
const ET = (iso: string): number => Date.parse(`${iso}-04:00`) / 1000; // EDT wall clock → epoch s

function q(barSize: BarQuery["barSize"], fromSec: number, toSec: number, useRTH = false, whatToShow: BarQuery["whatToShow"] = "TRADES"): BarQuery {
  return { barSize, fromSec, toSec, useRTH, whatToShow };
}

/** Coarse bar from 1-minute bars: OHLC / volume / count exactly, wap as volume-weighted mean. */
function fromMinutes(startSec: number, minutes: readonly Bar[]): { bar: Omit<Bar, "wap">; wap: Decimal } {
  const first = minutes[0]!;
  const high = Decimal.max(...minutes.map((b) => b.high));
  const low = Decimal.min(...minutes.map((b) => b.low));
  const vol = minutes.reduce((v, b) => v.add(b.volume), new Decimal(0));
  const pv = minutes.reduce((v, b) => v.add(new Decimal(b.wap).mul(b.volume)), new Decimal(0));
  return {
    bar: { startSec, open: first.open, high: high.toString(), low: low.toString(), close: minutes[minutes.length - 1]!.close, volume: vol.toString(), count: minutes.reduce((n, b) => n + b.count, 0) },
    wap: pv.div(vol),
  };
}

function checkAgainstMinutes(s: InstrumentSpec, coarse: readonly Bar[], minutes: readonly Bar[], bucketOf: (sec: number) => number): void {
  const groups = new Map<number, Bar[]>();
  for (const m of minutes) {
    const k = bucketOf(m.startSec);
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  expect(coarse.map((b) => b.startSec)).toEqual([...groups.keys()]);
  for (const b of coarse) {
    const { bar, wap } = fromMinutes(b.startSec, groups.get(b.startSec)!);
    const { wap: w, ...rest } = norm(b);
    const { wap: _ignored, ...expected } = norm({ ...bar, wap: "0" });
    expect(rest).toEqual(expected);
    // Minute waps are rounded, so the re-weighted mean is only close.
    expect(new Decimal(w).sub(wap).abs().lte(new Decimal(s.minTick).div(100))).toBe(true);
  }
}

describe("coarse bars aggregate 1-minute bars", () => {
  it.each([300, 900, 3600, 14400])("%s-second bars of BTC over two days", (size) => {
    const from = WED;
    const to = WED + 2 * 86400;
    const minutes = market.bars(btc, q(60, from, to, false, "AGGTRADES"));
    const coarse = market.bars(btc, q(size, from, to, false, "AGGTRADES"));
    // 4-hour bars align to New York midnight (EDT: 04:00 UTC), sub-hour ones to the clock.
    const bucketOf = size <= 3600 ? (s: number) => Math.floor(s / size) * size : (s: number) => Math.floor((s - 4 * 3600) / size) * size + 4 * 3600;
    checkAgainstMinutes(btc, coarse, minutes, bucketOf);
  });

  it("daily bars of AAPL with useRTH cover 09:30–16:00 ET and equal the RTH minutes", () => {
    const from = ET("2025-05-12T00:00:00");
    const to = ET("2025-05-17T00:00:00");
    const days = market.bars(aapl, q(86400, from, to, true));
    expect(days.map((b) => b.startSec)).toEqual([0, 1, 2, 3, 4].map((d) => from + d * 86400));
    const minutes = market.bars(aapl, q(60, from, to, true));
    checkAgainstMinutes(aapl, days, minutes, (s) => from + Math.floor((s - from) / 86400) * 86400);
  });

  it("daily bars of AAPL without useRTH include extended hours", () => {
    const from = ET("2025-05-12T00:00:00");
    const rth = market.bars(aapl, q(86400, from, from + 86400, true))[0]!;
    const all = market.bars(aapl, q(86400, from, from + 86400, false))[0]!;
    expect(all.count).toBeGreaterThan(rth.count);
    const minutes = market.bars(aapl, q(60, from, from + 86400, false));
    expect(all.open).toBe(minutes[0]!.open);
    expect(minutes[0]!.startSec).toBe(ET("2025-05-12T04:00:00"));
    expect(minutes.at(-1)!.startSec).toBe(ET("2025-05-12T19:59:00"));
  });

  it("weekly and monthly bars group trade days", () => {
    const from = ET("2025-03-01T00:00:00") + 3600; // EST in early March: label is 05:00 UTC
    const weeks = market.bars(btc, q("week", Date.UTC(2025, 3, 1) / 1000, Date.UTC(2025, 4, 1) / 1000, false, "AGGTRADES"));
    for (const w of weeks) expect(new Date((w.startSec - 4 * 3600) * 1000).getUTCDay()).toBe(1); // Mondays (EDT)
    const days = market.bars(btc, q(86400, weeks[0]!.startSec, weeks[0]!.startSec + 7 * 86400, false, "AGGTRADES"));
    expect(days).toHaveLength(7);
    expect(weeks[0]!.open).toBe(days[0]!.open);
    expect(weeks[0]!.close).toBe(days[6]!.close);
    expect(weeks[0]!.count).toBe(days.reduce((n, d) => n + d.count, 0));
    const months = market.bars(aapl, q("month", from, Date.UTC(2025, 5, 1) / 1000));
    expect(months).toHaveLength(3); // Mar, Apr, May
    expect(months[0]!.startSec).toBe(Date.UTC(2025, 2, 1, 5) / 1000);
    expect(months[1]!.startSec).toBe(Date.UTC(2025, 3, 1, 4) / 1000);
  });
});

describe("sub-minute bars aggregate trades", () => {
  it.each([1, 5, 15, 30])("%s-second bars of AAPL equal their trades", (size) => {
    const from = ET("2025-05-14T10:00:00");
    const to = from + 120;
    const bars = market.bars(aapl, q(size, from, to));
    expect(bars).toHaveLength(120 / size);
    for (const b of bars) {
      const trades = market.trades(aapl, b.startSec * 1000, (b.startSec + size) * 1000);
      if (trades.length > 0) expect(norm(b)).toEqual(norm(aggregateTrades(b.startSec, trades, aapl.minTick)));
      else expect(b.volume).toBe("0");
    }
  });

  it("repeats the last price with zero volume for quiet seconds of a thin market", () => {
    const calm = testMarket(5, 0.05);
    const from = ET("2025-05-14T10:00:00");
    const bars = calm.bars(aapl, q(1, from, from + 60));
    expect(bars).toHaveLength(60);
    const quiet = bars.filter((b) => b.count === 0);
    expect(quiet.length).toBeGreaterThan(30);
    for (const b of quiet) expect([b.open, b.high, b.low, b.close, b.wap].every((x) => x === b.open)).toBe(true);
  });
});

describe("bars respect the window and the sessions", () => {
  it("returns exactly the bars starting in [fromSec, toSec), aligned", () => {
    const from = WED + 1234;
    const to = WED + 86400 - 77;
    for (const size of [60, 300, 3600]) {
      const bars = market.bars(btc, q(size, from, to, false, "AGGTRADES"));
      expect(bars[0]!.startSec).toBe(Math.ceil(from / size) * size);
      expect(bars.at(-1)!.startSec).toBe(Math.ceil(to / size) * size - size);
      for (let i = 1; i < bars.length; i++) expect(bars[i]!.startSec - bars[i - 1]!.startSec).toBe(size);
    }
    expect(market.bars(btc, q(60, to, from, false, "AGGTRADES"))).toEqual([]);
  });

  it("AAPL: no bars at night or on weekends; useRTH keeps 09:30–16:00 ET only", () => {
    expect(market.bars(aapl, q(60, SAT, SAT + 2 * 86400))).toEqual([]);
    expect(market.trades(aapl, SAT * 1000, (SAT + 2 * 86400) * 1000)).toEqual([]);
    const night = ET("2025-05-14T20:00:00");
    expect(market.bars(aapl, q(60, night, night + 8 * 3600))).toEqual([]);
    const rth = market.bars(aapl, q(60, ET("2025-05-14T00:00:00"), ET("2025-05-15T00:00:00"), true));
    expect(rth).toHaveLength(390);
    expect(rth[0]!.startSec).toBe(ET("2025-05-14T09:30:00"));
    expect(rth.at(-1)!.startSec).toBe(ET("2025-05-14T15:59:00"));
    const all = market.bars(aapl, q(3600, ET("2025-05-14T00:00:00"), ET("2025-05-15T00:00:00"), false));
    expect(all.map((b) => (b.startSec - ET("2025-05-14T00:00:00")) / 3600)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const rthHours = market.bars(aapl, q(3600, ET("2025-05-14T00:00:00"), ET("2025-05-15T00:00:00"), true));
    expect(rthHours).toHaveLength(7); // 09:00 (09:30–10:00 only) … 15:00
    expect(rthHours[0]!.count).toBeLessThan(rthHours[1]!.count);
  });

  it("crypto trades 24/7: a Saturday has 1440 minute bars, a week 7 daily bars", () => {
    expect(market.bars(btc, q(60, SAT, SAT + 86400, false, "AGGTRADES"))).toHaveLength(1440);
    expect(market.bars(btc, q(60, SAT, SAT + 86400, true, "AGGTRADES"))).toHaveLength(1440);
    expect(market.bars(btc, q(86400, WED, WED + 7 * 86400, false, "AGGTRADES"))).toHaveLength(7);
  });

  it("ES trades Sunday 18:00 – Friday 17:00 ET with a daily 17:00–18:00 break", () => {
    const sun = ET("2025-05-18T00:00:00");
    const bars = market.bars(es, q(3600, sun, sun + 2 * 86400));
    const hours = bars.map((b) => (b.startSec - sun) / 3600);
    expect(hours[0]).toBe(18);
    expect(hours).not.toContain(24 + 17);
    expect(hours).toContain(24 + 18);
    expect(market.bars(es, q(60, ET("2025-05-17T00:00:00"), sun + 18 * 3600))).toEqual([]);
  });

  it("EUR.USD trades Sunday 17:00 – Friday 17:00 ET without a break", () => {
    const sun = ET("2025-05-18T00:00:00");
    const hours = market.bars(eur, q(3600, sun, sun + 2 * 86400, false, "MIDPOINT")).map((b) => (b.startSec - sun) / 3600);
    expect(hours[0]).toBe(17);
    expect(hours).toHaveLength(48 - 17);
  });

  it("has no data before the head timestamp nor after a future's expiry", () => {
    const head = market.headTimestampSec(aapl, "TRADES", true);
    expect(new Date(head * 1000).toISOString()).toBe("1980-12-12T14:30:00.000Z");
    const before = market.bars(aapl, q(60, head - 86400, head + 120, false));
    expect(before.map((b) => b.startSec)).toEqual([head, head + 60]);
    const expired = spec(market, "ESM5"); // expired Fri 2025-06-20 09:30 ET
    const lastDay = ET("2025-06-20T00:00:00");
    const bars = market.bars(expired, q(60, lastDay, lastDay + 86400));
    expect(bars.at(-1)!.startSec).toBe(ET("2025-06-20T09:29:00"));
    expect(market.isOpen(expired, (ET("2025-06-20T09:30:00") + 1) * 1000, false)).toBe(false);
  });
});

describe("quote-derived bars", () => {
  const from = ET("2025-05-14T10:00:00");
  const trades = market.bars(aapl, q(60, from, from + 1800));
  const bid = market.bars(aapl, q(60, from, from + 1800, false, "BID"));
  const ask = market.bars(aapl, q(60, from, from + 1800, false, "ASK"));
  const mid = market.bars(aapl, q(60, from, from + 1800, false, "MIDPOINT"));
  const ba = market.bars(aapl, q(60, from, from + 1800, false, "BID_ASK"));

  it("report volume, wap and count as -1 like IB", () => {
    for (const b of [...bid, ...ask, ...mid, ...ba]) expect([b.volume, b.wap, b.count]).toEqual(["-1", "-1", -1]);
  });

  it("bracket trades: bid ≤ trade ≤ ask, midpoint in between, on half ticks", () => {
    for (let i = 0; i < trades.length; i++) {
      for (const f of ["open", "high", "low", "close"] as const) {
        const t = new Decimal(trades[i]![f]);
        expect(t.gte(bid[i]![f]) && t.lte(ask[i]![f])).toBe(true);
        expect(new Decimal(mid[i]![f]).mul(2).toString()).toBe(new Decimal(bid[i]![f]).add(ask[i]![f]).toString());
        expect(isMultiple(mid[i]![f], "0.005")).toBe(true);
      }
      expect(ba[i]!.high).toBe(ask[i]!.high);
      expect(ba[i]!.low).toBe(bid[i]!.low);
    }
  });

  it("match quote() at the minute's first instant", () => {
    for (const b of bid.slice(0, 10)) expect(market.quote(aapl, b.startSec * 1000).bid).toBe(b.open);
  });
});

