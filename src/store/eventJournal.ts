import type { FeedJournal, JournalEpoch, JournalPosition, RecordedEvent } from "../stream/feedJournal.js";
import { isBusy } from "./database.js";
import type { EventStore } from "./eventStore.js";

/**
 * Rows per write transaction. Measured here (better-sqlite3 12, WAL, synchronous=NORMAL, 60-byte blobs, a
 * 2-core machine under load, best of 5 runs of 200k rows): ~250k rows/s inserted, so a full job is ~4 ms of
 * the writer's 8 ms slice; ~500k rows/s read back in pages of 1,000; ~590k rows/s pruned.
 */
export const ROWS_PER_JOB = 1_000;

/**
 * The position right before `p` in the order of positions, such that `read(positionJustBefore(p), n)` starts
 * at `p`: `{seq, sub - 1}`, or `{seq - 1, sub: Number.MAX_SAFE_INTEGER}` before a data row (sub 0). No row
 * ever has that sub (a data event is followed by a few statuses and snapshot rows, not 2^53).
 */
export function positionJustBefore(p: JournalPosition): JournalPosition {
  return p.sub > 0 ? { seq: p.seq, sub: p.sub - 1 } : { seq: p.seq - 1, sub: Number.MAX_SAFE_INTEGER };
}

/** Rows of one feed waiting for the writer beyond which new rows are shed (≈ 0.4 s of inserts; ≈ 20 MB). */
const MAX_BUFFERED_ROWS = 100_000;

const after = (a: JournalPosition, b: JournalPosition) => a.seq > b.seq || (a.seq === b.seq && a.sub > b.sub);

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
  /** Write jobs of this feed queued and not yet run: a row write at open must then queue behind them. */
  jobs: number;
  /** The instance recording, or the last one (closed). */
  instance: Journal | undefined;
}

/** One feed instance's journal. */
export class Journal implements FeedJournal {
  readonly epoch: number;
  readonly symbol: string;
  /** Rows appended and not yet taken by a write job. */
  private buffer: RecordedEvent[] = [];
  private writeQueued = false;
  private appended = 0;
  private settled = 0;
  private waiters: { target: number; fn: () => void }[] = [];
  private closed = false;
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
    if (!this.writeQueued) this.queueWrite();
  }

  whenCommitted(fn: () => void): void {
    if (this.settled >= this.appended) fn();
    else this.waiters.push({ target: this.appended, fn });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.enqueue(this.feed, () => {
      try {
        this.store.writeClose(this.feed, this.broken || this.lost);
      } catch (err) {
        if (!(isBusy(err) && this.store.retriesBusy)) this.broken = true;
        throw err;
      }
    });
  }

  /** Committed rows from the file, then those still waiting for the writer: together, every row appended (one synchronous moment). */
  read(from: JournalPosition, limit: number): RecordedEvent[] {
    const rows = this.store.read(this.feed, from, limit);
    const queued = this.queued;
    if (rows.length >= limit || queued.length === 0) return rows;
    const last = rows.length > 0 ? rows[rows.length - 1]! : from;
    for (const r of queued) {
      if (rows.length >= limit) break;
      if (after(r, last)) rows.push(r);
    }
    return rows;
  }

  // The queries below see the rows waiting for the writer too (newer than every committed row), as read does.

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
   * One job for the rows appended until it runs (up to ROWS_PER_JOB; the rest in the next job). Rows are
   * taken only once their transaction has committed or failed: a job put back because the file was locked
   * takes the same rows again.
   */
  private queueWrite(): void {
    this.writeQueued = true;
    this.store.enqueue(this.feed, () => {
      const rows = this.buffer.length <= ROWS_PER_JOB ? this.buffer : this.buffer.slice(0, ROWS_PER_JOB);
      let failure: unknown;
      if (!this.broken) {
        try {
          this.store.insertRows(this.feed, rows);
        } catch (err) {
          if (isBusy(err) && this.store.retriesBusy) throw err;
          // Nothing more of this instance is recorded: the journal ends at its last committed row.
          this.broken = true;
          failure = err;
        }
      }
      this.buffer = rows === this.buffer ? [] : this.buffer.slice(rows.length);
      this.settled += rows.length;
      this.writeQueued = false;
      if (this.buffer.length > 0) this.queueWrite();
      this.runWaiters();
      // The writer reports it (MarketStore counts it in failedWrites).
      if (failure !== undefined) throw failure;
    });
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
