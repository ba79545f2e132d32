/**
 * Bulk history into the store (issue 14 item 4), transport-neutral: for each symbol, the parts of the window
 * the store does not cover are planned into IB-sized requests (historyPlan.ts), and fetched one request at
 * a time through the adapter's candle path (candleCache.ts), so what IB returns is stored and its settled
 * ranges covered for good. A run that stops (cancelled, crashed) leaves the store with whole requests'
 * worth of bars and their coverage; running it again plans only what is still missing: no duplicate (bars
 * are keyed by start) and no missing bar.
 *
 * Pacing: every request is an ordinary user request of the caller's client in the historical scheduler
 * (fair between clients, within the client's quota), and only `concurrency` of them are queued or in
 * flight at once: a backfill of thousands of requests never fills the queue ahead of other calls. The
 * per-call limit on IB requests (maxHistoryChunks) does not apply: each call is one request.
 */
import type { Interval } from "../../domain/intervals.js";
import type { MarketType } from "../../domain/marketType.js";
import type { CandleSeriesKey, CandleStore } from "../../store/candleStore.js";
import type { StoreSettings } from "../../store/storeSettings.js";
import { bridgeGaps, missingRanges, type TimeRange } from "../../store/timeRanges.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { IbError } from "../ibErrors.js";
import { alignedWindow, seriesKeyOf } from "./candleCache.js";
import { MAX_CHUNK_MS, planHistory } from "./historyPlan.js";
import type { CandleQuery } from "./historyService.js";

export interface BackfillRequest {
  marketType: MarketType;
  /** Barfinex symbols, each backfilled (or failed) on its own. */
  symbols: readonly string[];
  interval: Interval;
  fromMs: number;
  toMs: number;
  /** Stocks: regular trading hours only (the series GetCandles reads with the same setting). */
  regularHoursOnly: boolean;
  /** Accounting name of the caller's client (fair order, historyRequests quota). */
  client?: string;
  /** Aborting stops the backfill: queued requests are withdrawn, what was fetched is kept. */
  signal?: AbortSignal;
}

/** What a backfill needs of the adapter. */
export interface BackfillSource {
  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument>;
  /** The adapter's candle path: the store first, the missing ranges from IB, stored. */
  candles(marketType: MarketType, symbol: string, query: CandleQuery): Promise<{ candles: readonly { startMs: number }[] }>;
  /** IB's historical budget as the scheduler spends it (for the estimates and the wait reason). */
  historicalPacing(): { budget: number; windowMs: number; sentInWindow: number; userWaitMs: number };
  store: CandleStore;
  settings: Pick<StoreSettings, "recentTtlMs">;
  now(): number;
}

export interface BackfillOptions {
  /** Requests of this backfill queued or in flight at once (default 4). */
  concurrency?: number;
  /** A progress event at least this often while nothing else happens (default 1 s). */
  tickMs?: number;
}

export interface BackfillProgress {
  /** The symbol whose request just finished; "" for an event while waiting. */
  symbol: string;
  requestsDone: number;
  requestsPlanned: number;
  barsStored: number;
  symbolsPlanned: number;
  estimatedFinishMs: number | undefined;
  /** What the requests wait for, and until when (estimate), while IB's pacing or a quota holds them. */
  waiting: { reason: string; untilMs: number | undefined } | undefined;
}

export interface SymbolBackfillResult {
  symbol: string;
  bars: number;
  requestsSent: number;
  requestsPlanned: number;
  /** Ranges of the window the store already covered when planned. */
  rangesInStore: number;
  /** Why it failed (an IbError or anything the candle path threw); undefined when it succeeded. */
  error: unknown;
}

export interface BackfillSummary {
  symbols: SymbolBackfillResult[];
  requestsSent: number;
  barsStored: number;
}

export type BackfillEvent = { kind: "progress"; progress: BackfillProgress } | { kind: "summary"; summary: BackfillSummary };

/** One planned IB request: a window of at most one IB request's length. */
interface Chunk {
  symbol: SymbolRun;
  range: TimeRange;
}

