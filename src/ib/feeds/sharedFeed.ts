import type { IbError } from "../ibErrors.js";
import type { FeedEvent, FeedStatus, FeedStatusKind } from "./feedEvents.js";
import { SubscriberQueue } from "./subscriberQueue.js";

/** How a feed kind talks to IB: open one IB subscription, deliver through `sink`, cancel on close. */
export interface FeedSource<T> {
  open(sink: FeedSink<T>): OpenFeed;
  /** Events a consumer joining a running feed gets first (e.g. the current book snapshot). */
  joinEvents?(): FeedEvent<T>[];
}

export interface OpenFeed {
  /** Cancels the IB subscription (cancelMktData etc.) and stops routing its messages. */
  close(): void;
}

export interface FeedSink<T> {
  data(value: T): void;
  status(kind: FeedStatusKind, message: string, ibCode?: number): void;
  /** A terminal IB error: every consumer's stream ends with it. */
  fail(error: IbError): void;
}

export interface ConsumerOptions {
  signal: AbortSignal;
  maxQueued?: number;
  heartbeatMs?: number;
  staleAfterMs?: number;
}

/**
 * One IB subscription shared by every consumer of the same (instrument, kind, parameters). The first
 * consumer opens it at IB, later ones join (and get `joinEvents` first), the last one leaving cancels it.
 * After a reconnect it is reopened transparently and every consumer gets a "gap" status: data is never
 * glued across a gap in silence.
 */
export class SharedFeed<T> {
  private readonly consumers = new Set<SubscriberQueue<T>>();
  private open: OpenFeed | undefined;
  private lastMessageMs: number | undefined;
  private state: FeedStatusKind = "subscribed";
  private failed = false;
  private pinned = false;
  private configured = false;

  constructor(
    readonly key: string,
    private readonly source: FeedSource<T>,
    private readonly hooks: { now: () => number; onIdle: (feed: SharedFeed<T>) => void },
  ) {}

  get consumerCount(): number {
    return this.consumers.size;
  }

  get lastMessageAt(): number | undefined {
    return this.lastMessageMs;
  }

  /** The latest data value the feed's source would give a joining consumer, if any. */
  latest(): T | undefined {
    const events = this.open === undefined ? [] : (this.source.joinEvents?.() ?? []);
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!;
      if (e.type === "data") return e.value;
    }
    return undefined;
  }

  get currentState(): FeedStatusKind {
    return this.state;
  }

  get isConfigured(): boolean {
    return this.configured;
  }

  get isPinned(): boolean {
    return this.pinned;
  }

  /**
   * Keeps the feed open with no consumer: configured `active` subscriptions (configured = true), or data
   * worth keeping once asked for, such as the account (configured = false).
   */
  pin(configured: boolean): void {
    this.pinned = true;
    this.configured ||= configured;
    this.ensureOpen();
  }

  subscribe(options: ConsumerOptions): SubscriberQueue<T> {
    const queue: SubscriberQueue<T> = new SubscriberQueue<T>({
      maxQueued: options.maxQueued ?? 10_000,
      heartbeatMs: options.heartbeatMs ?? 5_000,
      staleAfterMs: options.staleAfterMs ?? 0,
      signal: options.signal,
      now: this.hooks.now,
      onClose: () => {
        this.consumers.delete(queue);
        this.releaseIfIdle();
      },
    });
    if (queue.isClosed) return queue;
    const joining = this.open !== undefined;
    this.consumers.add(queue);
    queue.push(this.statusEvent("subscribed", joining ? "joined the shared IB subscription" : "IB subscription opened"));
    if (joining) for (const event of this.source.joinEvents?.() ?? []) queue.push(event);
    try {
      this.ensureOpen(); // the first consumer is in place to receive what opening emits
    } catch (err) {
      queue.close(); // a line limit refused it: nothing stays open
      throw err;
    }
    return queue;
  }

  /** The Gateway connection dropped: consumers hear it; the IB side is gone with the socket. */
  connectionLost(): void {
    this.drop();
    this.broadcast(this.statusEvent("reconnecting", "Gateway connection lost; resubscribing when it is back"));
  }

  /** Reopen at IB (after a reconnect or IB's 1101 "data lost") and mark the gap. */
  reopen(message: string): void {
    this.drop();
    if (this.consumers.size === 0 && !this.pinned) return;
    this.broadcast(this.statusEvent("gap", message));
    try {
      this.ensureOpen();
    } catch (err) {
      this.failed = true;
      for (const c of [...this.consumers]) c.close(err instanceof Error ? err : new Error(String(err)));
      this.hooks.onIdle(this);
    }
  }

  /** Tell every consumer something about the data without touching the subscription. */
  announce(kind: FeedStatusKind, message: string, ibCode?: number): void {
    this.state = kind;
    this.broadcast(this.statusEvent(kind, message, ibCode));
  }

  /** Ends the feed (service shutdown). */
  close(): void {
    this.drop();
    for (const c of [...this.consumers]) c.close();
  }

  private ensureOpen(): void {
    if (this.open !== undefined || this.failed) return;
    this.open = this.source.open({
      data: (value) => {
        this.lastMessageMs = this.hooks.now();
        if (this.state === "subscribed" || this.state === "gap" || this.state === "stale") this.state = "live";
        const event: FeedEvent<T> = { type: "data", value };
        for (const c of this.consumers) c.push(event);
      },
      status: (kind, message, ibCode) => this.announce(kind, message, ibCode),
      fail: (error) => {
        this.failed = true;
        this.drop();
        for (const c of [...this.consumers]) c.close(error);
        this.hooks.onIdle(this);
      },
    });
  }

  private drop(): void {
    const open = this.open;
    this.open = undefined;
    open?.close();
  }

  private releaseIfIdle(): void {
    if (this.consumers.size > 0 || this.pinned) return;
    this.drop();
    this.hooks.onIdle(this);
  }

  private broadcast(event: FeedEvent<T>): void {
    for (const c of this.consumers) c.push(event);
  }

  private statusEvent(kind: FeedStatusKind, message: string, ibCode?: number): FeedEvent<T> {
    const status: FeedStatus = { kind, atMs: this.hooks.now(), message };
    if (ibCode !== undefined) status.ibCode = ibCode;
    return { type: "status", status };
  }
}
