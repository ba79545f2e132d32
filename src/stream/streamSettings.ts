/**
 * How every stream behaves, whatever carries it: one object, fed by the environment (STREAM_* variables,
 * src/config/envConfig.ts) and passed down to the feeds (src/stream) and the transports (src/grpc).
 */
export interface StreamSettings {
  /** Events a consumer may fall behind its feed before its overflow policy applies (STREAM_BUFFER_EVENTS). */
  maxQueued: number;
  /** Idle time after which a consumer hears a heartbeat (STREAM_HEARTBEAT_MS). */
  heartbeatMs: number;
  /** No data for this long → one "stale" status, repeated after each further period; 0 = never. */
  staleAfterMs: number;
  /** How long a stream waits for a client that stopped reading before closing it (CLIENT_NOT_READING). */
  maxDrainWaitMs: number;
  /**
   * Bytes of a stream's messages not yet handed to the transport beyond which the stream waits. grpc-js
   * accepts 16 messages per call before write() says "wait" — 4 MiB per lagging stream with 256 KiB messages.
   */
  maxInFlightBytes: number;
}

export const DEFAULT_STREAM_SETTINGS: Readonly<StreamSettings> = Object.freeze({
  maxQueued: 10_000,
  heartbeatMs: 5_000,
  staleAfterMs: 30_000,
  maxDrainWaitMs: 60_000,
  maxInFlightBytes: 512 * 1024,
});
