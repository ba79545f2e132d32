/**
 * Pure planning of IB historical-bar requests for a Barfinex candle window, and IB's date-time formats.
 *
 * Chunk table (the longest window one request covers), conservative per IB's step-size table
 * (tws-protocol.md §3: "60 S: 1 sec–1 min; 1 D: 1 min–1 day; 1 W: 3 min–1 week; 1 M: 30 min–1 month;
 * 1 Y: 1 day–1 month") and the per-unit caps of ib-rules.md (86400 S / 365 D / 52 W / 12 M):
 *   min1                  → 1 day    (86400 S)
 *   min5, min15           → 1 week   (7 days; "1 W")
 *   min30, h1, h2, h4     → 4 weeks  (28 days; "4 W": fixed length and under the nominal 30 days of "1 M",
 *                                     where "1 M" itself is a calendar month at IB)
 *   day, week, month      → 52 weeks (364 days; under "1 Y" and within the 52 W cap)
 * Duration strings: "N S" up to 86400 S (exact); beyond that "N W" when the chunk is whole weeks, else "N D"
 * rounded up (for stocks IB counts D in trading days, which only ever covers more). A duration is never shorter
 * than one bar (IB wants at least one bar per request): week bars use W, month bars M (28-day months, rounded
 * up, so it always covers) or "1 Y" beyond 12 M.
 *
 * Chunks tile [startMs, endMs) oldest first, without gaps or overlaps, with boundaries on bar starts, so every
 * bar comes from one chunk; IB may still return an edge bar twice, so callers de-duplicate by bar start.
 */
import { startOfLocalDate, intervalBounds, assertTimeZone, zonedWallToUtc, type LocalWallTime } from "../../domain/calendar.js";
import type { Interval, IntervalName } from "../../domain/intervals.js";
import { IbError } from "../ibErrors.js";

export type IbBarSize = "1 min" | "5 mins" | "15 mins" | "30 mins" | "1 hour" | "2 hours" | "4 hours" | "1 day" | "1 week" | "1 month";

export const IB_BAR_SIZE: Readonly<Record<IntervalName, IbBarSize>> = {
  min1: "1 min",
  min5: "5 mins",
  min15: "15 mins",
  min30: "30 mins",
  h1: "1 hour",
  h2: "2 hours",
  h4: "4 hours",
  day: "1 day",
  week: "1 week",
  month: "1 month",
};

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** The chunk table above: longest window per request. */
export const MAX_CHUNK_MS: Readonly<Record<IntervalName, number>> = {
  min1: DAY_MS,
  min5: WEEK_MS,
  min15: WEEK_MS,
  min30: 4 * WEEK_MS,
  h1: 4 * WEEK_MS,
  h2: 4 * WEEK_MS,
  h4: 4 * WEEK_MS,
  day: 52 * WEEK_MS,
  week: 52 * WEEK_MS,
  month: 52 * WEEK_MS,
};

export type HistoryWhatToShow = "TRADES" | "AGGTRADES" | "MIDPOINT";

export type IbSecType = "STK" | "CRYPTO" | "FUT" | "CASH" | "IND" | "OPT" | "FOP" | "CFD" | "CMDTY" | "BOND" | "FUND" | "WAR";

export type IbSecTypeOrBag = IbSecType | "BAG";

/**
 * The one place the bars' price source is chosen per class. Crypto: IB rejects TRADES (10299) and wants
 * AGGTRADES. Forex and bonds: IB has no trades for them, only quotes (bonds in percent of par). Indices:
 * TRADES is the index's value (volume 0); funds: TRADES is the daily NAV; options, futures, combos: TRADES.
 */
const WHAT_TO_SHOW: Partial<Record<IbSecTypeOrBag, HistoryWhatToShow>> = { CRYPTO: "AGGTRADES", CASH: "MIDPOINT", BOND: "MIDPOINT" };

