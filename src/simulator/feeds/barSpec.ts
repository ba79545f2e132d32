/**
 * IB bar-size, duration and date-time strings (ib-rules.md; tws-protocol.md §2.6).
 */
export type BarSize = number | "week" | "month";

const BAR_SIZES: Record<string, BarSize> = {
  "1 secs": 1,
  "5 secs": 5,
  "10 secs": 10,
  "15 secs": 15,
  "30 secs": 30,
  "1 min": 60,
  "2 mins": 120,
  "3 mins": 180,
  "5 mins": 300,
  "10 mins": 600,
  "15 mins": 900,
  "20 mins": 1200,
  "30 mins": 1800,
  "1 hour": 3600,
  "2 hours": 7200,
  "3 hours": 10800,
  "4 hours": 14400,
  "8 hours": 28800,
  "1 day": 86400,
  "1 week": "week",
  "1 month": "month",
};

/** The bar size for an IB barSizeSetting ("1 min", "1 hour", ...; singular/plural tolerated), or undefined. */
export function parseBarSizeSetting(s: string): BarSize | undefined {
  const norm = s.trim().toLowerCase().replace(/\s+/g, " ");
  const direct = BAR_SIZES[norm];
  if (direct !== undefined) return direct;
  const m = /^(\d+) (sec|min|hour|day|week|month)s?$/.exec(norm);
  if (!m) return undefined;
  for (const [k, v] of Object.entries(BAR_SIZES)) {
    const km = /^(\d+) (sec|min|hour|day|week|month)s?$/.exec(k);
    if (km && km[1] === m[1] && km[2] === m[2]) return v;
  }
  return undefined;
}

export interface Duration {
  n: number;
  unit: "S" | "D" | "W" | "M" | "Y";
}

export function parseDurationString(s: string): Duration | undefined {
  const m = /^\s*(\d+)\s*([SDWMY])\s*$/i.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!(n > 0)) return undefined;
  return { n, unit: (m[2] ?? "S").toUpperCase() as Duration["unit"] };
}

/** Start of the window (epoch s) that ends at endSec: S/D/W exact seconds, M/Y calendar months/years (UTC). */
export function windowStartSec(endSec: number, d: Duration): number {
  switch (d.unit) {
    case "S":
      return endSec - d.n;
    case "D":
      return endSec - d.n * 86400;
    case "W":
      return endSec - d.n * 7 * 86400;
    case "M":
    case "Y": {
      const t = new Date(endSec * 1000);
      if (d.unit === "M") t.setUTCMonth(t.getUTCMonth() - d.n);
      else t.setUTCFullYear(t.getUTCFullYear() - d.n);
      return Math.floor(t.getTime() / 1000);
    }
  }
}

export function durationSeconds(d: Duration): number {
  const perUnit = { S: 1, D: 86400, W: 7 * 86400, M: 31 * 86400, Y: 366 * 86400 }[d.unit];
  return d.n * perUnit;
}

/** IB's maximum duration per request (ib-rules.md): 1-second bars 2000 S; other sizes 86400 S / 365 D / 52 W / 12 M / 68 Y. */
export function durationWithinLimits(d: Duration, bar: BarSize): boolean {
  if (bar === 1) return durationSeconds(d) <= 2000;
  const max = { S: 86400, D: 365, W: 52, M: 12, Y: 68 }[d.unit];
  return d.n <= max;
}

/** Seconds of a bar, calendar sizes approximated (used for sanity limits only). */
export function barSeconds(b: BarSize): number {
  return b === "week" ? 7 * 86400 : b === "month" ? 31 * 86400 : b;
}

// --- time zones ----------------------------------------------------------------------------------------

const dtfCache = new Map<string, Intl.DateTimeFormat>();
function dtf(tz: string): Intl.DateTimeFormat {
  let f = dtfCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    dtfCache.set(tz, f);
  }
  return f;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    dtf(tz);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock parts of an instant in a zone. */
export function zonedParts(epochMs: number, tz: string): { y: string; mo: string; d: string; h: string; mi: string; s: string } {
  const p: Record<string, string> = {};
  for (const part of dtf(tz).formatToParts(new Date(epochMs))) p[part.type] = part.value;
  return { y: p.year ?? "1970", mo: p.month ?? "01", d: p.day ?? "01", h: p.hour ?? "00", mi: p.minute ?? "00", s: p.second ?? "00" };
}

/** Offset of a zone at an instant, ms (local = utc + offset). */
function zoneOffsetMs(epochMs: number, tz: string): number {
  const p = zonedParts(epochMs, tz);
  const asUtc = Date.UTC(+p.y, +p.mo - 1, +p.d, +p.h, +p.mi, +p.s);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

/** Epoch ms of a wall-clock time in a zone. */
export function zonedToEpochMs(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const off1 = zoneOffsetMs(guess, tz);
  const off2 = zoneOffsetMs(guess - off1, tz);
  return guess - off2;
}

/** "yyyyMMdd HH:mm:ss" in a zone. */
export function formatZoned(epochMs: number, tz: string): string {
  const p = zonedParts(epochMs, tz);
  return `${p.y}${p.mo}${p.d} ${p.h}:${p.mi}:${p.s}`;
}

export function formatYmd(epochMs: number, tz: string): string {
  const p = zonedParts(epochMs, tz);
  return `${p.y}${p.mo}${p.d}`;
}

/**
 * Parses IB's endDateTime: "" → now; "yyyyMMdd-HH:mm:ss" (UTC); "yyyyMMdd HH:mm:ss[ TZ]" (no zone: the
 * Gateway's zone, here `defaultTz`); "yyyyMMdd" (end of that day). Returns epoch s, or undefined if invalid.
 */
export function parseEndDateTime(s: string, nowMs: number, defaultTz: string): number | undefined {
  const t = s.trim();
  if (t === "") return Math.floor(nowMs / 1000);
  let m = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(t);
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
  m = /^(\d{4})(\d{2})(\d{2})\s+(\d{2}):(\d{2})(?::(\d{2}))?(?:\s+(\S+))?$/.exec(t);
  if (m) {
    const tz = normaliseTz(m[7] ?? defaultTz);
    if (!isValidTimeZone(tz)) return undefined;
    return Math.floor(zonedToEpochMs(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? "0"), tz) / 1000);
  }
  m = /^(\d{4})(\d{2})(\d{2})$/.exec(t);
  if (m) return Math.floor(zonedToEpochMs(+m[1]!, +m[2]!, +m[3]!, 23, 59, 59, defaultTz) / 1000) + 1;
  return undefined;
}

function normaliseTz(tz: string): string {
  const u = tz.toUpperCase();
  if (u === "GMT" || u === "UTC") return "UTC";
  if (u === "EST" || u === "EDT") return "America/New_York";
  if (u === "CST" || u === "CDT") return "America/Chicago";
  return tz;
}
