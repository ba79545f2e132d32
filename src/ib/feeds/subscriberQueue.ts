import type { FeedEvent } from "./feedEvents.js";

/**
 * What happens when a consumer has `maxQueued` events waiting (it reads slower than the feed delivers):
 * - "latest": every data event is a complete state (L1): queued data collapses to the newest one.
 * - "snapshot": data events are deltas of a state (depth): queued data is replaced by `snapshot()`,
 *   the current state, which includes everything dropped.
 * - "fail": every event matters (trades, candles, account): the consumer's stream ends with
 *   ConsumerTooSlowError rather than a silent hole or unbounded memory.
 */
export type OverflowPolicy = "latest" | "snapshot" | "fail";

/** What a queue did to keep a slow consumer bounded (for metrics). */
export type ShedKind = "conflated" | "snapshot" | "overflow";

export interface SubscriberQueueOptions<T> {
  /** Events kept for a consumer that falls behind; reaching it applies `overflow`. */
  maxQueued: number;
  overflow: OverflowPolicy;
  /** For "snapshot": the current state as data events, replacing the queued deltas. */
  snapshot?: () => FeedEvent<T>[];
  /** Idle time after which a heartbeat is delivered. */
  heartbeatMs: number;
  /** No data for this long → one "stale" status (repeated after each further period). 0 = never. */
  staleAfterMs: number;
  signal: AbortSignal;
  now: () => number;
  /** Called once when the consumer goes away (abort, error or end). */
  onClose: () => void;
  /** Whether other consumers read the same events (so per-event work is worth keeping on them). */
  isShared?: () => boolean;
  /** "fail": called with the error once the consumer is closed for falling behind. */
  onOverflow?: (error: ConsumerTooSlowError) => void;
  /** Called when data events are discarded to bound the queue: how, and how many. */
  onShed?: (kind: ShedKind, events: number) => void;
}

/** A consumer fell `maxQueued` events behind a stream where every event matters. */
export class ConsumerTooSlowError extends Error {
  constructor(readonly maxQueued: number) {
    super(`the client fell ${maxQueued} events behind this stream and was disconnected: read faster or resubscribe`);
    this.name = "ConsumerTooSlowError";
  }
}

/**
 * One consumer's view of a shared feed, as an async iterable of batches: every event queued since the
 * last read comes out in one batch, so a consumer that keeps up gets one event per batch (no added
 * latency) and one that falls behind catches up in a few large batches (throughput rises with load
 * instead of latency). A slow consumer never slows the feed or the other consumers, and its memory is
 * bounded by `maxQueued` events: see OverflowPolicy for what happens there — never silently.
 */
export class SubscriberQueue<T> implements AsyncIterable<FeedEvent<T>[]> {
  /** Data events currently queued (statuses are few and never shed). */
  private queuedData = 0;
  private queue: FeedEvent<T>[] = [];
  /** Resolves the iterator's wait: true = woken by an event (or close), false = idle for heartbeatMs. */
  private resolveWait: ((woke: boolean) => void) | undefined;
  /** One timer per consumer, re-armed per wait (not one new timer per message: this runs per tick). */
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: Error | undefined;
    private lastDataMs: number | undefined;
  private lastActivityMs: number;
  private lastStaleMs: number | undefined;
  private readonly onAbort = () => this.close();

  constructor(private readonly options: SubscriberQueueOptions<T>) {
    this.lastActivityMs = options.now();
    if (options.signal.aborted) this.closed = true;
    else options.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  get isShared(): boolean {
    return this.options.isShared?.() ?? false;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(event: FeedEvent<T>): void {
    if (this.closed) return;
    if (event.type === "data") {
      this.lastDataMs = this.options.now();
      if (this.queuedData >= this.options.maxQueued && !this.shed()) return;
      this.queuedData++;
    }
    this.queue.push(event);
    this.settle(true);
  }

  /** Ends the consumer's iteration; with an error, the iteration throws it. */
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = error;
    this.options.signal.removeEventListener("abort", this.onAbort);
    clearTimeout(this.idleTimer);
    this.settle(true);
    this.options.onClose();
  }

  /** Bounds the queue per the overflow policy; whether the incoming data event is still to be queued. */
  private shed(): boolean {
    const { overflow, onShed } = this.options;
    if (overflow === "fail") {
      onShed?.("overflow", this.queuedData);
      this.queue = [];
      this.queuedData = 0;
      const error = new ConsumerTooSlowError(this.options.maxQueued);
      this.close(error);
      this.options.onOverflow?.(error);
      return false;
    }
    const statuses = this.queue.filter((e) => e.type !== "data");
    // "latest": the event being pushed is the newest state and replaces all queued ones.
    const kept = overflow === "snapshot" ? (this.options.snapshot?.() ?? []) : [];
    onShed?.(overflow === "snapshot" ? "snapshot" : "conflated", this.queuedData);
    this.queue = [...statuses, ...kept];
    this.queuedData = kept.length;
    // A snapshot is taken after the incoming delta was applied, so it already contains it.
    if (overflow === "snapshot") this.settle(true);
    return overflow === "latest";
  }

  private settle(woke: boolean): void {
    const resolve = this.resolveWait;
    if (resolve === undefined) return;
    this.resolveWait = undefined;
    resolve(woke);
  }

  private takeBatch(): FeedEvent<T>[] {
    const batch = this.queue;
    this.queue = [];
    this.queuedData = 0;
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
        if (this.queue.length > 0) {
          yield this.takeBatch();
          continue;
        }
        if (this.closed) break;
        const woke = await new Promise<boolean>((resolve) => {
          this.resolveWait = resolve;
          if (this.idleTimer === undefined) this.idleTimer = setTimeout(() => this.settle(false), this.options.heartbeatMs);
          else this.idleTimer.refresh();
        });
        if (!woke && !this.closed && this.queue.length === 0) yield [this.idleEvent()];
      }
      if (this.failure !== undefined) throw this.failure;
    } finally {
      this.close();
    }
  }
}