export function whatToShowFor(secType: string): HistoryWhatToShow {
  return WHAT_TO_SHOW[secType as IbSecTypeOrBag] ?? "TRADES";
}

export interface HistoryPlanInput {
  interval: Interval;
  fromMs: number;
  toMs: number;
  secType: IbSecType | (string & {});
  nowMs: number;
  /** IANA zone that day/week/month bars align to (the instrument's); intraday bars align to UTC epochs. */
  timeZone?: string;
  /** More IB requests than this: refused ("history-too-long") before the plan is built. */
  maxChunks?: number;
}

export interface HistoryChunk {
  /** "yyyyMMdd-HH:mm:ss", always UTC (a zone-less end is read in the Gateway's zone: 2174, shifted bars). */
  endDateTime: string;
  /** "N S|D|W|M|Y"; always covers at least [startMs, endMs). */
  durationStr: string;
  /** Inclusive. */
  startMs: number;
  /** Exclusive; equals the instant of endDateTime. */
  endMs: number;
}

export interface HistoryPlan {
  barSize: IbBarSize;
  whatToShow: HistoryWhatToShow;
  /** The window actually planned: from's bar start to to's bar end, clamped to now (whole seconds). */
  startMs: number;
  endMs: number;
  /** Oldest first; adjacent chunks share a boundary. */
  chunks: HistoryChunk[];
}

export function planHistory(input: HistoryPlanInput): HistoryPlan {
  const { interval, fromMs, toMs, nowMs } = input;
  const timeZone = input.timeZone ?? "UTC";
  for (const [name, v] of [["from", fromMs], ["to", toMs], ["now", nowMs]] as const) {
    if (!Number.isFinite(v)) throw new IbError("invalid", `${name} is not a valid time: ${String(v)}`);
  }
  if (fromMs >= toMs) throw new IbError("invalid", `from (${iso(fromMs)}) must be before to (${iso(toMs)})`);
  if (fromMs >= nowMs) throw new IbError("invalid", `from (${iso(fromMs)}) is in the future (now ${iso(nowMs)})`);
  try {
    assertTimeZone(timeZone);
  } catch (error) {
    throw new IbError("invalid", error instanceof Error ? error.message : String(error));
  }

  const startMs = intervalBounds(fromMs, interval, timeZone).startMs;
  // Never ask for the future: IB has nothing there, and endDateTime has whole seconds only.
  const endMs = Math.min(intervalBounds(toMs - 1, interval, timeZone).endMs, Math.floor(nowMs / 1000) * 1000);

  const maxChunk = MAX_CHUNK_MS[interval.name];
  // Chunks are at most maxChunk long, so this many at least: a huge window is refused without building it.
  const atLeast = Math.ceil((endMs - startMs) / maxChunk);
  if (input.maxChunks !== undefined && atLeast > input.maxChunks) throw windowTooLong(interval, atLeast, input.maxChunks);
  const chunks: HistoryChunk[] = [];
  for (let cur = startMs; cur < endMs; ) {
    let next = cur + maxChunk;
    if (next < endMs) {
      // Calendar bars (day in a DST zone, week, month): end the chunk on a bar start, never past the table.
      const snapped = intervalBounds(next, interval, timeZone).startMs;
      if (snapped > cur) next = snapped;
    }
    next = Math.min(next, endMs);
    chunks.push({ endDateTime: formatIbUtc(next), durationStr: durationFor(interval, next - cur), startMs: cur, endMs: next });
    cur = next;
  }
  if (input.maxChunks !== undefined && chunks.length > input.maxChunks) throw windowTooLong(interval, chunks.length, input.maxChunks);
  return { barSize: IB_BAR_SIZE[interval.name], whatToShow: whatToShowFor(input.secType), startMs, endMs, chunks };
}

function windowTooLong(interval: Interval, requests: number, max: number): IbError {
  return new IbError(
    "invalid",
    `${interval.name} candles for this window need ${requests >= 1e6 ? "millions of" : requests} IB requests (at most ${max}: IB allows 60 per 10 minutes); shorten the window or use a larger interval`,
    undefined,
    "history-too-long",
  );
}

