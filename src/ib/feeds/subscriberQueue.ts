import type { FeedEvent, FeedStatus } from "./feedEvents.js";

export interface SubscriberQueueOptions {
  /** Events kept for a consumer that falls behind; beyond it the oldest data is dropped (and said so). */
  maxQueued: number;
  /**
   * Each data event is a complete state (L1): a consumer that is behind needs only the newest one, so a
   * queued data event is replaced instead of a new one being queued behind it. The queue then never
   * grows, whatever the feed's rate.
   */
  conflate?: boolean;
  /** Idle time after which a heartbeat is delivered. */
  heartbeatMs: number;
  /** No data for this long → one "stale" status (repeated after each further period). 0 = never. */
  staleAfterMs: number;
  signal: AbortSignal;
  now: () => number;
  /** Called once when the consumer goes away (abort, error or end). */
  onClose: () => void;
}

/**
 * One consumer's view of a shared feed, as an async iterable of batches: every event queued since the
 * last read comes out in one batch, so a consumer that keeps up gets one event per batch (no added
 * latency) and one that falls behind catches up in a few large batches. A slow consumer never slows the
 * feed or the other consumers: past `maxQueued` its oldest data events are dropped and a "gap" status
 * tells it how many — never silently.
 */
export class SubscriberQueue<T> implements AsyncIterable<FeedEvent<T>[]> {
  private queue: FeedEvent<T>[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private failure: Error | undefined;
  private dropped = 0;
  private lastDataMs: number | undefined;
  private lastActivityMs: number;
  private lastStaleMs: number | undefined;
  private readonly onAbort = () => this.close();

  constructor(private readonly options: SubscriberQueueOptions) {
    this.lastActivityMs = options.now();
    if (options.signal.aborted) this.closed = true;
    else options.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(event: FeedEvent<T>): void {
    if (this.closed) return;
    if (event.type === "data") this.lastDataMs = this.options.now();
    const last = this.queue.length - 1;
    if (this.options.conflate && event.type === "data" && last >= 0 && this.queue[last]!.type === "data") this.queue[last] = event;
    else this.queue.push(event);
    if (this.queue.length > this.options.maxQueued) this.shed();
    this.wake?.();
  }

  /** Ends the consumer's iteration; with an error, the iteration throws it. */
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = error;
    this.options.signal.removeEventListener("abort", this.onAbort);
    this.wake?.();
    this.options.onClose();
  }

  private shed(): void {
    // Keep statuses (they are few and matter), drop the oldest data. Shed a tenth more than needed so a
    // consumer that stays behind costs one pass per maxQueued/10 events, not one per event.
    const excess = this.queue.length - this.options.maxQueued + Math.floor(this.options.maxQueued / 10);
    let removed = 0;
    this.queue = this.queue.filter((e) => {
      if (removed < excess && e.type === "data") {
        removed++;
        return false;
      }
      return true;
    });
    this.dropped += removed;
  }

  private takeBatch(): FeedEvent<T>[] {
    const batch = this.queue;
    this.queue = [];
    if (this.dropped > 0) {
      const status: FeedStatus = { kind: "gap", atMs: this.options.now(), message: `consumer fell behind: ${this.dropped} events dropped` };
      batch.unshift({ type: "status", status });
      this.dropped = 0;
    }
    this.lastActivityMs = this.options.now();
    return batch;
  }

  private idleEvent(): FeedEvent<T> {
    const now = this.options.now();
    this.lastActivityMs = now;
    const { staleAfterMs } = this.options;
    const since = now - (this.lastDataMs ?? this.lastActivityMs);
    if (staleAfterMs > 0 && this.lastDataMs !== undefined && since >= staleAfterMs && (this.lastStaleMs === undefined || now - this.lastStaleMs >= staleAfterMs)) {
      this.lastStaleMs = now;
      return { type: "status", status: { kind: "stale", atMs: now, message: `no data for ${Math.round(since / 1000)} s`, sinceLastDataMs: since } };
    }
    return { type: "heartbeat", atMs: now, lastDataMs: this.lastDataMs };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<FeedEvent<T>[]> {
    try {
      for (;;) {
        if (this.queue.length > 0 || this.dropped > 0) {
          yield this.takeBatch();
          continue;
        }
        if (this.closed) break;
        const idleFor = this.options.now() - this.lastActivityMs;
        const wait = Math.max(0, this.options.heartbeatMs - idleFor);
        const woke = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), wait);
          this.wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        this.wake = undefined;
        if (!woke && !this.closed && this.queue.length === 0) yield [this.idleEvent()];
      }
      if (this.failure !== undefined) throw this.failure;
    } finally {
      this.close();
    }
  }
}
