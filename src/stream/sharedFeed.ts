import type { FeedEvent, FeedStatus, FeedStatusKind } from "./feedEvents.js";
import { EventLog } from "./eventLog.js";
import { FeedCursor, type FeedConsumer, type FeedWait } from "./feedCursor.js";
import type { FeedRecorder } from "./feedRecorder.js";
import { ReplayCursor, type ReplayStart } from "./replayCursor.js";
import type { ShedKind } from "./overflowPolicy.js";
import { DEFAULT_STREAM_SETTINGS } from "./streamSettings.js";
import type { FeedSource, OpenFeed } from "./feedSource.js";
import { ReplayUnavailableError, type ConsumerOptions } from "./consumerOptions.js";

export interface SharedFeedHooks {
  now: () => number;
  onIdle: (feed: SharedFeed<unknown>) => void;
  /** Whether the source can be opened now. While not, feeds wait for the reconnect instead of queueing requests. */
  isConnected: () => boolean;
  /** Delay before a failed pinned (configured) feed is tried again. */
  retryPinnedMs?: number;
  /** A consumer's queue shed data to stay bounded. */
  onShed?: (kind: ShedKind, events: number) => void;
}

/** Appends between two upkeeps (overflow checks, freeing read events). */
const UPKEEP_EVERY = 256;

/** The kinds of data a feed can be delivering; connection states (gap, stale, ...) come and go around them. */
type DataKind = "live" | "delayed" | "frozen";
const DATA_KINDS: readonly FeedStatusKind[] = ["live", "delayed", "frozen"];

/**
 * One upstream subscription (at IB) shared by every consumer of the same (instrument, kind, parameters).
 * The first consumer opens it, later ones join (and get `joinEvents` first), the last one leaving cancels
 * it. While upstream is away nothing is sent (a request queued in the client library would be sent after
 * the reconnect with nobody left to cancel it); after a reconnect the feed is reopened transparently and
 * every consumer gets a "gap" status: data is never glued across a gap in silence.
 */
export class SharedFeed<T> {
  private readonly consumers = new Set<FeedCursor<T>>();
  private open: OpenFeed | undefined;
  private lastMessageMs: number | undefined;
  private state: FeedStatusKind = "subscribed";
  /** What the last "waiting" status said (while the state is "waiting"). */
  private wait: FeedWait | undefined;
  private dataKind: DataKind = "live";
  private failed = false;
  private pinned = false;
  private configured = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Counts openings and drops, so that an opening superseded while in progress is recognised. */
  private openings = 0;
  private seq: number;
  /** A reopen's GAP the source is to say (fillsGaps), said by the feed before data if the source does not. */
  private gapOwed: { message: string; ibCode: number | undefined } | undefined;
  /** The epoch of this feed's numbering: the journal's, or (nothing recorded) this instance's. */
  readonly epoch: number;
  private ended = false;
  /** Every event, once for all consumers (each reads it from its own position). */
  private readonly log = new EventLog<T>(DEFAULT_STREAM_SETTINGS.maxQueued);
  private appendsSinceUpkeep = 0;

