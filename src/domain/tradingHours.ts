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

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at instant `utcMs`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(utcMs)).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** "20261125" + "0930" in `timeZone` → epoch ms; undefined for an unknown zone. */
function zonedToUtc(yyyymmdd: string, hhmm: string, timeZone: string): number | undefined {
  const naive = Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)), Number(hhmm.slice(0, 2)), Number(hhmm.slice(2, 4)));
  try {
    // Two passes settle DST edges: the offset at the guessed instant, then at the corrected one.
    const first = naive - zoneOffsetMs(naive, timeZone);
    return naive - zoneOffsetMs(first, timeZone);
  } catch {
    return undefined;
  }
}
