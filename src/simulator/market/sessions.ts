/**
 * Trading calendars. All four schedules are defined in America/New_York wall-clock time (CME's
 * Chicago hours are the same instants, as both zones switch DST together). A "trade day" is the
 * NY civil date a session belongs to; overnight sessions (CME, FX) belong to the day they end on.
 *
 * Holidays and early closes come from ./calendar.ts (NYSE rules; CME equity futures' holiday schedule):
 * US equities are closed on NYSE holidays and stop at 13:00 (extended hours at 17:00) on early-close days;
 * CME halts at 13:00 ET on most NYSE holidays, with that trading belonging to the next trade date, and is
 * closed on Good Friday, Christmas and New Year's Day; FX (24×5) and crypto (24×7) ignore holidays.
 */
import { cmeFullClose, nyseEarlyClose, nyseHoliday } from "./calendar.js";
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
  // Regular hours only (no pre/after market): NYSE holidays and early closes like us-equity's RTH.
  "us-rth": { weekdaysOnly: true, all: [9 * 60 + 30, 16 * 60], rth: "all" },
};

const cache = new Map<string, TradeDay | null>();

function toUtc(day: number, minute: number): number {
  // Negative / ≥ 24h minutes are normalised onto the neighbouring civil day first, so each boundary
  // uses the DST offset of the date it falls on.
  const shift = Math.floor(minute / 1440);
  return NEW_YORK.localToUtc(day + shift, minute - shift * 1440);
}

const EARLY_CLOSE_EQUITY_RTH_END = 13 * 60;
const EARLY_CLOSE_EQUITY_ALL_END = 17 * 60;
/** CME equity futures halt at 12:00 CT on a holiday, 12:15 CT on an NYSE early-close day. */
const CME_HOLIDAY_HALT = 13 * 60;
const CME_EARLY_HALT = 13 * 60 + 15;

const isWeekday = (day: number): boolean => {
  const wd = weekday(day);
  return wd >= 1 && wd <= 5;
};

/** A weekday NYSE holiday on which Globex trades a short session that belongs to the next trade date. */
function cmeHolidaySession(day: number): boolean {
  return isWeekday(day) && nyseHoliday(day) !== undefined && !cmeFullClose(day);
}

function computeTradeDay(kind: SessionKind, day: number): TradeDay | undefined {
  const s = SCHEDULES[kind];
  if (s.weekdaysOnly && !isWeekday(day)) return undefined;
  const interval = (from: number, to: number): Interval => [toUtc(day, from), toUtc(day, to)];
  if (kind === "us-equity") {
    if (nyseHoliday(day) !== undefined) return undefined;
    const early = nyseEarlyClose(day);
    const all = interval(s.all[0], early ? EARLY_CLOSE_EQUITY_ALL_END : s.all[1]);
    const [ra, rb] = s.rth as readonly [number, number];
    return { day, all: [all], rth: [interval(ra, early ? EARLY_CLOSE_EQUITY_RTH_END : rb)] };
  }
  if (kind === "us-rth") {
    if (nyseHoliday(day) !== undefined) return undefined;
    const rth = interval(s.all[0], nyseEarlyClose(day) ? EARLY_CLOSE_EQUITY_RTH_END : s.all[1]);
    return { day, all: [rth], rth: [rth] };
  }
  if (kind === "cme-globex") {
    if (nyseHoliday(day) !== undefined) return undefined;
    const early = nyseEarlyClose(day);
    // Holiday sessions just before this day (skipping the weekend) trade for this date.
    const before: Interval[] = [];
    for (let p = day - 1; p > day - 7; p--) {
      if (cmeHolidaySession(p)) before.unshift([toUtc(p, s.all[0]), toUtc(p, CME_HOLIDAY_HALT)]);
      else if (isWeekday(p)) break;
    }
    const [ra, rb] = s.rth as readonly [number, number];
    return { day, all: [...before, interval(s.all[0], early ? CME_EARLY_HALT : s.all[1])], rth: [interval(ra, early ? CME_EARLY_HALT : rb)] };
  }
  const all = interval(s.all[0], s.all[1]);
  return { day, all: [all], rth: s.rth === "all" ? [all] : [interval(s.rth[0], s.rth[1])] };
}

/** The sessions of one NY trade day, or undefined when the market is closed all day. */
export function tradeDay(kind: SessionKind, day: number): TradeDay | undefined {
  const key = `${kind}:${day}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  const result = computeTradeDay(kind, day) ?? null;
  if (cache.size > 50_000) cache.clear();
  cache.set(key, result);
  return result ?? undefined;
}

/** The trade day an instant would belong to (whether or not the market is open then). */
export function tradeDayOf(kind: SessionKind, utcMs: number): number {
  const { day, minute } = NEW_YORK.localDayMinute(utcMs);
  const start = SCHEDULES[kind].all[0];
  // Sessions that start the previous evening: after that evening start, the instant belongs to tomorrow.
  let d = start < 0 && minute >= 1440 + start ? day + 1 : day;
  // A CME holiday session trades for the next weekday that is not a holiday.
  if (kind === "cme-globex" && cmeHolidaySession(d)) {
    do d++;
    while (!isWeekday(d) || nyseHoliday(d) !== undefined);
  }
  return d;
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

