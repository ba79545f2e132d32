import type { FeedEvent } from "./feedEvents.js";

/** Statuses kept apart from the window, so that a consumer skipped ahead still hears of them. */
const KEPT_STATUSES = 256;

/**
 * The events of one shared feed, kept once for all of its consumers: each consumer reads from its own
 * cursor. Appending is O(1) whatever the number of consumers (a per-consumer queue costs one push per
 * consumer per event: 500 consumers of a busy feed spent a quarter of the service's CPU on it), and a
 * consumer that keeps up reads the very events the others read.
 *
 * Indices are absolute (the feed's n-th event); the log keeps a window of the latest `capacity` events,
 * freeing earlier ones once every consumer has read them (`release`). A consumer that falls further
 * behind than the window has overflowed (see the overflow policies). The past beyond the window is the
 * feed's journal's (feedJournal.ts; replayCursor.ts reads it).
 */
export class EventLog<T> {
  private ring: (FeedEvent<T> | undefined)[];
  private endIndex = 0;
  private releasedUpTo = 0;
  /** Events before this were never in the current window (it grew): they are not readable. */
  private floor = 0;
  private readonly statuses: { index: number; event: FeedEvent<T> }[] = [];
  private lastData: { index: number; event: FeedEvent<T> } | undefined;
  private lastDataMs: number | undefined;
  private readonly wakers = new Set<() => void>();

  constructor(private capacity: number) {
    this.ring = new Array<FeedEvent<T> | undefined>(capacity);
  }

  /** Index of the next event to be appended. */
  get end(): number {
    return this.endIndex;
  }

  /** The oldest index still in the window. */
  get start(): number {
    return Math.max(this.floor, this.endIndex - this.capacity);
  }

  get windowSize(): number {
    return this.capacity;
  }

  /** When the latest data event was appended (epoch ms), if any. */
  get lastDataAtMs(): number | undefined {
    return this.lastDataMs;
  }

  append(event: FeedEvent<T>, nowMs: number): void {
    const index = this.endIndex++;
    this.ring[index % this.capacity] = event;
    if (event.type === "data") {
      this.lastData = { index, event };
      this.lastDataMs = nowMs;
    } else {
      this.statuses.push({ index, event });
      if (this.statuses.length > KEPT_STATUSES) this.statuses.shift();
    }
    if (this.wakers.size === 0) return;
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const wake of wakers) wake();
  }

  /** Events [from, to) — from must be ≥ start (released events, which nobody should still read, are skipped). */
  read(from: number, to = this.endIndex): FeedEvent<T>[] {
    const out: FeedEvent<T>[] = [];
    for (let i = Math.max(from, this.start); i < to; i++) {
      const e = this.ring[i % this.capacity];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /**
   * For a consumer skipped over [from, to): the statuses in between (as far as kept, in order) with the
   * newest data event in its place among them — what "latest" conflation delivers.
   */
  conflated(from: number, to = this.endIndex): FeedEvent<T>[] {
    const latest = this.latestDataIndex(from, to);
    const out: FeedEvent<T>[] = [];
    for (const s of this.statuses) {
      if (s.index < from || s.index >= to) continue;
      if (latest !== undefined && latest.index < s.index && !out.includes(latest.event)) out.push(latest.event);
      out.push(s.event);
    }
    if (latest !== undefined && !out.includes(latest.event)) out.push(latest.event);
    return out;
  }

  /** For a consumer skipped over [from, to): the statuses in between (as far as kept), in order. */
  statusesSince(from: number, to = this.endIndex): FeedEvent<T>[] {
    return this.statuses.filter((s) => s.index >= from && s.index < to).map((s) => s.event);
  }

  private latestDataIndex(from: number, to: number): { index: number; event: FeedEvent<T> } | undefined {
    if (this.lastData !== undefined && this.lastData.index >= from && this.lastData.index < to) return this.lastData;
    for (let i = Math.min(to, this.endIndex) - 1; i >= Math.max(from, this.start); i--) {
      const e = this.ring[i % this.capacity];
      if (e?.type === "data") return { index: i, event: e };
    }
    return undefined;
  }

  /** Calls `wake` once, at the next append. */
  onAppend(wake: () => void): void {
    this.wakers.add(wake);
  }

  cancelWake(wake: () => void): void {
    this.wakers.delete(wake);
  }

  /** Frees the events before `index` (every consumer has read them). */
  release(index: number): void {
    const upTo = Math.min(index, this.endIndex);
    for (let i = Math.max(this.releasedUpTo, this.start); i < upTo; i++) {
      this.ring[i % this.capacity] = undefined;
    }
    this.releasedUpTo = Math.max(this.releasedUpTo, upTo);
  }

  /** Widens the window (a consumer with a larger bound joined); existing events keep their indices. */
  ensureCapacity(capacity: number): void {
    if (capacity <= this.capacity) return;
    const ring = new Array<FeedEvent<T> | undefined>(capacity);
    const start = this.start;
    for (let i = start; i < this.endIndex; i++) ring[i % capacity] = this.ring[i % this.capacity];
    this.floor = start;
    this.ring = ring;
    this.capacity = capacity;
  }
}
