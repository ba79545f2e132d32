import { isAfter, type FeedJournal, type JournalEpoch, type JournalPosition, type RecordedEvent } from "../stream/feedJournal.js";
import { isBusy } from "./database.js";
import type { EventStore } from "./eventStore.js";
import type { BatchResult } from "./eventWriter.js";

/**
 * Rows per write transaction (both event writers, eventWriter.ts). Measured here (better-sqlite3 12, WAL,
 * synchronous=NORMAL, 60-byte blobs, a 2-core machine under load, best of 5 runs of 200k rows): ~250k rows/s
 * inserted a statement per row; ~500k rows/s read back in pages of 1,000; ~590k rows/s pruned.
 */
export const ROWS_PER_JOB = 1_000;

/** Rows handed to the event writer in one batch at most (it commits them ROWS_PER_JOB to a transaction). */
const ROWS_PER_BATCH = 10_000;

/** Batches of one instance handed over and not yet acknowledged: the rest wait, and go as one larger batch. */
const BATCHES_IN_FLIGHT = 2;

let instances = 0;

/**
 * The position right before `p` in the order of positions, such that `read(positionJustBefore(p), n)` starts
 * at `p`: `{seq, sub - 1}`, or `{seq - 1, sub: Number.MAX_SAFE_INTEGER}` before a data row (sub 0). No row
 * ever has that sub (a data event is followed by a few statuses and snapshot rows, not 2^53).
 */
export function positionJustBefore(p: JournalPosition): JournalPosition {
  return p.sub > 0 ? { seq: p.seq, sub: p.sub - 1 } : { seq: p.seq - 1, sub: Number.MAX_SAFE_INTEGER };
}

/** Rows of one feed waiting for the writer (queued or in its hands) beyond which new rows are shed (≈ 0.4 s of inserts; ≈ 20 MB). */
const MAX_BUFFERED_ROWS = 100_000;


export /** What is known in this process of a feed (one per key, across its instances). */
interface Feed {
  readonly key: string;
  readonly kind: string;
  readonly symbol: string;
  /** The row's id; undefined until the row is created (its creation is queued when the file was locked). */
  id: number | undefined;
  epoch: number;
  /** The last position appended (numbering continues after it, committed or not). */
  last: JournalPosition;
  /** The last position committed. */
  recorded: JournalPosition;
  /**
   * Row writes of this feed (open, close) queued or waiting for their turn, and not yet run: a row write
   * at open must then queue behind them.
   */
  jobs: number;
  /**
   * The feed's row writes in order: a slot without a job is a close waiting for its instance's rows to be
   * committed; the ones behind it wait for it.
   */
  slots: { job: (() => void) | undefined }[];
  /** The instance recording, or the last one (closed). */
  instance: Journal | undefined;
}

/**
 * One feed instance's journal. Rows appended wait in `buffer` until their batch is acknowledged by the
 * store's event writer (in this thread or on its own, eventWriter.ts): a batch in the writer's hands stays
 * readable here until then, and read() takes a row from the file or from the buffer, never from both.
 * Order of the feed's writes: its row's open, then its rows, then its close (once every row is committed),
 * then the next instance's open.
 */
export class Journal implements FeedJournal {
  readonly epoch: number;
  readonly symbol: string;
  /** Rows appended and not yet acknowledged: the first `sent` are in the writer's hands. */
  private buffer: RecordedEvent[] = [];
  private sent = 0;
  private batches = 0;
  private appended = 0;
  private settled = 0;
  private waiters: { target: number; fn: () => void }[] = [];
  private closed = false;
  /** The feed's row is written for this instance (created or reopened): its rows may go. */
  opened = false;
  readonly instance = ++instances;
  /** A write of this instance failed: it records nothing more, and the next instance starts a new epoch. */
  broken = false;
  /** Rows were shed (the writer too far behind): the journal has holes, and the next instance starts a new epoch. */
  lost = false;

  constructor(
    private readonly store: EventStore,
    private readonly feed: Feed,
    readonly brokenFrom: { epoch: number; lastSeq: number } | undefined,
    /** The feed's previous instance in this process: its rows still waiting for the writer come before this one's. */
    private previous: Journal | undefined,
  ) {
    this.epoch = feed.epoch;
    this.symbol = feed.symbol;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get last(): JournalPosition {
    return this.feed.last;
  }

  /** Rows not yet acknowledged by the writer. */
  get pendingRows(): number {
    return this.buffer.length;
  }

  append(rows: RecordedEvent[]): void {
    if (this.closed) throw new Error(`journal of feed ${this.feed.key} is closed: nothing more is appended to it`);
    if (rows.length === 0) return;
    const first = rows[0]!;
    const last = this.feed.last;
    if (first.seq < last.seq || (first.seq === last.seq && first.sub <= last.sub)) {
      throw new Error(`feed ${this.feed.key}: appended position ${first.seq}.${first.sub} is not after the last, ${last.seq}.${last.sub}`);
    }
    this.appended += rows.length;
    if (this.buffer.length >= MAX_BUFFERED_ROWS) {
      // The writer is far behind (a flood beyond the insert rate, a slow disk): these rows are not kept,
      // so memory stays bounded; a replay across them reports the missing numbers as a gap.
      this.settled += rows.length;
      this.store.shedRows += rows.length;
      this.lost = true;
      const newest = rows[rows.length - 1]!;
      this.feed.last = { seq: newest.seq, sub: newest.sub };
      return;
    }
    for (const row of rows) this.buffer.push(row);
    const newest = rows[rows.length - 1]!;
    this.feed.last = { seq: newest.seq, sub: newest.sub };
    this.store.schedule(this);
  }

  whenCommitted(fn: () => void): void {
    if (this.settled >= this.appended) fn();
    else this.waiters.push({ target: this.appended, fn });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Its place among the feed's row writes now (before a next instance's open); written once every row is committed.
    const slot = this.store.holdSlot(this.feed);
    this.whenCommitted(() => {
      this.store.fillSlot(this.feed, slot, () => {
        try {
          this.store.writeClose(this.feed, this.broken || this.lost);
        } catch (err) {
          if (!(isBusy(err) && this.store.retriesBusy)) this.broken = true;
          throw err;
        }
      });
    });
  }

