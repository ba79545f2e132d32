/**
 * IB's historical-data request vocabulary: bar sizes ("5 mins"), durations ("2 D"), the request window
 * and IB's duration caps. Pure functions, no market state; the protocol server validates requests with them.
 */
import { NEW_YORK, tradeDay, tradesOnWeekends } from "./sessions.js";
import type { SessionKind } from "./types.js";
import { dayToYmd, weekday, ymdToDay, zone } from "./tz.js";

const DAY_SEC = 86400;

export type ParsedBarSize = { seconds: number } | "week" | "month";

const BAR_SIZES: Record<string, ParsedBarSize> = {
  "1 secs": { seconds: 1 },
  "5 secs": { seconds: 5 },
  "10 secs": { seconds: 10 },
  "15 secs": { seconds: 15 },
  "30 secs": { seconds: 30 },
  "1 min": { seconds: 60 },
  "2 mins": { seconds: 120 },
  "3 mins": { seconds: 180 },
  "5 mins": { seconds: 300 },
  "10 mins": { seconds: 600 },
  "15 mins": { seconds: 900 },
  "20 mins": { seconds: 1200 },
  "30 mins": { seconds: 1800 },
  "1 hour": { seconds: 3600 },
  "2 hours": { seconds: 7200 },
  "3 hours": { seconds: 10800 },
  "4 hours": { seconds: 14400 },
  "8 hours": { seconds: 28800 },
  "1 day": { seconds: 86400 },
  "1 week": "week",
  "1 month": "month",
};

/** IB bar size string → seconds or calendar unit; undefined when IB would reject it (error 321). */
export function parseBarSize(s: string): ParsedBarSize | undefined {
  return BAR_SIZES[s.trim().replace(/\s+/g, " ")];
}

/** The BarQuery.barSize form of a parsed bar size. */
export function barSizeForQuery(b: ParsedBarSize): number | "week" | "month" {
  return typeof b === "string" ? b : b.seconds;
}

/**
 * First bar start to ask the market for, given the request window's start: for day, week and month bars
 * the start of the period (in the contract's time zone) that contains the window start. The market returns
 * bars whose start lies in the window; intraday bars of the window's first day start inside it, a daily
 * bar of that day starts at its midnight, before it. Aligning keeps the first trade day in every bar size
 * (IB: "1 W" of daily bars ending Thursday 02:49 is the five trade days from the Thursday before).
 */
export function barWindowStartSec(startSec: number, barSize: number | "week" | "month", timeZoneId: string): number {
  if (typeof barSize === "number" && barSize < DAY_SEC) return startSec;
  const tz = zone(timeZoneId || "UTC");
  let day = tz.localDay(startSec * 1000);
  if (barSize === "week") day -= (weekday(day) + 6) % 7;
  if (barSize === "month") {
    const { y, m } = dayToYmd(day);
    day = ymdToDay(y, m, 1);
  }
  return Math.floor(tz.localToUtc(day, 0) / 1000);
}

export type DurationUnit = "S" | "D" | "W" | "M" | "Y";

export interface Duration {
  unit: DurationUnit;
  count: number;
}

/** "300 S" / "1 D" / "2 W" / "1 M" / "1 Y" → {unit, count}; undefined when malformed or count < 1. */
export function parseDuration(s: string): Duration | undefined {
  const m = /^\s*(\d+)\s+([SDWMY])\s*$/.exec(s);
  if (!m) return undefined;
  const count = Number(m[1]);
  if (!Number.isSafeInteger(count) || count < 1) return undefined;
  return { unit: m[2] as DurationUnit, count };
}


/** Nominal length in seconds (D = 1 day, W = 7, M = 30, Y = 365) — for the 1-second-bar cap only. */
export function nominalDurationSec(d: Duration): number {
  const per: Record<DurationUnit, number> = { S: 1, D: DAY_SEC, W: 7 * DAY_SEC, M: 30 * DAY_SEC, Y: 365 * DAY_SEC };
  return d.count * per[d.unit];
}

/**
 * Start of the request window ending at endSec.
 * S: exact seconds. D: calendar days, except that for sessions closed on weekends Saturdays and
 * Sundays and exchange holidays are not counted (IB counts trading days). W: 7·n calendar
 * days. M / Y: calendar months / years back (UTC calendar, day clamped to the month's length).
 */
export function durationStartSec(endSec: number, d: Duration, session: SessionKind): number {
  switch (d.unit) {
    case "S":
      return endSec - d.count;
    case "W":
      return endSec - d.count * 7 * DAY_SEC;
    case "D": {
      if (tradesOnWeekends(session)) return endSec - d.count * DAY_SEC;
      let t = endSec;
      let left = d.count;
      // Walk back one NY calendar day at a time; days without a session (weekends, holidays) do not count.
      while (left > 0) {
        t -= DAY_SEC;
        if (tradeDay(session, NEW_YORK.localDay(t * 1000)) !== undefined) left--;
      }
      return t;
    }
    case "M":
    case "Y": {
      const months = d.unit === "M" ? d.count : 12 * d.count;
      const e = new Date(endSec * 1000);
      const y = e.getUTCFullYear();
      const m = e.getUTCMonth() - months;
      const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      const start = Date.UTC(y, m, Math.min(e.getUTCDate(), lastDay), e.getUTCHours(), e.getUTCMinutes(), e.getUTCSeconds());
      return Math.floor(start / 1000);
    }
  }
}

/**
 * IB's per-request duration caps (ib-rules.md, "max duration per request"): 1-second bars at most
 * 2000 S; every other bar size at most 86400 S / 365 D / 52 W / 12 M / 68 Y. Beyond that IB is lenient:
 * the step-size table of its docs (tws-protocol.md §3: "1 D: 1 min–1 day", …) says which durations suit
 * a bar size, but longer ones are served (slowly), not rejected, so it is not a rejection rule here.
 */
const MAX_COUNT: Readonly<Record<DurationUnit, number>> = { S: 86400, D: 365, W: 52, M: 12, Y: 68 };
const ONE_SEC_BAR_MAX_SEC = 2000;

export function isValidDurationForBarSize(duration: Duration, barSize: ParsedBarSize): boolean {
  if (typeof barSize !== "string" && barSize.seconds === 1) return nominalDurationSec(duration) <= ONE_SEC_BAR_MAX_SEC;
  return duration.count <= MAX_COUNT[duration.unit];
}