interface SymbolRun {
  result: SymbolBackfillResult;
  instrument: ResolvedInstrument | undefined;
  key: CandleSeriesKey | undefined;
  chunks: TimeRange[];
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_TICK_MS = 1_000;

/**
 * IB requests one backfill may need in all (symbols × window), about 2⅓ days of IB's whole budget (60 per
 * 10 minutes): a longer one is refused before any look-up. Its plan is built at once, on the event loop,
 * and the API's checks let a window reach back to 0001-01-01: a century of min1 for 100 symbols was 3.6
 * million requests planned (~16 s of the loop, gigabytes), from the year 1 out of memory before the first
 * request. Longer fills are several backfills, one after another (each resumes what the last stored).
 */
export const MAX_BACKFILL_REQUESTS = 20_000;

/** Refuses (IbError history-too-long) a backfill whose requests, counted from its window alone, exceed MAX_BACKFILL_REQUESTS. */
export function checkBackfillSize(request: Pick<BackfillRequest, "symbols" | "interval" | "fromMs" | "toMs">, nowMs: number): void {
  const spanMs = Math.max(0, Math.min(request.toMs, nowMs) - request.fromMs);
  const perSymbol = Math.ceil(spanMs / MAX_CHUNK_MS[request.interval.name]);
  const requests = perSymbol * request.symbols.length;
  if (requests <= MAX_BACKFILL_REQUESTS) return;
  throw new IbError(
    "invalid",
    `a backfill of ${request.symbols.length} symbol(s) × ${request.interval.name} over this window needs up to ${requests >= 1e6 ? "millions of" : requests} IB requests, more than ${MAX_BACKFILL_REQUESTS} in one backfill (over 2 days of IB's pacing budget): split it into shorter windows or fewer symbols, run one after another`,
    undefined,
    "history-too-long",
  );
}

/**
 * The IB requests a backfill of [fromMs, toMs) needs beyond what `covered` holds: the window aligned on bar
 * starts as the cache aligns it (up to the end of the bar forming now), the missing ranges joined over gaps
 * shorter than one request (one request for a short covered gap costs less than one per hole), each split
 * into IB-sized requests, oldest first.
 */
export function planBackfillChunks(input: { interval: Interval; fromMs: number; toMs: number; nowMs: number; secType: string; timeZone: string; covered: readonly TimeRange[] }): TimeRange[] {
  const window = alignedWindow(input.interval, input.fromMs, input.toMs, input.nowMs, input.timeZone);
  if (window === undefined) return [];
  const missing = bridgeGaps(missingRanges(window, input.covered), MAX_CHUNK_MS[input.interval.name]);
  return missing.flatMap((range) => {
    if (range.fromMs >= input.nowMs) return [];
    const plan = planHistory({ interval: input.interval, fromMs: range.fromMs, toMs: range.toMs, secType: input.secType, nowMs: input.nowMs, timeZone: input.timeZone });
    return plan.chunks.map((c) => ({ fromMs: c.startMs, toMs: c.endMs }));
  });
}

/**
 * When the remaining requests should be done: at the pace so far (IB's latency, the per-contract rules),
 * and never before IB's global budget lets them go — what the current window has left now, then `budget`
 * more per window (an upper estimate: the window slides, its oldest sends leave it sooner).
 */
export function estimateFinishMs(input: { nowMs: number; remaining: number; budget: number; windowMs: number; sentInWindow: number; msPerRequest: number | undefined; waitUntilMs?: number | undefined }): number | undefined {
  const { nowMs, remaining, budget, windowMs, sentInWindow, msPerRequest } = input;
  if (remaining <= 0) return nowMs;
  const free = Math.max(0, budget - sentInWindow);
  const byBudget = remaining <= free ? nowMs : nowMs + Math.ceil((remaining - free) / Math.max(1, budget)) * windowMs;
  const byPace = msPerRequest === undefined ? undefined : nowMs + remaining * msPerRequest;
  if (byPace === undefined && byBudget === nowMs) return input.waitUntilMs;
  return Math.max(byBudget, byPace ?? 0, input.waitUntilMs ?? 0);
}

/**
 * Runs a backfill: planning (every symbol resolved and its missing ranges planned), then the requests,
 * symbols interleaved so that IB's per-contract rule (6 requests per 2 s) does not serialise them, with a
 * progress event after each and while waiting, and a summary last. Ends early, without a summary, when the
 * request's signal aborts.
 */
export async function* runBackfill(source: BackfillSource, request: BackfillRequest, options: BackfillOptions = {}): AsyncGenerator<BackfillEvent, void, undefined> {
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const { signal } = request;
  checkBackfillSize(request, source.now());
  const failedWritesBefore = source.store.failedWrites;
  const runs: SymbolRun[] = request.symbols.map((symbol) => ({ result: { symbol, bars: 0, requestsSent: 0, requestsPlanned: 0, rangesInStore: 0, error: undefined }, instrument: undefined, key: undefined, chunks: [] }));

  const events = new EventQueue<BackfillEvent>();
  let symbolsPlanned = 0;
  let requestsDone = 0;
  let requestsPlanned = 0;
  let barsStored = 0;
  let startedAtMs: number | undefined;
  let quotaWait: { reason: string; untilMs: number } | undefined;
  let lastEventAt = source.now();

  const progress = (symbol: string): BackfillEvent => {
    const nowMs = source.now();
    lastEventAt = nowMs;
    const pacing = source.historicalPacing();
    const waiting =
      quotaWait ??
      (pacing.userWaitMs > 0 && requestsDone < requestsPlanned
        ? { reason: `IB's historical pacing budget (${pacing.budget} requests per ${Math.round(pacing.windowMs / 1000)} s)`, untilMs: nowMs + pacing.userWaitMs }
        : undefined);
    const msPerRequest = startedAtMs === undefined || requestsDone === 0 ? undefined : (nowMs - startedAtMs) / requestsDone;
    const estimatedFinishMs = estimateFinishMs({ nowMs, remaining: requestsPlanned - requestsDone, budget: pacing.budget, windowMs: pacing.windowMs, sentInWindow: pacing.sentInWindow, msPerRequest, waitUntilMs: waiting?.untilMs });
    return { kind: "progress", progress: { symbol, requestsDone, requestsPlanned, barsStored, symbolsPlanned, estimatedFinishMs, waiting } };
  };

  // Planning: contract look-ups are not history requests (no pacing); a symbol IB does not know fails alone.
  await Promise.all(
    runs.map(async (run) => {
      try {
        const instrument = await source.resolve(request.marketType, run.result.symbol);
        // The store keys series by conId and IB gives a BAG none: a combo's candles would be fetched, counted as
        // stored and thrown away (GetCandles asks IB for them each time instead).
        if (instrument.conId === 0) throw new IbError("invalid", `${run.result.symbol}: a combo's candles are not kept in the store (IB gives a combo no contract id); GetCandles asks IB for them each time`, undefined, "not-offered-for-class");
        const nowMs = source.now();
        const timeZone = instrument.timeZoneId || "UTC";
        const key = seriesKeyOf(instrument, request.interval, request.regularHoursOnly);
        const window = alignedWindow(request.interval, request.fromMs, request.toMs, nowMs, timeZone);
        const covered = window === undefined ? [] : source.store.covered(key, window.fromMs, window.toMs, nowMs, source.settings.recentTtlMs);
        run.instrument = instrument;
        run.key = key;
        run.chunks = planBackfillChunks({ interval: request.interval, fromMs: request.fromMs, toMs: request.toMs, nowMs, secType: instrument.secType, timeZone, covered });
        run.result.rangesInStore = covered.length;
        run.result.requestsPlanned = run.chunks.length;
        requestsPlanned += run.chunks.length;
      } catch (err) {
        run.result.error = err;
      }
      symbolsPlanned++;
    }),
  );
  if (signal?.aborted) return;
  yield progress("");

  // Symbols interleaved, oldest range first within each.
  const queue: Chunk[] = [];
  for (let i = 0; runs.some((r) => r.chunks.length > i); i++) {
    for (const run of runs) if (i < run.chunks.length) queue.push({ symbol: run, range: run.chunks[i]! });
  }

  const fetchChunk = async (chunk: Chunk): Promise<void> => {
    const run = chunk.symbol;
    const instrument = run.instrument!;
    // The store may have filled meanwhile (another call, another backfill): only what it lacks is asked.
    const covered = source.store.covered(run.key!, chunk.range.fromMs, chunk.range.toMs, source.now(), source.settings.recentTtlMs);
    if (missingRanges(chunk.range, covered).length === 0) return;
    for (;;) {
      try {
        const { candles } = await source.candles(request.marketType, instrument.symbol, {
          interval: request.interval,
          fromMs: chunk.range.fromMs,
          toMs: chunk.range.toMs,
          regularHoursOnly: request.regularHoursOnly,
          signal,
          client: request.client,
        });
        const bars = candles.filter((c) => c.startMs >= chunk.range.fromMs && c.startMs < chunk.range.toMs).length;
        run.result.bars += bars;
        run.result.requestsSent++;
        barsStored += bars;
        return;
      } catch (err) {
        // The client's historyRequests quota is spent for this window: wait until it has room (a backfill
        // spreads itself over windows), unless one request could never fit.
        const retryAfterMs = err instanceof IbError && err.fact === "history-quota" ? err.details?.retryAfterMs : undefined;
        if (retryAfterMs === undefined || signal?.aborted) throw err;
        quotaWait = { reason: `client ${JSON.stringify(request.client ?? "")}'s historyRequests quota`, untilMs: source.now() + retryAfterMs };
        events.push(progress(""));
        await abortableDelay(retryAfterMs, signal);
        quotaWait = undefined;
      }
    }
  };

  const worker = async (): Promise<void> => {
    for (let chunk = queue.shift(); chunk !== undefined && !signal?.aborted; chunk = queue.shift()) {
      const run = chunk.symbol;
      startedAtMs ??= source.now();
      try {
        await fetchChunk(chunk);
        requestsDone++;
      } catch (err) {
        if (signal?.aborted) return;
        // This symbol fails alone: its remaining requests are dropped from the plan (this one too; one of
        // its requests still in flight counts as done or drops itself), the others go on.
        run.result.error ??= err;
        let dropped = 1;
        for (let i = queue.length - 1; i >= 0; i--) {
          if (queue[i]!.symbol !== run) continue;
          queue.splice(i, 1);
          dropped++;
        }
        requestsPlanned -= dropped;
      }
      events.push(progress(run.result.symbol));
    }
  };

  const ticker = setInterval(() => {
    if (source.now() - lastEventAt >= tickMs) events.push(progress(""));
  }, tickMs);
  const onAbort = () => events.close();
  signal?.addEventListener("abort", onAbort, { once: true });
  const workers = Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, queue.length)) }, worker)).finally(() => events.close());
  try {
    for await (const event of events) yield event;
    await workers;
  } finally {
    clearInterval(ticker);
    signal?.removeEventListener("abort", onAbort);
  }
  if (signal?.aborted) return;
  // Done means in the store: what IB answered is committed (and covered) before the summary says so.
  await source.store.flushed();
  const failedWrites = source.store.failedWrites - failedWritesBefore;
  if (failedWrites > 0) {
    // Which bars a failed write held is not known here: no symbol claims success (a rerun asks IB again).
    const error = new IbError("unavailable", `${failedWrites} store write(s) failed during the backfill (the service log says why, e.g. a full disk): some of these bars were not stored; run the backfill again once the store can be written`);
    for (const run of runs) if (run.result.requestsSent > 0) run.result.error ??= error;
  }
  const symbols = runs.map((r) => r.result);
  yield { kind: "summary", summary: { symbols, requestsSent: symbols.reduce((n, s) => n + s.requestsSent, 0), barsStored } };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Events pushed by the workers, read by the generator in order; ends once closed and drained. */
class EventQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
