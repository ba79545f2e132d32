import type { Duration } from "../../gen/google/protobuf/duration.js";
import type { Timestamp } from "../../gen/google/protobuf/timestamp.js";

/** Epoch milliseconds → google.protobuf.Timestamp (int64 seconds as a string: ts-proto forceLong=string). */
export function timestampFromMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function timestampToMs(ts: Timestamp): number {
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

export function durationFromMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
