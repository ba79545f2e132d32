import type { ServiceError } from "@grpc/grpc-js";
import type { StreamStatus } from "../../gen/ibprovider/v1/types.js";

/**
 * What a resumable stream yields: the service's events (data, status, heartbeat) unchanged, plus what the
 * client saw happen to the stream: gaps and reconnects.
 */
export type StreamItem<E> = StreamEventItem<E> | StreamGap | StreamReconnecting;

/** One event as the service sent it (a replayed one too: after a resume, what was missed comes as ordinary events). */
export interface StreamEventItem<E> {
  kind: "event";
  event: E;
  /** The feed's sequence number (data events of market data and account streams), undefined on statuses and heartbeats. */
  sequence: bigint | undefined;
  /**
   * The epoch the data event's sequence belongs to (StreamStatus.epoch), undefined on statuses, heartbeats
   * and when the service sent none. With `sequence` it is where a later stream can resume:
   * `start: { afterSequence: sequence, epoch }`.
   */
  epoch?: bigint | undefined;
}

/**
 * Events may be missing between the previous data event and the next one. Never glue data across a gap:
 * rebuild state (an order book snapshot follows; fetch candles or trades with GetCandles / GetTrades).
 * A dropped connection is not a gap when the service still holds what was missed: the stream resumes
 * after the last event it yielded and yields the missed events as ordinary events.
 */
export interface StreamGap {
  kind: "gap";
  /**
   * - `sequence`: jumped: the feed's sequence skipped numbers within one epoch (L1 ticks and book updates
   *   conflated for a slow reader, events a resume could not replay): `missed` is exact.
   * - `restarted`: the feed's numbering began a new epoch (the service stopped without saving its last
   *   events, or runs without a store and re-created the feed): how much was missed is unknown.
   *   `previousEpoch` and `epoch` say which.
   * - `server`: the service reported a GAP status (its Gateway reconnected, or a resume it cannot serve
   *   exactly: `status.message` says why), or a replay crossed a time the feed was not subscribed (a
   *   SUBSCRIBED status within the stream: "subscribed again after N: nothing was recorded in between"): unknown.
   * - `reconnected`: a stream without sequence numbers was re-opened: unknown.
   */
  cause: "sequence" | "restarted" | "server" | "reconnected";
  /** Number of data events missed, when known. */
  missed: bigint | undefined;
  /** Sequence of the last data event before the gap, if any. */
  lastSequence: bigint | undefined;
  /** Sequence of the first data event after the gap, if known. */
  nextSequence: bigint | undefined;
  /** The service's status (GAP, or SUBSCRIBED within a replay), for cause `server`. */
  status: StreamStatus | undefined;
  /** For `restarted`: the epoch of the data before the gap. */
  previousEpoch?: bigint | undefined;
  /** For `restarted`: the epoch of the data after the gap. */
  epoch?: bigint | undefined;
  /** What happened, for a log line: "jumped: 3 missed (2 → 6)", "restarted: new epoch 9 (was 7)", the server's message. */
  message?: string;
}

/** The stream failed with a retryable error; it is re-opened after `delayMs` (resuming after its last data event). */
export interface StreamReconnecting {
  kind: "reconnecting";
  /** Consecutive failed attempts so far (1 on the first retry; back to 1 after data flowed again). */
  attempt: number;
  delayMs: number;
  error: ServiceError;
}
