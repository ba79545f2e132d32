/**
 * Time-zone arithmetic on top of Intl.DateTimeFormat (the only DST source in Node without deps).
 * Intl is slow (~µs per call), so offsets are cached per UTC day; a day that contains a DST switch
 * gets its switch instant located once by bisection. "Day numbers" are days since 1970-01-01 of a
 * civil (local) calendar date.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

interface DayOffsets {
  before: number;
  after: number;
  /** First UTC ms with offset `after` (only meaningful when before !== after). */
  switchMs: number;
}

/** IB time zone ids → IANA. */
const IB_ZONES: Record<string, string> = {
  "US/Eastern": "America/New_York",
  "US/Central": "America/Chicago",
  "US/Pacific": "America/Los_Angeles",
  MET: "Europe/Berlin",
  CET: "Europe/Berlin",
  "Europe/London": "Europe/London",
  GMT: "UTC",
  UTC: "UTC",
};

export class TimeZone {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly days = new Map<number, DayOffsets>();

  constructor(readonly iana: string) {
    this.fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: iana,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
  }

  /** Offset (local − UTC, ms) straight from Intl, at minute resolution. */
  private rawOffset(utcMs: number): number {
    const t = Math.floor(utcMs / MINUTE_MS) * MINUTE_MS;
    const p: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(t)) if (part.type !== "literal") p[part.type] = Number(part.value);
    const local = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0);
    return local - t;
  }

  private dayOffsets(utcDay: number): DayOffsets {
    let d = this.days.get(utcDay);
    if (d) return d;
    const start = utcDay * DAY_MS;
    const before = this.rawOffset(start);
    const after = this.rawOffset(start + DAY_MS - MINUTE_MS);
    let switchMs = start + DAY_MS;
    if (before !== after) {
      let lo = start; // offset(lo) === before
      let hi = start + DAY_MS - MINUTE_MS; // offset(hi) === after
      while (hi - lo > MINUTE_MS) {
        const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
        if (this.rawOffset(mid) === before) lo = mid;
        else hi = mid;
      }
      switchMs = hi;
    }
    d = { before, after, switchMs };
    this.days.set(utcDay, d);
    return d;
  }

  /** local − UTC in ms at an instant. */
  offsetAt(utcMs: number): number {
    const d = this.dayOffsets(Math.floor(utcMs / DAY_MS));
    return utcMs < d.switchMs ? d.before : d.after;
  }

  /** Local civil day number and minute of day of an instant. */
  localDayMinute(utcMs: number): { day: number; minute: number } {
    const local = utcMs + this.offsetAt(utcMs);
    const day = Math.floor(local / DAY_MS);
    return { day, minute: Math.floor((local - day * DAY_MS) / MINUTE_MS) };
  }

  localDay(utcMs: number): number {
    return Math.floor((utcMs + this.offsetAt(utcMs)) / DAY_MS);
  }

  /**
   * UTC instant of a local wall-clock time, with Temporal's "compatible" disambiguation: an ambiguous
   * (fall-back) time takes its first occurrence, a nonexistent (spring-forward) time moves forward by
   * the gap. Offsets 14 h either side bracket any switch (switches are months apart).
   */
  localToUtc(day: number, minuteOfDay: number): number {
    const local = day * DAY_MS + minuteOfDay * MINUTE_MS;
    const early = this.offsetAt(local - 14 * HOUR_MS);
    const tEarly = local - early;
    if (this.offsetAt(tEarly) === early) return tEarly;
    const late = this.offsetAt(local + 14 * HOUR_MS);
    const tLate = local - late;
    if (this.offsetAt(tLate) === late) return tLate;
    return tEarly;
  }
}

const zones = new Map<string, TimeZone>();

/** Shared, cached zone by IANA or IB id. */
export function zone(id: string): TimeZone {
  const iana = IB_ZONES[id] ?? id;
  let z = zones.get(iana);
  if (!z) {
    z = new TimeZone(iana);
    zones.set(iana, z);
  }
  return z;
}

/** 0 = Sunday … 6 = Saturday, for a civil day number (1970-01-01 was a Thursday). */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function dayToYmd(day: number): { y: number; m: number; d: number } {
  const dt = new Date(day * DAY_MS);
  return { y: dt.getUTCFullYear(), m: dt.getUTCMonth() + 1, d: dt.getUTCDate() };
}

export function ymdToDay(y: number, m: number, d: number): number {
  return Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
}

/** "YYYYMMDD". */
export function dayToYyyymmdd(day: number): string {
  const { y, m, d } = dayToYmd(day);
  return `${y}${String(m).padStart(2, "0")}${String(d).padStart(2, "0")}`;
}