  /** Committed rows from the file, then those still waiting for the writer: together, every row appended (one synchronous moment). */
  read(from: JournalPosition, limit: number): RecordedEvent[] {
    const rows = this.store.read(this.feed, from, limit);
    const queued = this.queued;
    if (rows.length >= limit || queued.length === 0) return rows;
    // Rows committed but not yet acknowledged are in both: those at or before the last row read are skipped.
    const last = rows.length > 0 ? rows[rows.length - 1]! : from;
    for (const r of queued) {
      if (rows.length >= limit) break;
      if (isAfter(r, last)) rows.push(r);
    }
    return rows;
  }

  // The queries below see the rows waiting for the writer too (newer than every committed row), as read does;
  // the file's answer first (a row committed and still in the buffer is the same row).

  positionBefore(timeMs: number): JournalPosition | undefined {
    const committed = this.store.positionBefore(this.feed, timeMs);
    if (committed !== undefined) return committed;
    const first = this.queued.find((r) => r.timeMs >= timeMs);
    return first === undefined ? undefined : positionJustBefore(first);
  }

  snapshotBefore(timeMs: number): JournalPosition | undefined {
    const queued = this.queued;
    for (let i = queued.length - 1; i >= 0; i--) {
      const r = queued[i]!;
      if (r.kind !== "snapshot" || r.timeMs > timeMs) continue;
      let first = i;
      while (first > 0 && queued[first - 1]!.kind === "snapshot" && queued[first - 1]!.seq === r.seq) first--;
      // A group begun among committed rows: found there.
      if (first > 0 || queued[0]!.kind !== "snapshot") return positionJustBefore(queued[first]!);
      break;
    }
    return this.store.snapshotBefore(this.feed, timeMs);
  }

  oldest(): { timeMs: number; position: JournalPosition } | undefined {
    const first = this.queued[0];
    return this.store.oldest(this.feed) ?? (first === undefined ? undefined : { timeMs: first.timeMs, position: { seq: first.seq, sub: first.sub } });
  }

  oldestSnapshotMs(): number | undefined {
    return this.store.oldestSnapshotMs(this.feed) ?? this.queued.find((r) => r.kind === "snapshot")?.timeMs;
  }

  /** The feed's rows waiting for the writer, oldest first: the previous instances' (if any are left), then this one's. */
  private get queued(): RecordedEvent[] {
    const earlier = this.previous?.queued ?? [];
    if (this.previous !== undefined && earlier.length === 0) this.previous = undefined; // all written: let it go
    return earlier.length === 0 ? this.buffer : [...earlier, ...this.buffer];
  }

  epochs(): JournalEpoch[] {
    return this.store.epochs(this.feed);
  }

  /** @internal */
  markBroken(): void {
    this.broken = true;
  }

  /**
   * @internal Hands the rows not yet handed over to the writer, as one batch (up to ROWS_PER_BATCH), once the
   * feed's row is written for this instance; with BATCHES_IN_FLIGHT batches unacknowledged, the rest wait
   * for an acknowledgement (and go as one larger batch). False when rows are left to send later.
   */
  send(): boolean {
    if (this.broken) {
      // Nothing more of this instance is written: the rows not handed over are settled as they are.
      const dropped = this.buffer.length - this.sent;
      if (dropped > 0) {
        this.buffer.length = this.sent;
        this.settled += dropped;
        try {
          this.runWaiters();
        } catch (err) {
          this.store.reportError(err);
        }
      }
      return true;
    }
    if (this.sent >= this.buffer.length) return true;
    if (!this.opened || this.feed.id === undefined || this.batches >= BATCHES_IN_FLIGHT) return false;
    const end = Math.min(this.buffer.length, this.sent + ROWS_PER_BATCH);
    const rows = this.sent === 0 && end === this.buffer.length ? this.buffer.slice() : this.buffer.slice(this.sent, end);
    this.sent = end;
    this.batches++;
    this.store.eventWriter.write(this.feed.id, this.instance, rows, (result) => this.acknowledged(rows.length, result));
    return this.sent >= this.buffer.length;
  }

  private acknowledged(count: number, result: BatchResult): void {
    this.batches--;
    this.buffer.splice(0, count);
    this.sent -= count;
    this.settled += count;
    if (result.committed !== undefined) this.feed.recorded = result.committed;
    if (result.error !== undefined && !this.broken) {
      // Nothing more of this instance is recorded: the journal ends at its last committed row.
      this.broken = true;
      this.store.reportError(result.error);
    }
    if (this.buffer.length > this.sent || this.broken) this.store.schedule(this);
    try {
      this.runWaiters();
    } catch (err) {
      this.store.reportError(err);
    }
  }

  /** The waiters whose rows are all settled, in order; one that throws does not keep the others from running (the writer reports it). */
  private runWaiters(): void {
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.target <= this.settled) n++;
    if (n === 0) return;
    const ready = this.waiters.splice(0, n);
    let thrown: { err: unknown } | undefined;
    for (const w of ready) {
      try {
        w.fn();
      } catch (err) {
        thrown ??= { err };
      }
    }
    if (thrown !== undefined) throw thrown.err;
  }
}
