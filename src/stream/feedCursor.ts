import type { FeedEvent, FeedStatus } from "./feedEvents.js";
import type { EventLog } from "./eventLog.js";
import { ConsumerTooSlowError, type OverflowPolicy, type ShedKind } from "./overflowPolicy.js";

export { ConsumerTooSlowError, type OverflowPolicy, type ShedKind } from "./overflowPolicy.js";

export interface FeedCursorOptions<T> {
  /** The feed's events, shared by its consumers; this consumer reads from its own cursor. */
  log: EventLog<T>;
  /** How far behind the feed this consumer may fall (events); beyond it `overflow` applies. */
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
  /** "fail": called with the error once the consumer is closed for falling behind (see checkOverflow). */
  onOverflow?: (error: ConsumerTooSlowError) => void;
  /** Called when data events are discarded to bound the queue: how, and how many. */
  onShed?: (kind: ShedKind, events: number) => void;
  /**
   * The data this consumer wants (e.g. complete candles only, one market's positions); the rest is
   * skipped here, so that a consumer of a busy feed none of whose data it wants still hears heartbeats.
   */
  accepts?: (value: T) => boolean;
  /** What the feed is waiting for, if anything (said in "stale" statuses instead of a bare "no data"). */
  waiting?: () => FeedWait | undefined;
  /**
   * Starts detached (a replaying consumer): it holds no events and cannot overflow, its position follows
   * the log's end, until `attach()` makes it read from the log's end at that moment.
   */
  detached?: boolean;
  /** A holder (ConsumerOptions.hold): after its first batch (the join) it reads nothing more until closed. */
  holdOnly?: boolean;
}

/** What a consumer of a feed reads: batches of events (a live cursor, or a replay then a live cursor). */
export interface FeedConsumer<T> extends AsyncIterable<FeedEvent<T>[]> {
  /** Whether other consumers read the same events (so per-event work is worth keeping on them). */
  readonly isShared: boolean;
  readonly isClosed: boolean;
}

/** Why a feed delivers nothing yet (see the "waiting" status). */
export interface FeedWait {
  message: string;
  untilMs: number | undefined;
}

/**
 * One consumer's view of a shared feed, as an async iterable of batches: every event appended to the
 * feed's log since the last read comes out in one batch, so a consumer that keeps up gets each event at
 * once and one that falls behind catches up in a few large batches (throughput rises with load instead
 * of latency). A slow consumer never slows the feed or the other consumers; it holds no events of its
 * own (the log keeps them once for everybody) and may fall at most `maxQueued` events behind: see
 * OverflowPolicy for what happens there — never silently. Events only this consumer gets (its
 * "subscribed" status, the state it joins with, heartbeats) are pushed to it directly. The cursor is the
 * one producer of heartbeats and "stale" statuses: a consumer that has been delivered nothing for
 * `heartbeatMs` hears one, whether its feed is idle or busy with data it does not want.
 */
export class FeedCursor<T> implements FeedConsumer<T> {
  /** The next log index this consumer reads. */
  private cursor: number;
  /** Events for this consumer only, delivered before the log's (they are pushed when it is at the end). */
  private own: FeedEvent<T>[] = [];
  /** Resolves the iterator's wait: true = woken by an event (or close), false = idle for heartbeatMs. */
  private resolveWait: ((woke: boolean) => void) | undefined;
  /** One timer per consumer, re-armed per wait (not one new timer per message: this runs per tick). */
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: Error | undefined;
  /** Once closed: the log index it reads up to (what was there when it closed). */
  private limit = Number.POSITIVE_INFINITY;
  private lastActivityMs: number;
  private lastStaleMs: number | undefined;
  /** For a consumer that skips data (accepts): when it was last delivered data, for its heartbeats. */
  private lastDeliveredDataMs: number | undefined;
  private detached: boolean;
  /** Resolves a holder's wait for its close. */
  private resolveClosed: (() => void) | undefined;
  private readonly onAbort = () => this.close();
  private readonly wake = () => this.settle(true);

