/**
 * IB date-time strings in time zones (tws-protocol.md §2.6): endDateTime parsing and the formats of bar
 * dates, the current time and account update times. Bar sizes and durations are market/ibDurations.ts.
 */
import { assertTimeZone, zonedWallToUtc } from "../../domain/calendar.js";

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
    assertTimeZone(tz);
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

/** Epoch ms of a wall-clock time in a zone (the service's own conversion: one DST rule for both sides). */
export function zonedToEpochMs(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): number {
  return zonedWallToUtc({ year: y, month: mo, day: d, hour: h, minute: mi, second: s }, tz);
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
