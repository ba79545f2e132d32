import { describe, expect, it } from "vitest";
import { INTERVAL_NAMES, parseInterval, type Interval, type IntervalName } from "../../domain/intervals.js";
import { IbError } from "../ibErrors.js";
import { durationFor, formatIbUtc, parseIbBarTime, planHistory, type HistoryPlan } from "./historyPlan.js";

const iv = (name: IntervalName): Interval => parseInterval(name)!;
const utc = (s: string) => Date.parse(s);
const DAY = 86_400_000;

/** Nominal seconds of an IB duration (M = 30 d, Y = 365 d), as IB's step-size table compares them. */
function nominalSeconds(d: string): number {
  const m = /^(\d+) ([SDWMY])$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  const per = { S: 1, D: 86_400, W: 604_800, M: 2_592_000, Y: 31_536_000 }[m[2] as "S" | "D" | "W" | "M" | "Y"];
  return Number(m[1]) * per;
}

/** Chunks tile [startMs, endMs) exactly, oldest first, each duration covering its chunk within the table. */
function expectTiling(plan: HistoryPlan, maxDurationSeconds: number): void {
  expect(plan.chunks.length).toBeGreaterThan(0);
  expect(plan.chunks[0]!.startMs).toBe(plan.startMs);
  expect(plan.chunks[plan.chunks.length - 1]!.endMs).toBe(plan.endMs);
  plan.chunks.forEach((c, i) => {
    if (i > 0) expect(c.startMs).toBe(plan.chunks[i - 1]!.endMs);
    expect(c.endMs).toBeGreaterThan(c.startMs);
    expect(c.endDateTime).toBe(formatIbUtc(c.endMs));
    expect(nominalSeconds(c.durationStr) * 1000).toBeGreaterThanOrEqual(c.endMs - c.startMs);
    expect(nominalSeconds(c.durationStr)).toBeLessThanOrEqual(maxDurationSeconds);
  });
}

