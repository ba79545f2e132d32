/**
 * What happens when a consumer has `maxQueued` events waiting (it reads slower than the feed delivers):
 * - "latest": every data event is a complete state (L1): queued data collapses to the newest one.
 * - "snapshot": data events are deltas of a state (depth, account): queued data is replaced by the feed's
 *   current state, which includes everything dropped.
 * - "fail": every event matters (trades, candles): the consumer's stream ends with
 *   ConsumerTooSlowError rather than a silent hole or unbounded memory.
 */
export type OverflowPolicy = "latest" | "snapshot" | "fail";

/** What a cursor did to keep a slow consumer bounded (for metrics). */
export type ShedKind = "conflated" | "snapshot" | "overflow";

/** A consumer fell `maxQueued` events behind a stream where every event matters. */
export class ConsumerTooSlowError extends Error {
  constructor(readonly maxQueued: number) {
    super(`the client fell ${maxQueued} events behind this stream and was disconnected: read faster or resubscribe`);
    this.name = "ConsumerTooSlowError";
  }
}
