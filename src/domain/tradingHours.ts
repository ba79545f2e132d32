import { assertTimeZone, zonedWallToUtc } from "./calendar.js";

/**
 * IB trading-hours strings → UTC sessions. IB writes local exchange times in the contract's timeZoneId:
 * "20261125:0930-20261125:1600;20261126:CLOSED" (TWS ≥ 970 repeats the date after the dash; older
 * Gateways wrote "20090507:0700-1830,1830-2330"). Both forms are read; CLOSED days yield nothing.
 */

export interface Session {
  startMs: number;
  endMs: number;
}

export function parseTradingHours(text: string, timeZone: string): Session[] {
  const sessions: Session[] = [];
  for (const day of text.split(";")) {
    const m = /^(\d{8}):(.*)$/.exec(day.trim());
    if (m === null || m[2] === "CLOSED") continue;
    const date = m[1]!;
    for (const range of m[2]!.split(",")) {
      const r = /^(?:(\d{8}):)?(\d{4})-(?:(\d{8}):)?(\d{4})$/.exec(range.trim());
      if (r === null) continue;
      const startMs = zonedToUtc(r[1] ?? date, r[2]!, timeZone);
      const endMs = zonedToUtc(r[3] ?? date, r[4]!, timeZone);
      if (startMs !== undefined && endMs !== undefined && endMs > startMs) sessions.push({ startMs, endMs });
    }
  }
  return sessions;
}

/** "20261125" + "0930" in `timeZone` → epoch ms; undefined for an unknown zone. */
function zonedToUtc(yyyymmdd: string, hhmm: string, timeZone: string): number | undefined {
  try {
    assertTimeZone(timeZone);
  } catch {
    return undefined;
  }
  const n = (from: number, to: number, text: string) => Number(text.slice(from, to));
  return zonedWallToUtc({ year: n(0, 4, yyyymmdd), month: n(4, 6, yyyymmdd), day: n(6, 8, yyyymmdd), hour: n(0, 2, hhmm), minute: n(2, 4, hhmm), second: 0 }, timeZone);
}