describe("planHistory", () => {
  const now = utc("2026-11-25T14:30:00Z");

  it("maps every Barfinex interval to its IB bar size", () => {
    const expected: Record<IntervalName, string> = {
      min1: "1 min",
      min5: "5 mins",
      min15: "15 mins",
      min30: "30 mins",
      h1: "1 hour",
      h2: "2 hours",
      h4: "4 hours",
      day: "1 day",
      week: "1 week",
      month: "1 month",
    };
    for (const name of INTERVAL_NAMES) {
      const plan = planHistory({ interval: iv(name), fromMs: now - 40 * DAY, toMs: now, secType: "STK", nowMs: now });
      expect(plan.barSize).toBe(expected[name]);
    }
  });

  it("picks whatToShow by security type", () => {
    const plan = (secType: string) => planHistory({ interval: iv("h1"), fromMs: now - DAY, toMs: now, secType, nowMs: now }).whatToShow;
    expect(plan("CRYPTO")).toBe("AGGTRADES");
    expect(plan("CASH")).toBe("MIDPOINT");
    expect(plan("STK")).toBe("TRADES");
    expect(plan("FUT")).toBe("TRADES");
  });

  it("plans 7 days of h1 BTC as one request with an explicit UTC end", () => {
    const nowH = utc("2026-11-25T14:00:00Z");
    const plan = planHistory({ interval: iv("h1"), fromMs: nowH - 7 * DAY, toMs: nowH, secType: "CRYPTO", nowMs: nowH });
    expect(plan).toEqual({
      barSize: "1 hour",
      whatToShow: "AGGTRADES",
      startMs: nowH - 7 * DAY,
      endMs: nowH,
      chunks: [{ endDateTime: "20261125-14:00:00", durationStr: "1 W", startMs: nowH - 7 * DAY, endMs: nowH }],
    });
    // Mid-bar now (14:30): from widens to its bar start 14:00, so the one chunk is 7 d 30 min → "8 D".
    const mid = planHistory({ interval: iv("h1"), fromMs: now - 7 * DAY, toMs: now, secType: "CRYPTO", nowMs: now });
    expect(mid.chunks.map((c) => [c.endDateTime, c.durationStr])).toEqual([["20261125-14:30:00", "8 D"]]);
  });

  it("splits a year of min1 into day-long chunks without gaps or overlaps", () => {
    const from = utc("2025-11-25T00:00:00Z");
    const to = utc("2026-11-25T00:00:00Z");
    const plan = planHistory({ interval: iv("min1"), fromMs: from, toMs: to, secType: "STK", nowMs: now });
    expect(plan.chunks).toHaveLength(365);
    expectTiling(plan, 86_400);
    expect(plan.chunks.every((c) => c.durationStr === "86400 S")).toBe(true);
    expect(plan.chunks[0]).toEqual({ endDateTime: "20251126-00:00:00", durationStr: "86400 S", startMs: from, endMs: from + DAY });
  });

  it("keeps every interval's chunks within the step-size table and aligned to bar starts", () => {
    const maxSeconds: Record<IntervalName, number> = {
      min1: 86_400,
      min5: 604_800,
      min15: 604_800,
      min30: 2_592_000,
      h1: 2_592_000,
      h2: 2_592_000,
      h4: 2_592_000,
      day: 31_536_000,
      week: 31_536_000,
      month: 31_536_000,
    };
    const from = utc("2023-02-17T13:07:11Z");
    for (const name of INTERVAL_NAMES) {
      for (const timeZone of ["UTC", "America/New_York"]) {
        const plan = planHistory({ interval: iv(name), fromMs: from, toMs: now, secType: "STK", nowMs: now, timeZone });
        expectTiling(plan, maxSeconds[name]);
        expect(plan.startMs).toBeLessThanOrEqual(from);
        // Interior boundaries fall on bar starts, so no bar is split between two requests.
        const seconds = iv(name).seconds;
        if (seconds !== undefined && seconds < 86_400) {
          for (const c of plan.chunks.slice(0, -1)) expect(c.endMs % (seconds * 1000)).toBe(0);
        }
      }
    }
  });

  it("uses the smallest covering unit", () => {
    expect(durationFor(iv("min1"), 3_600_000)).toBe("3600 S");
    expect(durationFor(iv("min1"), 30_000)).toBe("60 S"); // never shorter than one bar
    expect(durationFor(iv("min5"), 2.5 * DAY)).toBe("3 D");
    expect(durationFor(iv("min5"), 7 * DAY)).toBe("1 W");
    expect(durationFor(iv("h4"), 28 * DAY)).toBe("4 W");
    expect(durationFor(iv("day"), 3_600_000)).toBe("1 D");
    expect(durationFor(iv("day"), 364 * DAY)).toBe("52 W");
    expect(durationFor(iv("week"), 10 * DAY)).toBe("2 W");
    expect(durationFor(iv("month"), 20 * DAY)).toBe("1 M");
    expect(durationFor(iv("month"), 330 * DAY)).toBe("12 M");
    expect(durationFor(iv("month"), 360 * DAY)).toBe("1 Y");
  });

  it("never requests the future: to is clamped to now", () => {
    const nowMid = now + 12_345; // 14:30:12.345
    const plan = planHistory({ interval: iv("min1"), fromMs: now - 3_600_000, toMs: now + 7 * DAY, secType: "CRYPTO", nowMs: nowMid });
    expect(plan.endMs).toBe(now + 12_000);
    expect(plan.chunks).toEqual([{ endDateTime: "20261125-14:30:12", durationStr: "3612 S", startMs: now - 3_600_000, endMs: now + 12_000 }]);
  });

  it("widens the window to whole bars", () => {
    const plan = planHistory({ interval: iv("h1"), fromMs: utc("2026-11-20T10:20:00Z"), toMs: utc("2026-11-20T12:10:00Z"), secType: "STK", nowMs: now });
    expect(plan.startMs).toBe(utc("2026-11-20T10:00:00Z"));
    expect(plan.endMs).toBe(utc("2026-11-20T13:00:00Z"));
    expect(plan.chunks.map((c) => [c.endDateTime, c.durationStr])).toEqual([["20261120-13:00:00", "10800 S"]]);
  });

  it("aligns daily bars to the instrument's zone", () => {
    const plan = planHistory({
      interval: iv("day"),
      fromMs: utc("2026-11-02T15:00:00Z"),
      toMs: utc("2026-11-05T15:00:00Z"),
      secType: "STK",
      nowMs: now,
      timeZone: "America/New_York",
    });
    expect(plan.startMs).toBe(utc("2026-11-02T05:00:00Z"));
    expect(plan.endMs).toBe(utc("2026-11-06T05:00:00Z"));
    expect(plan.chunks.map((c) => [c.endDateTime, c.durationStr])).toEqual([["20261106-05:00:00", "4 D"]]);
  });

  it("rejects invalid windows naming from and to", () => {
    const bad = (fromMs: number, toMs: number) => () => planHistory({ interval: iv("h1"), fromMs, toMs, secType: "STK", nowMs: now });
    expect(bad(now - DAY, now - DAY)).toThrow(/from \(2026-11-24T14:30:00.000Z\) must be before to \(2026-11-24T14:30:00.000Z\)/);
    expect(bad(now - DAY, now - 2 * DAY)).toThrow(IbError);
    expect(bad(now + DAY, now + 2 * DAY)).toThrow(/from \(2026-11-26T14:30:00.000Z\) is in the future/);
    expect(bad(Number.NaN, now)).toThrow(/from is not a valid time/);
    const caught = (() => {
      try {
        bad(now, now - 1)();
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(caught).toBeInstanceOf(IbError);
    expect((caught as IbError).kind).toBe("invalid");
    expect(() => planHistory({ interval: iv("day"), fromMs: now - DAY, toMs: now, secType: "STK", nowMs: now, timeZone: "Mars/Base" })).toThrow(IbError);
  });
});

describe("formatIbUtc", () => {
  it("writes yyyyMMdd-HH:mm:ss in UTC, dropping milliseconds", () => {
    expect(formatIbUtc(utc("2026-11-25T14:30:00Z"))).toBe("20261125-14:30:00");
    expect(formatIbUtc(utc("2024-01-02T03:04:05.999Z"))).toBe("20240102-03:04:05");
  });
});

describe("parseIbBarTime", () => {
  it("reads formatDate=2 epoch seconds", () => {
    expect(parseIbBarTime("1732545000")).toBe(1_732_545_000_000);
  });

  it("reads daily dates as midnight in the instrument's zone, else UTC", () => {
    expect(parseIbBarTime("20241125")).toBe(utc("2024-11-25T00:00:00Z"));
    expect(parseIbBarTime("20241125", "US/Eastern")).toBe(utc("2024-11-25T05:00:00Z"));
    expect(parseIbBarTime("20240715", "America/New_York")).toBe(utc("2024-07-15T04:00:00Z"));
  });

  it("reads intraday times with a zone, with the hint, or as UTC", () => {
    expect(parseIbBarTime("20241125 09:30:00 US/Eastern")).toBe(utc("2024-11-25T14:30:00Z"));
    expect(parseIbBarTime("20241125 09:30:00 UTC")).toBe(utc("2024-11-25T09:30:00Z"));
    expect(parseIbBarTime("20241125 09:30:00", "Europe/London")).toBe(utc("2024-11-25T09:30:00Z"));
    expect(parseIbBarTime("20240715 09:30:00", "Europe/Berlin")).toBe(utc("2024-07-15T07:30:00Z"));
    expect(parseIbBarTime("20241125 09:30:00")).toBe(utc("2024-11-25T09:30:00Z"));
    expect(parseIbBarTime("20261125-14:30:00")).toBe(utc("2026-11-25T14:30:00Z"));
    // The zone in the text wins over the hint.
    expect(parseIbBarTime("20241125 09:30:00 US/Eastern", "Asia/Tokyo")).toBe(utc("2024-11-25T14:30:00Z"));
  });

  it("handles DST transitions", () => {
    // US spring forward 2024-03-10 02:00 EST → 03:00 EDT.
    expect(parseIbBarTime("20240310 01:59:00 US/Eastern")).toBe(utc("2024-03-10T06:59:00Z"));
    expect(parseIbBarTime("20240310 03:00:00 US/Eastern")).toBe(utc("2024-03-10T07:00:00Z"));
    expect(parseIbBarTime("20240310", "US/Eastern")).toBe(utc("2024-03-10T05:00:00Z"));
    expect(parseIbBarTime("20240311", "US/Eastern")).toBe(utc("2024-03-11T04:00:00Z"));
    // Fall back 2024-11-03: 01:30 happens twice; the earlier (EDT) instant is chosen.
    expect(parseIbBarTime("20241103 01:30:00 US/Eastern")).toBe(utc("2024-11-03T05:30:00Z"));
    expect(parseIbBarTime("20241103 02:30:00 US/Eastern")).toBe(utc("2024-11-03T07:30:00Z"));
    // A time inside the spring-forward gap is read with the pre-gap offset.
    expect(parseIbBarTime("20240310 02:30:00 US/Eastern")).toBe(utc("2024-03-10T07:30:00Z"));
  });

  it("round-trips formatIbUtc", () => {
    for (const t of [0, utc("2024-02-29T23:59:59Z"), utc("2026-11-25T14:30:00Z")]) expect(parseIbBarTime(formatIbUtc(t))).toBe(t);
  });

  it("returns undefined for what it cannot read", () => {
    for (const s of ["", "finished-20241125 09:30:00-20241125 16:00:00", "20241325", "20241125 25:00:00", "20241125 09:30:00 Nowhere/Land", "2024-11-25", "12ab"]) {
      expect(parseIbBarTime(s)).toBeUndefined();
    }
  });
});