  constructor(private readonly options: FeedCursorOptions<T>) {
    this.cursor = options.log.end;
    this.detached = options.detached ?? false;
    this.lastActivityMs = options.now();
    if (options.signal.aborted) {
      this.closed = true;
      this.limit = this.cursor;
    }
    else options.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  get isShared(): boolean {
    return this.options.isShared?.() ?? false;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The log index this consumer reads next (the feed frees what every consumer has read). */
  get position(): number {
    return this.detached ? this.options.log.end : this.cursor;
  }

  /** A detached consumer starts reading: from the log's end now (its replay has delivered everything before). */
  attach(): void {
    if (!this.detached) return;
    this.detached = false;
    this.cursor = this.options.log.end;
    if (this.closed) this.limit = this.cursor;
  }

  /** An event for this consumer only. */
  push(event: FeedEvent<T>): void {
    if (this.closed) return;
    this.own.push(event);
    this.settle(true);
  }

  /** Ends the consumer's iteration; with an error, the iteration throws it (after what it can still read). */
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = error;
    this.limit = this.options.log.end;
    if (this.detached) this.cursor = this.limit;
    // Ending with an error, it still reads what came before it: keep those events with this consumer, so
    // the feed freeing (or overwriting) its log cannot take them away.
    if (error !== undefined && !(error instanceof ConsumerTooSlowError) && this.cursor < this.limit && !this.overflowed) {
      this.own.push(...this.options.log.read(this.cursor, this.limit));
      this.cursor = this.limit;
    }
    this.options.signal.removeEventListener("abort", this.onAbort);
    this.options.log.cancelWake(this.wake);
    clearTimeout(this.idleTimer);
    this.settle(true);
    this.resolveClosed?.();
    this.options.onClose();
  }

  private get overflowed(): boolean {
    return this.cursor < this.end && this.cursor < Math.max(this.options.log.start, this.end - this.options.maxQueued);
  }

  /**
   * Applies the "fail" policy as soon as the consumer is too far behind, not at its next read: a client
   * that stopped reading is usually not going to read again. (The feed calls this now and then.)
   */
  checkOverflow(): void {
    if (this.closed || this.detached || this.options.overflow !== "fail" || !this.overflowed) return; // closed: its end is set
    this.failTooSlow();
  }

  private failTooSlow(): void {
    const error = new ConsumerTooSlowError(this.options.maxQueued);
    this.options.onShed?.("overflow", this.end - this.cursor);
    this.cursor = this.end;
    this.own = [];
    this.close(error);
    this.options.onOverflow?.(error);
  }

  /** Where reading stops: the log's end, or where it was when this consumer closed. */
  private get end(): number {
    return Math.min(this.options.log.end, this.limit);
  }

  private get hasPending(): boolean {
    return this.own.length > 0 || this.cursor < this.end;
  }

  private takeBatch(): FeedEvent<T>[] {
    const { log, overflow, onShed } = this.options;
    let batch: FeedEvent<T>[];
    if (this.overflowed) {
      if (overflow === "fail") {
        this.failTooSlow();
        return [];
      }
      // Skip to the end: the statuses in between still count, in order; the data is replaced by the
      // newest state (in its place among the statuses) or by a snapshot of the current state (after them).
      const skipped = this.end - this.cursor;
      const kept = overflow === "latest" ? log.conflated(this.cursor, this.end) : [...log.statusesSince(this.cursor, this.end), ...(this.options.snapshot?.() ?? [])];
      const keptData = kept.filter((e) => e.type === "data").length;
      const statuses = kept.length - keptData;
      onShed?.(overflow === "snapshot" ? "snapshot" : "conflated", skipped - statuses - (overflow === "latest" ? keptData : 0));
      batch = [...this.own, ...kept];
    } else {
      batch = this.own.length === 0 ? log.read(this.cursor, this.end) : [...this.own, ...log.read(this.cursor, this.end)];
    }
    this.cursor = this.end;
    this.own = [];
    const { accepts } = this.options;
    return accepts === undefined ? batch : batch.filter((e) => e.type !== "data" || accepts(e.value));
  }

  private idleEvent(): FeedEvent<T> {
    const now = this.options.now();
    this.lastActivityMs = now;
    const { staleAfterMs } = this.options;
    // Staleness is the feed's (no data at all); a heartbeat's last data time is this consumer's data.
    const lastDataMs = this.options.log.lastDataAtMs;
    const since = now - (lastDataMs ?? this.lastActivityMs);
    if (staleAfterMs > 0 && lastDataMs !== undefined && since >= staleAfterMs && (this.lastStaleMs === undefined || now - this.lastStaleMs >= staleAfterMs)) {
      this.lastStaleMs = now;
      const wait = this.options.waiting?.();
      const message = `no data for ${Math.round(since / 1000)} s${wait === undefined ? "" : `: ${wait.message}`}`;
      const status: FeedStatus = { kind: "stale", atMs: now, message, sinceLastDataMs: since };
      if (wait?.untilMs !== undefined) status.untilMs = wait.untilMs;
      return { type: "status", status };
    }
    return { type: "heartbeat", atMs: now, lastDataMs: this.options.accepts === undefined ? lastDataMs : this.lastDeliveredDataMs };
  }

  private settle(woke: boolean): void {
    const resolve = this.resolveWait;
    if (resolve === undefined) return;
    this.resolveWait = undefined;
    resolve(woke);
  }

  /** A holder past its join: detached (nothing held, no overflow) until closed; then its failure, if any. */
  private async *hold(): AsyncGenerator<FeedEvent<T>[]> {
    // Its own events only (the join): what the feed appended since is after the join, read elsewhere.
    const { accepts } = this.options;
    const join = accepts === undefined ? this.own : this.own.filter((e) => e.type !== "data" || accepts(e.value));
    this.own = [];
    this.detached = true;
    if (join.length > 0) yield join;
    if (!this.closed) await new Promise<void>((resolve) => (this.resolveClosed = resolve));
    if (this.failure !== undefined && !(this.failure instanceof ConsumerTooSlowError)) throw this.failure;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<FeedEvent<T>[]> {
    try {
      if (this.options.holdOnly === true) {
        yield* this.hold();
        return;
      }
      for (;;) {
        if (this.hasPending) {
          const batch = this.takeBatch();
          const now = this.options.now();
          if (batch.length > 0) {
            this.lastActivityMs = now;
            if (this.options.accepts !== undefined && batch.some((e) => e.type === "data")) this.lastDeliveredDataMs = now;
            yield batch;
          } else if (!this.closed && now - this.lastActivityMs >= this.options.heartbeatMs) yield [this.idleEvent()];
          continue;
        }
        if (this.closed) break;
        const woke = await new Promise<boolean>((resolve) => {
          this.resolveWait = resolve;
          this.options.log.onAppend(this.wake);
          if (this.idleTimer === undefined) this.idleTimer = setTimeout(() => this.settle(false), this.options.heartbeatMs);
          else this.idleTimer.refresh();
        });
        this.options.log.cancelWake(this.wake);
        if (!woke && !this.closed && !this.hasPending) yield [this.idleEvent()];
      }
      if (this.failure !== undefined) throw this.failure;
    } finally {
      this.close();
    }
  }
}
