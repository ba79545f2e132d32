import { expect } from "vitest";
import { StreamStatusKind, type StreamStatus } from "../../../gen/ibprovider/v1/types.js";
import type { Collector, StreamedEvent } from "./streamCollector.js";

// Reading a replayed stream (statuses, numbering, the switch to live) in the replay and resume tests.

export const statusOf = (e: StreamedEvent): StreamStatus | undefined => (e.event?.$case === "status" ? (e.event.value as StreamStatus) : undefined);

/** The sequences of data events, as numbers. */
export const seqs = (events: readonly StreamedEvent[]): number[] => events.map((e) => Number(e.sequence));

/** The epoch the stream's SUBSCRIBED status carries. */
export const epochOf = (c: Collector): string => c.events.map(statusOf).find((s) => s?.kind === StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED)!.epoch;

/** Where the first status of `kind` is in `events`; -1 when none came. */
export const statusAt = (events: readonly StreamedEvent[], kind: StreamStatusKind, from = 0): number => {
  const at = events.slice(from).findIndex((e) => statusOf(e)?.kind === kind);
  return at < 0 ? -1 : at + from;
};

export const replayCompleteAt = (c: Collector): number => statusAt(c.events, StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE);

/** Data events received after REPLAY_COMPLETE (0 before it). */
export function liveAfterReplay(c: Collector): number {
  const at = replayCompleteAt(c);
  return at < 0 ? 0 : c.events.slice(at).filter((e) => e.sequence !== "0").length;
}

/** Consecutive numbers with no repeat: what a replay then live must deliver. */
export function expectContiguous(numbers: number[]): void {
  expect(numbers.length).toBeGreaterThan(0);
  expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
}

/** Data events only (no status, no heartbeat). */
export const dataOf = (events: readonly StreamedEvent[]): StreamedEvent[] =>
  events.filter((e) => e.event !== undefined && e.event.$case !== "status" && e.event.$case !== "heartbeat");
