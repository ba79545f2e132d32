import type { Bar } from "../../domain/marketData.js";
import type { HistoricalWait } from "./historicalScheduler.js";

/** Fetches 1-minute bars for [fromMs, toMs) of one instrument (paced by the caller's scheduler). */
export type MinuteBarFetch = (fromMs: number, toMs: number, signal: AbortSignal, onWait: (wait: HistoricalWait | undefined) => void) => Promise<Bar[]>;

interface Waiter {
  fromMs: number;
  toMs: number;
  resolve: (bars: Bar[]) => void;
  reject: (error: unknown) => void;
  onWait: ((wait: HistoricalWait | undefined) => void) | undefined;
  detach: () => void;
}

interface Batch {
  fromMs: number;
  toMs: number;
  waiters: Set<Waiter>;
  controller: AbortController;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The seeds of live intraday candle feeds (the candle in progress when a feed opens), coalesced per
 * instrument: the feeds of one instrument that open together (configured subscriptions at start-up, every
 * feed after a reconnect across a candle boundary) share one request of 1-minute bars covering the earliest
 * of their candles, instead of one request per interval; each feed folds the minutes of its own candle.
 * A seed asked for within `gatherMs` of the first joins its batch. A feed that leaves (closed, or dropping a
 * seed that would wait for IB's budget) leaves the batch; the last one leaving withdraws the request.
 */
export class CandleSeeds {
  private readonly gathering = new Map<string, Batch>();

  constructor(private readonly gatherMs = 20) {}

  /** 1-minute bars starting in [fromMs, toMs), from the batch of `key` (one instrument and session filter). */
  seed(key: string, fromMs: number, toMs: number, fetch: MinuteBarFetch, options: { signal?: AbortSignal; onWait?: (wait: HistoricalWait | undefined) => void } = {}): Promise<Bar[]> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let batch = this.gathering.get(key);
    if (batch === undefined) {
      const created: Batch = { fromMs, toMs, waiters: new Set(), controller: new AbortController(), timer: undefined };
      created.timer = setTimeout(() => this.send(key, created, fetch), this.gatherMs);
      created.timer.unref();
      this.gathering.set(key, created);
      batch = created;
    }
    const joined = batch;
    joined.fromMs = Math.min(joined.fromMs, fromMs);
    joined.toMs = Math.max(joined.toMs, toMs);
    return new Promise<Bar[]>((resolve, reject) => {
      const waiter: Waiter = { fromMs, toMs, resolve, reject, onWait: options.onWait, detach: () => undefined };
      if (signal !== undefined) {
        const onAbort = () => {
          joined.waiters.delete(waiter);
          reject(signal.reason);
          if (joined.waiters.size > 0) return;
          // Nobody wants this batch any more: never send it, or withdraw it from the queue (or IB).
          clearTimeout(joined.timer);
          if (this.gathering.get(key) === joined) this.gathering.delete(key);
          joined.controller.abort(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener("abort", onAbort);
      }
      joined.waiters.add(waiter);
    });
  }

  private send(key: string, batch: Batch, fetch: MinuteBarFetch): void {
    if (this.gathering.get(key) === batch) this.gathering.delete(key);
    batch.timer = undefined;
    if (batch.waiters.size === 0) return;
    const onWait = (wait: HistoricalWait | undefined) => {
      for (const w of [...batch.waiters]) w.onWait?.(wait);
    };
    fetch(batch.fromMs, batch.toMs, batch.controller.signal, onWait).then(
      (bars) => {
        for (const w of batch.waiters) {
          w.detach();
          w.resolve(bars.filter((b) => b.startMs >= w.fromMs && b.startMs < w.toMs));
        }
        batch.waiters.clear();
      },
      (error: unknown) => {
        for (const w of batch.waiters) {
          w.detach();
          w.reject(error);
        }
        batch.waiters.clear();
      },
    );
  }
}