  constructor(
    readonly key: string,
    private readonly source: FeedSource<T>,
    private readonly hooks: SharedFeedHooks,
    /** Records every event of this instance (numbering continues from the journal's); none: nothing is kept. */
    private readonly recorder?: FeedRecorder<T>,
  ) {
    this.seq = recorder?.lastSeq ?? 0;
    this.epoch = recorder?.epoch ?? hooks.now();
    recorder?.begin(hooks.now());
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  get lastMessageAt(): number | undefined {
    return this.lastMessageMs;
  }

  /** The last data event's sequence (0 before the first; numbering continues from the journal's). */
  get lastSequence(): number {
    return this.seq;
  }

  get currentState(): FeedStatusKind {
    return this.state;
  }

  /** While the state is "waiting": what for and until when. */
  get currentWait(): FeedWait | undefined {
    return this.state === "waiting" ? this.wait : undefined;
  }

  /** Whether the upstream subscription is requested now (not merely wanted: see OpenFeed.isRequested). */
  get isRequestedUpstream(): boolean {
    return this.open !== undefined && (this.open.isRequested?.() ?? true);
  }

  get isConfigured(): boolean {
    return this.configured;
  }

  get isPinned(): boolean {
    return this.pinned;
  }

  /** The latest data value of a running feed, if any. */
  latest(): T | undefined {
    return this.open === undefined ? undefined : this.source.latest?.();
  }

  /**
   * Keeps the feed open with no consumer: configured `active` subscriptions (configured = true), or data
   * worth keeping once asked for, such as the account (configured = false). A refusal (a line limit)
   * throws and leaves nothing pinned.
   */
  pin(configured: boolean): void {
    const was = { pinned: this.pinned, configured: this.configured };
    // Pinned before opening: a source that fails at once is retried like any pinned feed, not dropped.
    this.pinned = true;
    this.configured ||= configured;
    try {
      this.ensureOpen();
    } catch (err) {
      this.pinned = was.pinned;
      this.configured = was.configured;
      this.releaseIfIdle(); // nothing open, nobody consuming: leave no entry behind
      throw err;
    }
  }

  /**
   * A consumer of the feed. With `options.start`, it begins in the past (a ReplayCursor over this feed's
   * journal, then its live cursor); a start the journal cannot serve throws ReplayRangeError before
   * anything is opened or sent.
   */
  subscribe(options: ConsumerOptions<T> & { start: ReplayStart }): ReplayCursor<T>;
  subscribe(options: ConsumerOptions<T>): FeedCursor<T>;
  subscribe(options: ConsumerOptions<T>): FeedConsumer<T> {
    if (options.hold !== undefined && this.recorder === undefined) throw new ReplayUnavailableError(this.key);
    if (options.start === undefined || options.hold !== undefined) return this.subscribeLive(options);
    if (this.recorder === undefined) throw new ReplayUnavailableError(this.key);
    const recorder = this.recorder;
    // Planned before anything is opened: a start the journal cannot serve costs no IB request.
    const subscribed = this.subscribedStatus(this.open !== undefined);
    const feed = { recorder, seq: () => this.seq, now: this.hooks.now, accepts: options.accepts, state: () => this.joinState() };
    return new ReplayCursor(options.start, feed, subscribed, () => this.subscribeLive(options, true));
  }

  private subscribeLive(options: ConsumerOptions<T>, detached = false): FeedCursor<T> {
    const maxQueued = options.maxQueued ?? DEFAULT_STREAM_SETTINGS.maxQueued;
    this.log.ensureCapacity(maxQueued);
    const cursor: FeedCursor<T> = new FeedCursor<T>({
      log: this.log,
      maxQueued,
      overflow: this.source.overflow,
      snapshot: () => this.stateEvents(),
      // The recorder reads every event too: encodings are worth keeping for it (it then encodes nothing twice).
      isShared: () => this.consumers.size > 1 || this.recorder !== undefined,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_STREAM_SETTINGS.heartbeatMs,
      staleAfterMs: options.staleAfterMs ?? DEFAULT_STREAM_SETTINGS.staleAfterMs,
      signal: options.signal,
      now: this.hooks.now,
      onClose: () => {
        this.consumers.delete(cursor);
        this.releaseIfIdle();
      },
      ...(this.hooks.onShed === undefined ? {} : { onShed: this.hooks.onShed }),
      ...(options.onOverflow === undefined ? {} : { onOverflow: options.onOverflow }),
      ...(options.accepts === undefined ? {} : { accepts: options.accepts }),
      waiting: () => this.currentWait,
      detached,
      holdOnly: options.hold !== undefined,
    });
    if (cursor.isClosed) {
      this.releaseIfIdle(); // the caller left before the subscription started (e.g. during resolution)
      return cursor;
    }
    const joining = this.open !== undefined;
    this.consumers.add(cursor);
    if (detached) {
      // A replaying consumer hears the feed's state from its journal (the replay says "subscribed" itself).
      this.openFor(cursor);
      return cursor;
    }
    // Everything recorded so far is before this consumer's first live event: a holder's stream continues after it.
    options.hold?.({ key: this.key, symbol: this.recorder!.journal.symbol, epoch: this.epoch, after: this.recorder!.tail() });
    cursor.push(this.subscribedStatus(joining));
    if (joining) {
      const { data, trouble } = this.joinState();
      for (const event of [...data, ...this.stateEvents(), ...trouble]) cursor.push(event);
    } else if (!this.hooks.isConnected() || this.state === "reconnecting") {
      cursor.push(this.statusEvent("reconnecting", "the Gateway is not connected; subscribing when it is back"));
    }
    this.openFor(cursor);
    return cursor;
  }

  /**
   * What a joiner hears of the feed's state. A data kind (live, delayed, frozen) describes the data that
   * follows: `data`, said before it — the data kind unless plain live (delayed data must not pass for live).
   * A trouble state (stale, reconnecting, waiting, …) happened after it: `trouble`, said after the state.
   */
  private joinState(): { data: FeedEvent<T>[]; trouble: FeedEvent<T>[] } {
    const wait = this.currentWait;
    const current =
      this.state === "subscribed" ? undefined : wait !== undefined ? this.statusEvent("waiting", wait.message, undefined, wait.untilMs) : this.statusEvent(this.state, `the shared subscription is ${this.state}`);
    const describesData = DATA_KINDS.includes(this.state);
    const data = current !== undefined && describesData ? [current] : this.dataKind !== "live" ? [this.statusEvent(this.dataKind, `the shared subscription's data is ${this.dataKind}`)] : [];
    const trouble = current !== undefined && !describesData ? [current] : !this.hooks.isConnected() ? [this.statusEvent("reconnecting", "the Gateway is not connected; subscribing when it is back")] : [];
    return { data, trouble };
  }

  private subscribedStatus(joining: boolean): FeedEvent<T> {
    return this.statusEvent("subscribed", joining ? "joined the shared IB subscription" : "IB subscription opened");
  }

  /** Opens upstream for a new consumer (in place to receive what opening emits); a refusal (a line limit) closes it. */
  private openFor(cursor: FeedCursor<T>): void {
    try {
      this.ensureOpen();
    } catch (err) {
      cursor.close(); // nothing stays open
      throw err;
    }
  }

  /** The Gateway connection dropped: consumers hear it; the IB side is gone with the socket. */
  connectionLost(): void {
    clearTimeout(this.retryTimer);
    this.drop();
    this.announce("reconnecting", "Gateway connection lost; resubscribing when it is back");
  }

  /** Reopen at IB (after a reconnect, IB's 1101 "data lost" or a bust) and mark the gap. */
  reopen(message: string, ibCode?: number): void {
    clearTimeout(this.retryTimer);
    this.drop();
    if (this.consumers.size === 0 && !this.pinned) {
      this.end();
      this.hooks.onIdle(this as SharedFeed<unknown>);
      return;
    }
    if (this.source.fillsGaps === true) {
      this.state = "gap";
      this.gapOwed = { message, ibCode };
    } else this.announce("gap", message, ibCode);
    try {
      this.ensureOpen();
    } catch (err) {
      this.failWith(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Tell every consumer something about the data without touching the subscription. */
  announce(kind: FeedStatusKind, message: string, ibCode?: number, untilMs?: number): void {
    if (kind === "gap") this.gapOwed = undefined;
    if (DATA_KINDS.includes(kind)) this.dataKind = kind as DataKind;
    this.state = kind;
    this.broadcast(this.statusEvent(kind, message, ibCode, untilMs));
  }

  /** Data flows again as it did before (IB 1102): announce the data kind the feed had, not "live". */
  resume(message: string, ibCode?: number): void {
    if (this.open === undefined) return; // not subscribed at IB (waiting to retry): nothing resumed
    this.announce(this.dataKind, message, ibCode);
  }

  /** Ends the feed (service shutdown). */
  close(): void {
    clearTimeout(this.retryTimer);
    this.drop();
    for (const c of [...this.consumers]) c.close();
    this.end();
  }

  /** This instance is over (idle, failed, closed): its journal is closed; a later instance continues it. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.recorder?.close();
  }

  private ensureOpen(): void {
    if (this.open !== undefined || this.failed || !this.hooks.isConnected()) return;
    clearTimeout(this.retryTimer); // opened another way (a consumer, a reconnect): the retry is moot
    const generation = ++this.openings;
    const opened = this.source.open({
      data: (value) => {
        if (this.gapOwed !== undefined) this.announce("gap", this.gapOwed.message, this.gapOwed.ibCode);
        this.lastMessageMs = this.hooks.now();
        if (!DATA_KINDS.includes(this.state)) this.state = this.dataKind;
        this.append({ type: "data", value, seq: ++this.seq });
      },
      // A source's own GAP (fillsGaps) keeps the IB code of the reopen it answers (e.g. 1101).
      status: (kind, message, ibCode) => this.announce(kind, message, ibCode ?? (kind === "gap" ? this.gapOwed?.ibCode : undefined)),
      waiting: (message, untilMs) => {
        this.wait = { message, untilMs };
        this.announce("waiting", message, undefined, untilMs);
      },
      restart: (message, ibCode) => this.reopen(message, ibCode),
      fail: (error) => this.failWith(error),
    });
    // A source that failed or restarted while opening was dropped before it was recorded: close it here,
    // or its upstream line would stay taken.
    if (this.openings === generation && this.open === undefined) this.open = opened;
    else if (this.open !== opened) opened.close();
  }

  private failWith(error: Error): void {
    this.drop();
    for (const c of [...this.consumers]) c.close(error);
    if (this.pinned) {
      // A configured subscription must not vanish on a transient refusal (a limit after a reconnect,
      // pacing): it is retried, and the runtime status shows why it is not delivering meanwhile.
      this.state = "limit-exceeded";
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        // While the Gateway is away the reconnect reopens it; once open, there is nothing to retry.
        if (this.open === undefined && this.hooks.isConnected()) this.reopen(`retrying after: ${error.message}`);
      }, this.hooks.retryPinnedMs ?? 30_000);
      this.retryTimer.unref();
      return;
    }
    this.failed = true;
    this.end();
    this.hooks.onIdle(this as SharedFeed<unknown>);
  }

  private drop(): void {
    this.openings++; // an opening in progress is superseded
    const open = this.open;
    this.open = undefined;
    open?.close();
  }

  private releaseIfIdle(): void {
    if (this.consumers.size > 0 || this.pinned) return;
    this.drop();
    this.end();
    this.hooks.onIdle(this as SharedFeed<unknown>);
  }

  private broadcast(event: FeedEvent<T>): void {
    this.append(event);
  }

  private append(event: FeedEvent<T>): void {
    const now = this.hooks.now();
    this.log.append(event, now);
    if (this.recorder !== undefined && event.type !== "heartbeat" && event.type !== "recorded") this.recorder.record(event, now);
    if (++this.appendsSinceUpkeep >= UPKEEP_EVERY) this.upkeep();
  }

  /**
   * Now and then (not per event: that would cost one step per consumer per event): end consumers too far
   * behind a "fail" feed, and free the events every consumer has read.
   */
  private upkeep(): void {
    this.appendsSinceUpkeep = 0;
    let oldest = this.log.end;
    for (const c of [...this.consumers]) {
      c.checkOverflow();
      if (!c.isClosed && c.position < oldest) oldest = c.position;
    }
    this.log.release(oldest);
  }

  /** The source's current state as data events, numbered as of the last event they include. */
  private stateEvents(): FeedEvent<T>[] {
    return (this.source.joinEvents?.() ?? []).map((value) => ({ type: "data", value, seq: this.seq }));
  }

  private statusEvent(kind: FeedStatusKind, message: string, ibCode?: number, untilMs?: number): FeedEvent<T> {
    const status: FeedStatus = { kind, atMs: this.hooks.now(), message };
    if (kind === "subscribed") status.epoch = this.epoch;
    if (ibCode !== undefined) status.ibCode = ibCode;
    if (untilMs !== undefined) status.untilMs = untilMs;
    return { type: "status", status };
  }
}
