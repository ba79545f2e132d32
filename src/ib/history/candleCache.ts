/**
 * History from the store first (issue 14): a candle window is served from what the store holds, and only
 * the ranges it does not cover are asked of IB (paced as ever); what IB returns is stored.
 *
 * Ranges are kept per series (contract, interval, what-to-show, RTH) and aligned on bar starts:
 * - settled: bars that ended more than the settle window ago (StoreSettings) — asked once, kept, and the
 *   range recorded as covered even when IB had nothing there (weekends, holidays, before listing);
 * - recent: the rest up to now, forming bar included — served from the store only for `recentTtlMs` (and
 *   never past the end of the bar that was forming), then asked again, because IB may still revise it.
 * A read the store covers completely never touches the pacing scheduler.
 */
import { barEndMs, intervalBounds } from "../../domain/calendar.js";
import type { Interval } from "../../domain/intervals.js";
import { textCandleOf, type Candle, type TextCandle } from "../../domain/marketData.js";
import type { CandleSeriesKey, CandleStore, StoredBar } from "../../store/candleStore.js";
import type { StoreSettings } from "../../store/storeSettings.js";
import { bridgeGaps, missingRanges, type TimeRange } from "../../store/timeRanges.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { IbError } from "../ibErrors.js";
import { MAX_CHUNK_MS, planHistory, whatToShowFor } from "./historyPlan.js";
import type { CandleQuery } from "./historyService.js";

/** What one cached call did: all from the store ("hit"), part ("partial") or none ("miss"). */
export type CacheOutcome = "hit" | "partial" | "miss";

export interface CandleCacheStats {
  calls: Record<CacheOutcome, number>;
  /** Bars served from the store, and fetched from IB through the cache. */
  barsFromStore: number;
  barsFromIb: number;
}

export interface CandleSource {
  candles(instrument: ResolvedInstrument, query: CandleQuery): Promise<Candle[]>;
}

/** Rows per store read before yielding to the event loop (≈ 10-30 ms of reading here). */
const READ_PAGE = 5_000;

/** The series a candle window of this instrument is stored under (IB's own history key). */
export function seriesKeyOf(instrument: ResolvedInstrument, interval: Interval, regularHoursOnly: boolean): CandleSeriesKey {
  return { conId: instrument.conId, interval: interval.name, whatToShow: whatToShowFor(instrument.secType), rth: regularHoursOnly && instrument.secType === "STK" };
}

/**
 * A window as the store keeps ranges: [the first bar's start, the end of the last bar starting before `to`
 * and before now] (IB has nothing later); undefined when no bar can be in it.
 */
export function alignedWindow(interval: Interval, fromMs: number, toMs: number, nowMs: number, timeZone: string): TimeRange | undefined {
  if (fromMs >= toMs || fromMs >= nowMs) return undefined;
  const start = intervalBounds(fromMs, interval, timeZone).startMs;
  const lastStart = Math.min(toMs, nowMs + 1) - 1;
  if (lastStart < start) return undefined;
  return { fromMs: start, toMs: intervalBounds(lastStart, interval, timeZone).endMs };
}

export class CandleCache {
  readonly stats: CandleCacheStats = { calls: { hit: 0, partial: 0, miss: 0 }, barsFromStore: 0, barsFromIb: 0 };

  constructor(
    private readonly ib: CandleSource,
    private readonly store: CandleStore,
    private readonly settings: Pick<StoreSettings, "intradaySettleMs" | "dailySettleMs" | "recentTtlMs">,
    private readonly now: () => number,
    /** Most IB requests one call may need (the same limit as uncached calls; only missing ranges count). */
    private readonly maxChunks: number,
  ) {}

  /** Candles of [fromMs, toMs), ascending, as one array (see candlePages). */
  async candles(instrument: ResolvedInstrument, query: CandleQuery): Promise<TextCandle[]> {
    const out: TextCandle[] = [];
    for await (const page of await this.candlePages(instrument, query)) for (const c of page) out.push(c);
    return out;
  }

