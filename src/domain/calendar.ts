/**
 * Interval boundaries. min1..h4 align to epoch multiples (UTC); day/week/month align to local midnight in an IANA
 * time zone (week starts Monday, month is the calendar month), computed with Intl.DateTimeFormat so DST days are
 * 23 or 25 hours long and a midnight that does not exist (DST gap at 00:00) starts the day at the first local instant.
 */
import type { Interval, IntervalName } from "./intervals.js";

export interface IntervalBounds {
  /** Inclusive. */
  startMs: number;
  /** Exclusive: the next interval's start. */
  endMs: number;
}

interface LocalDate {
  year: number;
  month: number; // 1..12
  day: number;
}

const FIXED_MS: Partial<Record<IntervalName, number>> = {
  min1: 60_000,
  min5: 300_000,
  min15: 900_000,
  min30: 1_800_000,
  h1: 3_600_000,
  h2: 7_200_000,
  h4: 14_400_000,
};

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone: callers validate zones up front with assertTimeZone.
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a RangeError naming the zone when it is not a valid IANA zone. */
export function assertTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new RangeError(`unknown time zone "${timeZone}"`);
  }
}

interface LocalFields extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

function localFields(ms: number, timeZone: string): LocalFields {
  const out: LocalFields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of formatter(timeZone).formatToParts(ms)) {
    switch (p.type) {
      case "year":
        out.year = Number(p.value);
        break;
      case "month":
        out.month = Number(p.value);
        break;
      case "day":
        out.day = Number(p.value);
        break;
      case "hour":
        out.hour = Number(p.value);
        break;
      case "minute":
        out.minute = Number(p.value);
        break;
      case "second":
        out.second = Number(p.value);
        break;
    }
  }
  return out;
}

/** Wall-clock fields as if they were UTC, in ms (Date.UTC without its 0..99 → 1900s year mapping). */
function wallMs(f: LocalDate, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(f.year, f.month - 1, f.day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** Local date of an instant in the zone. */
export function localDate(ms: number, timeZone: string): LocalDate {
  const { year, month, day } = localFields(ms, timeZone);
  return { year, month, day };
}

function dateKey(d: LocalDate): number {
  return wallMs(d);
}

function addDays(d: LocalDate, days: number): LocalDate {
  const t = new Date(wallMs(d) + days * 86_400_000);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** UTC offset in ms at an instant (local wall time − UTC). */
function offsetAt(ms: number, timeZone: string): number {
  const f = localFields(ms, timeZone);
  return wallMs(f, f.hour, f.minute, f.second) - Math.floor(ms / 1000) * 1000;
}

/** Local wall-clock fields (date and time of day) in a zone. */
export interface LocalWallTime extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

function wallOf(ms: number, timeZone: string): number {
  const f = localFields(ms, timeZone);
  return wallMs(f, f.hour, f.minute, f.second);
}

/**
 * Local wall time in a zone → instant. Tries the offsets in force 12 h either side; the earliest match
 * wins (a repeated hour at the DST fall-back reads as the first), and a wall time inside a DST gap, which
 * does not exist, reads with the offset before the gap, as clocks would.
 */
export function zonedWallToUtc(w: LocalWallTime, timeZone: string): number {
  const wall = wallMs(w, w.hour, w.minute, w.second);
  const offsets = [-12, 12].map((h) => {
    const probe = wall + h * 3_600_000;
    return wallOf(probe, timeZone) - probe;
  });
  const candidates = offsets.map((o) => wall - o).filter((t) => wallOf(t, timeZone) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - offsets[0]!;
}

/** The first instant whose local date is `d` or later (local midnight, or the end of a DST gap covering it). */
export function startOfLocalDate(d: LocalDate, timeZone: string): number {
  const wall = wallMs(d);
  const target = dateKey(d);
  const isStart = (t: number) =>
    dateKey(localDate(t, timeZone)) >= target && dateKey(localDate(t - 1, timeZone)) < target;
  // Usual case: two offset iterations land exactly on local midnight.
  let t = wall - offsetAt(wall, timeZone);
  t = wall - offsetAt(t, timeZone);
  if (isStart(t)) return t;
  // Midnight falls in a DST gap: binary search the transition (local date is non-decreasing in time).
  let lo = wall - 15 * 3_600_000; // before: local date < d
  let hi = wall + 15 * 3_600_000; // after: local date >= d
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (dateKey(localDate(mid, timeZone)) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

function addMonths(d: LocalDate, months: number): LocalDate {
  const index = d.year * 12 + (d.month - 1) + months;
  return { year: Math.floor(index / 12), month: (index % 12) + 1, day: d.day };
}

/** Monday = 0 … Sunday = 6. */
function isoWeekdayIndex(d: LocalDate): number {
  return (new Date(wallMs(d)).getUTCDay() + 6) % 7;
}

/**
 * The end of a bar that starts at `startMs` (as IB labels bars: by their start). Intraday bars are one
 * interval long wherever they start (IB aligns 2h/4h bars to the exchange day, not to UTC multiples); day,
 * week and month bars end at their local calendar boundary (a DST day has 23 or 25 hours).
 */
export function barEndMs(startMs: number, interval: Interval, timeZone = "UTC"): number {
  return interval.seconds !== undefined && interval.seconds < 86_400 ? startMs + interval.seconds * 1000 : intervalBounds(startMs, interval, timeZone).endMs;
}

/**
 * Bounds of the interval containing `ms`. For calendar intervals the zone matters; fixed ones ignore it.
 * Guarantees startMs <= ms < endMs.
 */
export function intervalBounds(ms: number, interval: Interval | IntervalName, timeZone = "UTC"): IntervalBounds {
  const name = typeof interval === "string" ? interval : interval.name;
  const fixed = FIXED_MS[name];
  if (fixed !== undefined) {
    const startMs = Math.floor(ms / fixed) * fixed;
    return { startMs, endMs: startMs + fixed };
  }
  const today = localDate(ms, timeZone);
  let first: LocalDate;
  let next: LocalDate;
  if (name === "day") {
    first = today;
    next = addDays(today, 1);
  } else if (name === "week") {
    first = addDays(today, -isoWeekdayIndex(today));
    next = addDays(first, 7);
  } else {
    first = { year: today.year, month: today.month, day: 1 };
    next = addMonths(first, 1);
  }
  return { startMs: startOfLocalDate(first, timeZone), endMs: startOfLocalDate(next, timeZone) };
}