/** The shortest IB duration that covers spanMs for these bars (see the header for the rules). */
export function durationFor(interval: Interval, spanMs: number): string {
  const days = Math.max(1, Math.ceil(spanMs / DAY_MS));
  if (interval.name === "month") {
    const months = Math.ceil(spanMs / (28 * DAY_MS)); // every month has ≥ 28 days: always covers
    return months <= 12 ? `${Math.max(1, months)} M` : "1 Y";
  }
  if (interval.name === "week") return `${Math.ceil(days / 7)} W`;
  const barSeconds = interval.seconds ?? 86_400;
  const seconds = Math.max(Math.ceil(spanMs / 1000), barSeconds);
  // IB's S unit goes up to 86400 S; daily bars want D.
  if (seconds <= 86_400 && interval.name !== "day") return `${seconds} S`;
  if (spanMs % WEEK_MS === 0) return `${spanMs / WEEK_MS} W`;
  return `${days} D`;
}

/** "20261125-14:30:00": IB's explicit-UTC end format (tws-protocol.md §2.6). Sub-second parts are dropped. */
export function formatIbUtc(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return (
    `${String(d.getUTCFullYear()).padStart(4, "0")}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}` +
    `-${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`
  );
}

/**
 * Reads an IB bar time (tws-protocol.md §2.6):
 *  - formatDate=2 epoch seconds: "1732545000";
 *  - daily "yyyyMMdd": local midnight in timeZoneHint (the instrument's zone) if given, else UTC;
 *  - "yyyyMMdd HH:mm:ss" optionally followed by a zone ("US/Eastern", "UTC"); without one, timeZoneHint, else UTC;
 *  - "yyyyMMdd-HH:mm:ss": UTC.
 * Undefined for anything else (including stoqey's "finished-…" end marker and unknown zones). An ambiguous
 * local time (DST fall-back) reads as the earlier instant.
 */
export function parseIbBarTime(text: string, timeZoneHint?: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s) && s.length !== 8) return Number(s) * 1000;

  const daily = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (daily) {
    const date = checkedDate(Number(daily[1]), Number(daily[2]), Number(daily[3]));
    if (date === undefined) return undefined;
    const zone = validZone(timeZoneHint ?? "UTC");
    return zone === undefined ? undefined : startOfLocalDate(date, zone);
  }

  const utc = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (utc) return wallToUtc(fieldsOf(utc), "UTC");

  const local = /^(\d{4})(\d{2})(\d{2})\s+(\d{2}):(\d{2}):(\d{2})(?:\s+(\S+))?$/.exec(s);
  if (local) {
    const zone = validZone(local[7] ?? timeZoneHint ?? "UTC");
    return zone === undefined ? undefined : wallToUtc(fieldsOf(local), zone);
  }
  return undefined;
}

function fieldsOf(m: RegExpExecArray): LocalWallTime | undefined {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (checkedDate(year, month, day) === undefined || hour > 23 || minute > 59 || second > 59) return undefined;
  return { year, month, day, hour, minute, second };
}

function checkedDate(year: number, month: number, day: number): { year: number; month: number; day: number } | undefined {
  const t = new Date(Date.UTC(year, month - 1, day));
  return t.getUTCFullYear() === year && t.getUTCMonth() === month - 1 && t.getUTCDate() === day ? { year, month, day } : undefined;
}

function validZone(zone: string): string | undefined {
  try {
    assertTimeZone(zone);
    return zone;
  } catch {
    return undefined;
  }
}

/** Local wall time in a zone → instant (see zonedWallToUtc); undefined for unreadable fields. */
function wallToUtc(w: LocalWallTime | undefined, timeZone: string): number | undefined {
  return w === undefined ? undefined : zonedWallToUtc(w, timeZone);
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