  /**
   * Candles of [fromMs, toMs), ascending, in pages: a window the store covers is read a page at a time as
   * the caller takes them (a year of min1 is never all in memory at once); otherwise one page, the store's
   * part merged with IB's answer. Resolves once what must be asked of IB has been answered.
   */
  async candlePages(instrument: ResolvedInstrument, query: CandleQuery): Promise<AsyncIterable<TextCandle[]>> {
    const nowMs = this.now();
    // A window in the future or reversed: IB's path refuses it with its own reason.
    if (query.fromMs >= nowMs || query.fromMs >= query.toMs) return onePage((await this.ib.candles(instrument, query)).map(textCandleOf));
    const { interval } = query;
    const timeZone = instrument.timeZoneId || "UTC";
    const key = seriesKeyOf(instrument, interval, query.regularHoursOnly);
    // Never empty here: from is before to and before now.
    const { fromMs: windowStart, toMs: windowEnd } = alignedWindow(interval, query.fromMs, query.toMs, nowMs, timeZone)!;
    const settledTo = intervalBounds(nowMs - this.settleMs(interval), interval, timeZone).startMs;

    const covered = this.store.covered(key, windowStart, windowEnd, nowMs, this.settings.recentTtlMs);
    const missing = bridgeGaps(missingRanges({ fromMs: windowStart, toMs: windowEnd }, covered), MAX_CHUNK_MS[interval.name]);
    const outcome: CacheOutcome = missing.length === 0 ? "hit" : covered.length === 0 ? "miss" : "partial";
    this.stats.calls[outcome]++;
    if (missing.length > 0) this.checkRequests(instrument, interval, missing, nowMs, timeZone);

    if (missing.length === 0) return this.storedPages(key, windowStart, query.toMs, nowMs, interval, timeZone);

    // IB's requests go out first; the store is read meanwhile, in pages (other calls and streams are served
    // between them). A failure is awaited below: the handler only keeps it from counting as unhandled.
    // Each range is stored as soon as IB answers it, whatever becomes of the others: a call that fails
    // (another range refused or failed) still keeps what IB did answer, never asked of it again.
    const label = { ...key, symbol: instrument.symbol, timeZone };
    const fetching = Promise.all(
      missing.map(async (range) => {
        // Everything IB gave for the range is stored (its coverage claims all of it), the answer keeps [from, to).
        const candles = (await this.ib.candles(instrument, { ...query, fromMs: range.fromMs, toMs: range.toMs })).filter((c) => c.startMs >= range.fromMs && c.startMs < range.toMs);
        this.remember(label, range, candles, settledTo, nowMs, interval, timeZone);
        return candles.filter((c) => c.startMs < query.toMs);
      }),
    );
    fetching.catch(() => undefined);
    const stored: TextCandle[] = [];
    for await (const page of this.storedPages(key, windowStart, query.toMs, nowMs, interval, timeZone)) for (const c of page) stored.push(c);

    const fromIb: TextCandle[] = [];
    for (const candles of await fetching) for (const c of candles) fromIb.push(textCandleOf(c));
    this.stats.barsFromIb += fromIb.length;
    // Both ascending; IB's answer wins inside the ranges it was asked for (the store may hold older revisions).
    const asked = (ms: number) => missing.some((r) => ms >= r.fromMs && ms < r.toMs);
    return onePage(mergeByStart(stored.filter((c) => !asked(c.startMs)), fromIb.sort((a, b) => a.startMs - b.startMs)));
  }

