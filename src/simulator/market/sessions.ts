/**
 * Trading calendars. All four schedules are defined in America/New_York wall-clock time (CME's
 * Chicago hours are the same instants, as both zones switch DST together). A "trade day" is the
 * NY civil date a session belongs to; overnight sessions (CME, FX) belong to the day they end on.
 *
 * Holidays are deliberately ignored (weekends only): the calendar stays a tiny pure function and the
 * protocol server never has to special-case a missing day. Documented in README.md.
 */
import type { SessionKind } from "./types.js";
import { weekday, zone } from "./tz.js";

/** Half-open [startMs, endMs). */
export type Interval = readonly [number, number];

export interface TradeDay {
  /** NY civil day number. */
  day: number;
  /** Every session interval of the day (extended hours included). */
  all: readonly Interval[];
  /** Regular trading hours (for crypto / FX identical to `all`). */
  rth: readonly Interval[];
}

export const NEW_YORK = zone("America/New_York");

/** Local-time schedule of a trade day, in minutes of the NY day. */
interface Schedule {
  weekdaysOnly: boolean;
  /** Minutes of day; a negative start means "previous evening": −360 = 18:00 the day before. */
  all: readonly [number, number];
  rth: readonly [number, number] | "all";
}

const SCHEDULES: Record<SessionKind, Schedule> = {
  "us-equity": { weekdaysOnly: true, all: [4 * 60, 20 * 60], rth: [9 * 60 + 30, 16 * 60] },
  "crypto-24x7": { weekdaysOnly: false, all: [0, 24 * 60], rth: "all" },
  // Sun 18:00 – Fri 17:00 with a daily 17:00–18:00 break = sessions 18:00 (day before) – 17:00.
  "cme-globex": { weekdaysOnly: true, all: [-6 * 60, 17 * 60], rth: [9 * 60 + 30, 16 * 60] },
  // Sun 17:00 – Fri 17:00, continuous.
  "fx-24x5": { weekdaysOnly: true, all: [-7 * 60, 17 * 60], rth: "all" },
};

const cache = new Map<string, TradeDay | null>();

function toUtc(day: number, minute: number): number {
  // Negative / ≥ 24h minutes are normalised onto the neighbouring civil day first, so each boundary
  // uses the DST offset of the date it falls on.
  const shift = Math.floor(minute / 1440);
  return NEW_YORK.localToUtc(day + shift, minute - shift * 1440);
}

/** The sessions of one NY trade day, or undefined when the market is closed all day. */
export function tradeDay(kind: SessionKind, day: number): TradeDay | undefined {
  const key = `${kind}:${day}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  const s = SCHEDULES[kind];
  const wd = weekday(day);
  let result: TradeDay | null = null;
  if (!s.weekdaysOnly || (wd >= 1 && wd <= 5)) {
    const all: Interval = [toUtc(day, s.all[0]), toUtc(day, s.all[1])];
    const rth: Interval = s.rth === "all" ? all : [toUtc(day, s.rth[0]), toUtc(day, s.rth[1])];
    result = { day, all: [all], rth: [rth] };
  }
  if (cache.size > 50_000) cache.clear();
  cache.set(key, result);
  return result ?? undefined;
}

/** The trade day an instant would belong to (whether or not the market is open then). */
export function tradeDayOf(kind: SessionKind, utcMs: number): number {
  const { day, minute } = NEW_YORK.localDayMinute(utcMs);
  const start = SCHEDULES[kind].all[0];
  // Sessions that start the previous evening: after that evening start, the instant belongs to tomorrow.
  return start < 0 && minute >= 1440 + start ? day + 1 : day;
}

export function isSessionOpen(kind: SessionKind, utcMs: number, rthOnly: boolean): boolean {
  const td = tradeDay(kind, tradeDayOf(kind, utcMs));
  if (!td) return false;
  for (const [a, b] of rthOnly ? td.rth : td.all) if (utcMs >= a && utcMs < b) return true;
  return false;
}

/** True when the instant lies in regular hours of its trade day (the caller knows it is open). */
export function isRth(kind: SessionKind, utcMs: number): boolean {
  return isSessionOpen(kind, utcMs, true);
}

/** Trade days whose sessions may intersect [fromMs, toMs), in order. */
export function tradeDaysBetween(kind: SessionKind, fromMs: number, toMs: number): TradeDay[] {
  const out: TradeDay[] = [];
  if (toMs <= fromMs) return out;
  const first = tradeDayOf(kind, fromMs) - 1;
  const last = tradeDayOf(kind, toMs) + 1;
  for (let d = first; d <= last; d++) {
    const td = tradeDay(kind, d);
    if (td) out.push(td);
  }
  return out;
}

/** Crypto trades every day; others only on weekdays — used by durationStartSec. */
export function tradesOnWeekends(kind: SessionKind): boolean {
  return !SCHEDULES[kind].weekdaysOnly;
}

