import type { FeedStatusKind } from "./feedEvents.js";
import type { OverflowPolicy } from "./overflowPolicy.js";

/**
 * Where a feed's data comes from (an IB subscription in src/ib): open one
 * upstream subscription, deliver through `sink`, cancel on close.
 */
export interface FeedSource<T> {
  open(sink: FeedSink<T>): OpenFeed;
  /** The current state as data, for a consumer joining a running feed or one too far behind (e.g. the book). */
  joinEvents?(): T[];
  /** The latest data value, if any (peeked by other feeds, e.g. the quote for trade sides). */
  latest?(): T | undefined;
  /** What a consumer `maxQueued` events behind gets (see OverflowPolicy); "snapshot" needs joinEvents. */
  readonly overflow: OverflowPolicy;
  /**
   * Reopened after an outage, the source fills the missed window itself (from IB's history) and says the
   * "gap" status — what it filled and what it could not — before its first data. The feed then holds its
   * own GAP back; should data come first anyway, the feed's GAP goes before it (never data glued in silence).
   */
  readonly fillsGaps?: boolean;
}

export interface OpenFeed {
  /** Cancels the upstream subscription (at IB: cancelMktData etc.) and stops routing its messages. */
  close(): void;
  /**
   * Whether the upstream request has actually been sent (default: once opened). A source that holds its
   * request back (IB's pacing, a settling connection) says false meanwhile, and says why with `waiting`.
   */
  isRequested?(): boolean;
}

export interface FeedSink<T> {
  data(value: T): void;
  status(kind: FeedStatusKind, message: string, ibCode?: number): void;
  /** The upstream request is held back: what for (`message`) and until when, if known. */
  waiting(message: string, untilMs: number | undefined): void;
  /** Upstream dropped the subscription but it can be requested again (IB: bust 10225, an unrecoverable book). */
  restart(message: string, ibCode?: number): void;
  /** A terminal error: every consumer's stream ends with it. */
  fail(error: Error): void;
}
