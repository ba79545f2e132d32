import { isAfter as after, type FeedJournal, type JournalEpoch, type JournalPosition, type JournalStore, type RecordedEvent } from "../feedJournal.js";


interface MemoryFeed {
  rows: RecordedEvent[];
  epochs: JournalEpoch[];
  symbol: string;
  last: JournalPosition;
  open: boolean;
}

/**
 * A seam for the stream core's tests: the journal store in memory, its writer a setImmediate away (as the
 * store's one writer commits a few ms later), so that replays meet rows not written yet. Rows are bytes of
 * the test's own codec. `failNextWrite` drops the next batch as a failed write would.
 */
export class MemoryJournalStore implements JournalStore {
  readonly feeds = new Map<string, MemoryFeed>();
  failNextWrite = false;

  openFeed(key: string, _kind: string, symbol: string, nowMs: number): FeedJournal {
    let feed = this.feeds.get(key);
    let brokenFrom: FeedJournal["brokenFrom"];
    if (feed === undefined) {
      feed = { rows: [], epochs: [{ epoch: nowMs, firstSeq: 1 }], symbol, last: { seq: 0, sub: 0 }, open: false };
      this.feeds.set(key, feed);
    } else if (feed.open) {
      const previous = feed.epochs[feed.epochs.length - 1]!;
      brokenFrom = { epoch: previous.epoch, lastSeq: feed.last.seq };
      feed.epochs.push({ epoch: Math.max(nowMs, previous.epoch + 1), firstSeq: feed.last.seq + 1 });
    }
    feed.open = true;
    return new MemoryJournal(this, feed, brokenFrom);
  }

  /** Marks a feed as never closed (a crash): its next instance starts a new epoch. */
  crash(key: string): void {
    this.feeds.get(key)!.open = true;
  }
}

class MemoryJournal implements FeedJournal {
  readonly epoch: number;
  private appended = 0;
  private settled = 0;
  /** As the store's: a waiter waits for the rows appended before it, not for an idle writer. */
  private waiters: { target: number; fn: () => void }[] = [];
  private broken = false;
  /** Appended, not yet written (read() gives them too, as the store's journal does). */
  private queued: RecordedEvent[] = [];

  constructor(
    private readonly store: MemoryJournalStore,
    private readonly feed: MemoryFeed,
    readonly brokenFrom: FeedJournal["brokenFrom"],
  ) {
    this.epoch = feed.epochs[feed.epochs.length - 1]!.epoch;
  }

  get symbol(): string {
    return this.feed.symbol;
  }

  get last(): JournalPosition {
    return this.feed.last;
  }

  /** Moves `last` at once (as the store's does); the rows become readable a setImmediate later. */
  append(rows: RecordedEvent[]): void {
    this.appended += rows.length;
    this.feed.last = { seq: rows[rows.length - 1]!.seq, sub: rows[rows.length - 1]!.sub };
    const fail = this.store.failNextWrite;
    this.store.failNextWrite = false;
    const queued = rows.map((r) => ({ ...r }));
    this.queued.push(...queued);
    setImmediate(() => {
      this.queued.splice(0, queued.length);
      if (fail) this.broken = true;
      else this.feed.rows.push(...queued);
      this.settled += rows.length;
      const due = this.waiters.filter((w) => w.target <= this.settled);
      this.waiters = this.waiters.filter((w) => w.target > this.settled);
      for (const w of due) w.fn();
    });
  }

  whenCommitted(fn: () => void): void {
    if (this.settled >= this.appended) fn();
    else this.waiters.push({ target: this.appended, fn });
  }

  close(): void {
    this.whenCommitted(() => {
      this.feed.open = this.broken;
    });
  }

  read(from: JournalPosition, limit: number): RecordedEvent[] {
    return [...this.feed.rows, ...this.queued].filter((r) => after(r, from)).slice(0, limit);
  }

  /** Every row appended, written or not (as the store's journal sees them). */
  private get all(): RecordedEvent[] {
    return [...this.feed.rows, ...this.queued];
  }

  positionBefore(timeMs: number): JournalPosition | undefined {
    const rows = this.all;
    const i = rows.findIndex((r) => r.timeMs >= timeMs);
    return i < 0 ? undefined : i === 0 ? { seq: 0, sub: 0 } : { seq: rows[i - 1]!.seq, sub: rows[i - 1]!.sub };
  }

  oldestSnapshotMs(): number | undefined {
    return this.all.find((r) => r.kind === "snapshot")?.timeMs;
  }

  snapshotBefore(timeMs: number): JournalPosition | undefined {
    const rows = this.all;
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i]!;
      if (r.kind !== "snapshot" || r.timeMs > timeMs) continue;
      let first = i;
      while (first > 0 && rows[first - 1]!.kind === "snapshot" && rows[first - 1]!.seq === r.seq) first--;
      return first === 0 ? { seq: 0, sub: 0 } : { seq: rows[first - 1]!.seq, sub: rows[first - 1]!.sub };
    }
    return undefined;
  }

  oldest(): { timeMs: number; position: JournalPosition } | undefined {
    const r = this.all[0];
    return r === undefined ? undefined : { timeMs: r.timeMs, position: { seq: r.seq, sub: r.sub } };
  }

  epochs(): JournalEpoch[] {
    return [...this.feed.epochs];
  }
}