  /** Stored candles of [fromMs, toMs), a page per event-loop turn. */
  private async *storedPages(key: CandleSeriesKey, fromMs: number, toMs: number, nowMs: number, interval: Interval, timeZone: string): AsyncGenerator<TextCandle[]> {
    for (let from = fromMs; ; ) {
      const page = this.store.readText(key, from, toMs, READ_PAGE);
      this.stats.barsFromStore += page.length;
      for (const c of page) {
        // Stored complete means: ended when IB sent it. The forming bar stays incomplete until IB is asked again.
        if (c.complete && barEndMs(c.startMs, interval, timeZone) > nowMs) c.complete = false;
      }
      if (page.length > 0) yield page;
      if (page.length < READ_PAGE) return;
      from = page[page.length - 1]!.startMs + 1;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Where a live candle feed's closed candles go: written to the series (replacing an earlier version of the
   * same start, e.g. before IB's final bar healed it), never marked covered — IB's history stays the
   * reference for ranges asked of it. Candles a feed gap overlapped are not written.
   */
  closedCandleWriter(instrument: ResolvedInstrument, interval: Interval, useRTH: boolean): (candle: Candle) => void {
    const timeZone = instrument.timeZoneId || "UTC";
    const label = { ...seriesKeyOf(instrument, interval, useRTH), symbol: instrument.symbol, timeZone };
    return (c) => {
      if (!c.complete || c.afterGap === true) return;
      const bar: StoredBar = { startMs: c.startMs, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, count: c.tradeCount, complete: true };
      if (c.vwap !== undefined) bar.vwap = c.vwap;
      this.store.write(label, [bar], {}, this.now()).catch(() => undefined);
    };
  }

  /** Queues what IB returned for `range`: the settled part as covered for good, the rest as recent. */
  private remember(label: CandleSeriesKey & { symbol: string; timeZone: string }, range: TimeRange, candles: Candle[], settledTo: number, nowMs: number, interval: Interval, timeZone: string): void {
    const bars = candles.map((c): StoredBar => {
      const bar: StoredBar = { startMs: c.startMs, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, count: c.tradeCount, complete: c.complete };
      if (c.vwap !== undefined) bar.vwap = c.vwap;
      return bar;
    });
    let settledEnd = Math.min(range.toMs, Math.max(range.fromMs, settledTo));
    let formingEndMs = barEndMs(intervalBounds(nowMs, interval, timeZone).startMs, interval, timeZone);
    // IB's bars need not start on the calendar's bounds the ranges are cut on (its 2- and 4-hour bars align to
    // the exchange day): a bar starting before the settled bound that was still forming, or had not settled,
    // ends the settled part at its start (else it would be kept as it was then, for good), and the recent
    // range is served no longer than the first forming bar lasts.
    const settleMs = this.settleMs(interval);
    for (const c of candles) {
      const end = barEndMs(c.startMs, interval, timeZone);
      if (c.startMs < settledEnd && (!c.complete || end > nowMs - settleMs)) settledEnd = Math.max(range.fromMs, c.startMs);
      if (!c.complete) formingEndMs = Math.min(formingEndMs, end);
    }
    const scope: Parameters<CandleStore["write"]>[2] = { replace: range };
    if (settledEnd > range.fromMs) scope.covered = { fromMs: range.fromMs, toMs: settledEnd };
    if (range.toMs > settledEnd) scope.recent = { fromMs: settledEnd, toMs: range.toMs, formingEndMs };
    // A failed write is the store's to report (MarketStore's onWriteError); the answer stands without it.
    this.store.write(label, bars, scope, nowMs).catch(() => undefined);
  }

  /** Refuses a call whose missing ranges need more IB requests than one call may make, before any is sent. */
  private checkRequests(instrument: ResolvedInstrument, interval: Interval, missing: TimeRange[], nowMs: number, timeZone: string): void {
    let requests = 0;
    for (const range of missing) {
      if (range.fromMs >= nowMs) continue;
      requests += planHistory({ interval, fromMs: range.fromMs, toMs: range.toMs, secType: instrument.secType, nowMs, timeZone, maxChunks: this.maxChunks }).chunks.length;
    }
    if (requests > this.maxChunks) {
      throw new IbError(
        "invalid",
        `${interval.name} history for this window needs ${requests} IB requests beyond what the store holds, more than ${this.maxChunks} per call: ask for a shorter window, or fill the store first (npm run backfill)`,
        undefined,
        "history-too-long",
      );
    }
  }

  private settleMs(interval: Interval): number {
    return interval.seconds !== undefined && interval.seconds < 86_400 ? this.settings.intradaySettleMs : this.settings.dailySettleMs;
  }
}

async function* onePage(candles: TextCandle[]): AsyncGenerator<TextCandle[]> {
  if (candles.length > 0) yield candles;
}

function mergeByStart(a: TextCandle[], b: TextCandle[]): TextCandle[] {
  const out: TextCandle[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.startMs < b[j]!.startMs)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/** Intraday bars last their length (wherever IB starts them); day and week bars their local days (23 or 25 hours on DST days). */

