import type { ServiceError } from "@grpc/grpc-js";
import type { StreamStatus } from "../../gen/ibprovider/v1/types.js";

/**
 * What a resumable stream yields: the service's events (data, status, heartbeat) unchanged, plus what the
 * client saw happen to the stream: gaps and reconnects.
 */
export type StreamItem<E> = StreamEventItem<E> | StreamGap | StreamReconnecting;

/** One event as the service sent it. */
export interface StreamEventItem<E> {
  kind: "event";
  event: E;
  /** The feed's sequence number (data events of market data streams), undefined on statuses and heartbeats. */
  sequence: bigint | undefined;
}

/**
 * Events may be missing between the previous data event and the next one. Never glue data across a gap:
 * rebuild state (an order book snapshot follows; fetch candles or trades with GetCandles / GetTrades).
 */
export interface StreamGap {
  kind: "gap";
  /**
   * - `sequence`: the feed's sequence jumped (over a reconnect, or conflated ticks): `missed` is exact.
   * - `restarted`: after a reconnect the feed's numbers started over (the service re-created the IB
   *   subscription): how much was missed is unknown.
   * - `server`: the service reported a GAP status (its Gateway reconnected): unknown.
   * - `reconnected`: a stream without sequence numbers (accounts) was re-opened: unknown.
   */
  cause: "sequence" | "restarted" | "server" | "reconnected";
  /** Number of data events missed, when known. */
  missed: bigint | undefined;
  /** Sequence of the last data event before the gap, if any. */
  lastSequence: bigint | undefined;
  /** Sequence of the first data event after the gap, if known. */
  nextSequence: bigint | undefined;
  /** The service's GAP status, for cause `server`. */
  status: StreamStatus | undefined;
}

/** The stream failed with a retryable error; it is re-opened after `delayMs`. */
export interface StreamReconnecting {
  kind: "reconnecting";
  /** Consecutive failed attempts so far (1 on the first retry; back to 1 after data flowed again). */
  attempt: number;
  delayMs: number;
  error: ServiceError;
}
