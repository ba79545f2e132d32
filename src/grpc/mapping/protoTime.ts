import type { Duration } from "../../../gen/google/protobuf/duration.js";
import type { Timestamp } from "../../../gen/google/protobuf/timestamp.js";

/** Epoch milliseconds → google.protobuf.Timestamp (int64 seconds as a string: ts-proto forceLong=string). */
export function timestampFromMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS = 253_402_300_799;

export function isValidTimestamp(ts: Timestamp): boolean {
  const seconds = Number(ts.seconds);
  return Number.isInteger(seconds) && seconds >= MIN_SECONDS && seconds <= MAX_SECONDS && ts.nanos >= 0 && ts.nanos < 1e9;
}

export function timestampToMs(ts: Timestamp): number {
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

export function durationFromMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
