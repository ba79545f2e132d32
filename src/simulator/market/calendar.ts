/**
 * Exchange holidays and early closes, by rule (so every year of the simulated history is covered).
 *
 * Why rules and not a library: the one npm package for this (`nyse-holidays`) lists NYSE full-day
 * holidays only: no early closes, no CME schedule, and a date library as a dependency. The rules below are
 * those of exchange_calendars' XNYS calendar (the reference calendar of the Python quant tools) and of
 * NYSE's published holiday and early-close lists; they are tested against NYSE's 2025–2027 list
 * (calendar.test.ts). Special closures that no rule gives are listed in `NYSE_SPECIAL_CLOSURES`.
 *
 * NYSE full-day holidays: New Year's Day (Sunday → Monday; Saturday → not observed), Martin Luther King Jr.
 * Day (3rd Monday of January, since 1998), Washington's Birthday (3rd Monday of February), Good Friday,
 * Memorial Day (last Monday of May), Juneteenth (June 19, since 2022), Independence Day (July 4), Labor Day
 * (1st Monday of September), Thanksgiving (4th Thursday of November), Christmas (December 25); fixed-date
 * holidays on a Saturday are observed the Friday before, on a Sunday the Monday after.
 * NYSE early closes (13:00 ET): July 3 when it is a Monday–Thursday, the day after Thanksgiving, December 24
 * when it is a Monday–Thursday.
 *
 * CME Globex equity futures (ES): closed on Good Friday, Christmas and New Year's Day; on the other NYSE
 * holidays the Globex session halts at 12:00 CT (13:00 ET) and its trading belongs to the next trade date
 * (CME's holiday calendar); on NYSE early-close days it halts at 12:15 CT (13:15 ET).
 */
import { dayToYmd, weekday, ymdToDay } from "./tz.js";

/** Days NYSE was closed for events no rule predicts (exchange_calendars XNYS adhoc holidays since 2001). */
const NYSE_SPECIAL_CLOSURES: readonly string[] = [
  "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14", // September 11
  "2004-06-11", // President Reagan's funeral
  "2007-01-02", // President Ford's funeral
  "2012-10-29", "2012-10-30", // Hurricane Sandy
  "2018-12-05", // President G. H. W. Bush's funeral
  "2025-01-09", // National Day of Mourning for President Carter
];

export type HolidayKind = "new-year" | "mlk" | "presidents" | "good-friday" | "memorial" | "juneteenth" | "independence" | "labor" | "thanksgiving" | "christmas" | "special";

const special = new Set(
  NYSE_SPECIAL_CLOSURES.map((s) => {
    const [y, m, d] = s.split("-").map(Number) as [number, number, number];
    return ymdToDay(y, m, d);
  }),
);

/** Day number of the n-th (1-based) `wd` (0 = Sunday) of a month; n = -1 for the last one. */
function nthWeekday(y: number, m: number, wd: number, n: number): number {
  if (n > 0) {
    const first = ymdToDay(y, m, 1);
    return first + ((wd - weekday(first) + 7) % 7) + (n - 1) * 7;
  }
  const last = ymdToDay(y, m + 1, 1) - 1;
  return last - ((weekday(last) - wd + 7) % 7);
}

/** Easter Sunday (Gregorian, anonymous algorithm). */
function easter(y: number): number {
  const a = y % 19;
  const b = Math.floor(y / 100);
  const c = y % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymdToDay(y, month, day);
}

/** A fixed-date holiday moved off the weekend (Saturday → Friday, Sunday → Monday). */
function observed(day: number): number {
  const wd = weekday(day);
  return wd === 6 ? day - 1 : wd === 0 ? day + 1 : day;
}

const yearCache = new Map<number, Map<number, HolidayKind>>();

/** NYSE full-day holidays of a year (day number → which holiday). */
export function nyseHolidays(y: number): ReadonlyMap<number, HolidayKind> {
  const hit = yearCache.get(y);
  if (hit) return hit;
  const out = new Map<number, HolidayKind>();
  const jan1 = ymdToDay(y, 1, 1);
  // New Year's Day on a Saturday is not observed on the Friday before (NYSE rule 7.2).
  if (weekday(jan1) !== 6) out.set(observed(jan1), "new-year");
  if (y >= 1998) out.set(nthWeekday(y, 1, 1, 3), "mlk");
  out.set(nthWeekday(y, 2, 1, 3), "presidents");
  out.set(easter(y) - 2, "good-friday");
  out.set(nthWeekday(y, 5, 1, -1), "memorial");
  if (y >= 2022) out.set(observed(ymdToDay(y, 6, 19)), "juneteenth");
  out.set(observed(ymdToDay(y, 7, 4)), "independence");
  out.set(nthWeekday(y, 9, 1, 1), "labor");
  out.set(nthWeekday(y, 11, 4, 4), "thanksgiving");
  out.set(observed(ymdToDay(y, 12, 25)), "christmas");
  for (const d of special) if (dayToYmd(d).y === y) out.set(d, "special");
  yearCache.set(y, out);
  return out;
}

/** The NYSE holiday on this NY civil day, if any. */
export function nyseHoliday(day: number): HolidayKind | undefined {
  return nyseHolidays(dayToYmd(day).y).get(day);
}

/** True when NYSE closes early (13:00 ET) on this NY civil day. */
export function nyseEarlyClose(day: number): boolean {
  const { y, m, d } = dayToYmd(day);
  const wd = weekday(day);
  if (wd === 0 || wd === 6 || nyseHoliday(day) !== undefined) return false;
  if (m === 7 && d === 3) return wd >= 1 && wd <= 4;
  if (m === 12 && d === 24) return wd >= 1 && wd <= 4;
  return m === 11 && day === nthWeekday(y, 11, 4, 4) + 1;
}

/** CME equity futures: closed the whole trade day (no holiday session) on these NYSE holidays. */
export function cmeFullClose(day: number): boolean {
  const h = nyseHoliday(day);
  return h === "good-friday" || h === "christmas" || h === "new-year";
}
