import type { FeedEvent } from "./feedEvents.js";

/**
 * Where a consumer wants a feed's events to begin: right after the data event numbered `afterSeq` (a
 * client resuming with the last sequence it processed), or at the first event appended at or after `atMs`.
 */
export type FeedStart = { afterSeq: number } | { atMs: number };

/** The events of a feed from a start, as far as they are still held. */
export interface FeedReplay<T> {
  /** Oldest first, statuses in their places; ends with the newest event held. */
  events: FeedEvent<T>[];
  /** False when events between the start and the first of `events` are no longer held: a gap to report. */
  complete: boolean;
}

/**
 * The seam for replay: "the events of feed F from sequence N / time T". The in-memory event log
 * implements it for what it still holds; a durable store (and a bus consumer) will implement it for more.
 */
export interface FeedHistory<T> {
  eventsFrom(start: FeedStart): FeedReplay<T>;
}
