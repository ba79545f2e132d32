import type { FeedJournal, JournalEpoch, JournalPosition, JournalStore, RecordedEvent, RecordedKind } from "../stream/feedJournal.js";
import { isBusy, type SqliteDatabase } from "./database.js";
import { Journal, positionJustBefore, type Feed } from "./eventJournal.js";
import { InThreadEventWriter, KIND_CODES, type EventWriter } from "./eventWriter.js";
import type { StoreWriter } from "./storeWriter.js";

export { positionJustBefore } from "./eventJournal.js";

const KIND_NAMES: readonly RecordedKind[] = ["data", "status", "snapshot"];


/** A recorded feed as the operator sees it (`npm run store -- stats`). */
export interface RecordedFeedInfo {
  key: string;
  kind: string;
  symbol: string;
  epoch: number;
  lastSeq: number;
  /** An instance is recording it (or the last one never closed: a crash). */
  open: boolean;
  broken: boolean;
  oldestMs: number | undefined;
  newestMs: number | undefined;
}

type FeedRow = { id: number; kind: string; symbol: string; epoch: number; last_seq: number; last_sub: number; open: number; broken: number };
type EventRow = [seq: number, sub: number, timeMs: number, kind: number, bytes: Buffer];
type FeedSlot = Feed["slots"][number];

/**
 * The journal of every shared feed (JournalStore, stream/feedJournal.ts), in the store's file: opening a
 * feed and reading are synchronous, on this thread's connection, as are the feeds' row writes (open, close:
 * a few per instance, through the store's StoreWriter); appends go to the event writer (eventWriter.ts: a
 * worker thread with its own connection for a file, the StoreWriter for an in-memory store), batched once
 * per event-loop turn, each transaction (≤ ROWS_PER_JOB rows) also moving the feed's last position, so a
 * crash loses at most the uncommitted batches and the row never claims rows it has not.
 *
 * Epochs: a feed's row is `open` while an instance records; the next instance continues the numbering in the
 * same epoch only after a clean close with every write committed. A row still open (a crash, a kill) or
 * broken (a write failed: once one does, the instance records nothing more, so the journal ends at the
 * failure rather than holding a hole) starts a new epoch.
 *
 * Known gap: an instance reopened in this process while the previous one's last rows are still queued
 * continues its epoch; if those rows then fail (disk full), the epoch has a hole the journal does not show
 * (the next instance after that starts a new epoch). Closing and reopening within one writer turn is rare,
 * and a failing disk fails the new instance's writes too.
 */
export class EventStore implements JournalStore {
  /** Rows not kept because their feed's writer backlog was full (see MAX_BUFFERED_ROWS). */
  shedRows = 0;
  private readonly feeds = new Map<string, Feed>();
  private readonly statements;
  /** @internal Commits the rows (eventWriter.ts). */
  readonly eventWriter: EventWriter;
  /** Journals with rows to hand to the event writer at the next turn. */
  private readonly toSend = new Set<Journal>();
  private sendScheduled = false;
  private sendTimer: NodeJS.Timeout | undefined;
  /**
   * Rows go to the writer at the next turn (0), or at most this often: the provider role's recorders flush
   * every few ms for the bus, and a transaction per flush would cost more than the bus saves (BENCHMARKS.md).
   * Reads see rows still waiting either way.
   */
  sendEveryMs = 0;
  /** Journals with rows not yet acknowledged (for flushed()). */
  private readonly active = new Set<Journal>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly writer: StoreWriter,
    eventWriter?: EventWriter,
    /** @internal A failed write (MarketStore counts it). */
    readonly reportError: (err: unknown) => void = () => undefined,
  ) {
    this.eventWriter = eventWriter ?? new InThreadEventWriter(writer, (feedId, rows) => this.insertRows(feedId, rows));
    this.statements = {
      feed: db.prepare<[string], FeedRow>("SELECT id, kind, symbol, epoch, last_seq, last_sub, open, broken FROM feeds WHERE key = ?"),
      feeds: db.prepare<[], { id: number; kind: string }>("SELECT id, kind FROM feeds"),
      insertFeed: db.prepare("INSERT INTO feeds (key, kind, symbol, epoch, last_seq, last_sub, open, broken) VALUES (?, ?, ?, ?, 0, 0, 1, 0)"),
      reopenFeed: db.prepare("UPDATE feeds SET epoch = ?, open = 1, broken = 0 WHERE id = ?"),
      closeFeed: db.prepare("UPDATE feeds SET open = 0, broken = ? WHERE id = ?"),
      setLast: db.prepare("UPDATE feeds SET last_seq = ?, last_sub = ? WHERE id = ?"),
      insertEpoch: db.prepare("INSERT INTO feed_epochs (feed_id, epoch, first_seq) VALUES (?, ?, ?)"),
      epochs: db.prepare<[number], { epoch: number; first_seq: number }>("SELECT epoch, first_seq FROM feed_epochs WHERE feed_id = ? ORDER BY epoch"),
      insertEvent: db.prepare("INSERT INTO events (feed_id, seq, sub, time_ms, kind, bytes) VALUES (?, ?, ?, ?, ?, ?)"),
      // Row values: the primary key's range scan from the position on (eventStore.test.ts checks the plan).
      read: db.prepare<[number, number, number, number]>("SELECT seq, sub, time_ms, kind, bytes FROM events WHERE feed_id = ? AND (seq, sub) > (?, ?) ORDER BY seq, sub LIMIT ?").raw(true),
      firstAtOrAfter: db.prepare<[number, number]>("SELECT seq, sub FROM events WHERE feed_id = ? AND time_ms >= ? ORDER BY time_ms, seq, sub LIMIT 1").raw(true),
      snapshotAtOrBefore: db.prepare<[number, number]>("SELECT seq, sub FROM events WHERE feed_id = ? AND kind = 2 AND time_ms <= ? ORDER BY time_ms DESC, seq DESC, sub DESC LIMIT 1").raw(true),
      lastOtherBefore: db.prepare<[number, number, number]>("SELECT MAX(sub) FROM events WHERE feed_id = ? AND seq = ? AND sub < ? AND kind <> 2").pluck(),
      firstSnapshotAfter: db.prepare<[number, number, number]>("SELECT MIN(sub) FROM events WHERE feed_id = ? AND seq = ? AND sub > ? AND kind = 2").pluck(),
      oldestSnapshot: db.prepare<[number], number>("SELECT time_ms FROM events WHERE feed_id = ? AND kind = 2 ORDER BY time_ms LIMIT 1").pluck(),
      oldest: db.prepare<[number]>("SELECT seq, sub, time_ms FROM events WHERE feed_id = ? ORDER BY seq, sub LIMIT 1").raw(true),
      // Retention: the oldest rows by position (the journal stays one run without holes), their times only.
      oldestTimes: db.prepare<[number, number]>("SELECT seq, sub, time_ms FROM events WHERE feed_id = ? ORDER BY seq, sub LIMIT ?").raw(true),
      deleteThrough: db.prepare("DELETE FROM events WHERE feed_id = ? AND (seq, sub) <= (?, ?)"),
      // Epochs with no row left: a later epoch starts at or before the oldest retained row; the current one stays.
      deleteEpochs: db.prepare(
        "DELETE FROM feed_epochs AS e WHERE e.feed_id = @id AND e.epoch <> (SELECT epoch FROM feeds WHERE id = @id) AND EXISTS (SELECT 1 FROM feed_epochs n WHERE n.feed_id = @id AND n.epoch > e.epoch AND n.first_seq <= @oldestSeq)",
      ),
      countEvents: db.prepare("UPDATE row_counts SET n = n + ? WHERE tbl = 'events'"),
      feedInfos: db.prepare<[], { id: number; key: string; kind: string; symbol: string; epoch: number; last_seq: number; open: number; broken: number }>("SELECT id, key, kind, symbol, epoch, last_seq, open, broken FROM feeds ORDER BY key"),
      newest: db.prepare<[number]>("SELECT seq, sub, time_ms FROM events WHERE feed_id = ? ORDER BY seq DESC, sub DESC LIMIT 1").raw(true),
      feedCount: db.prepare<[], number>("SELECT COUNT(*) FROM feeds").pluck(),
    };
  }

  openFeed(key: string, kind: string, symbol: string, nowMs: number): FeedJournal {
    let feed = this.feeds.get(key);
    if (feed?.instance?.isOpen === true) throw new Error(`feed ${key} is already being recorded by an open journal in this process: close it before opening the next instance`);
    let brokenFrom: Journal["brokenFrom"];
    let newEpoch = false;
    if (feed !== undefined) {
      // Known here: what this process appended decides, whether or not the previous instance's rows are committed yet.
      if (feed.instance?.broken === true || feed.instance?.lost === true) {
        brokenFrom = { epoch: feed.epoch, lastSeq: feed.recorded.seq };
        newEpoch = true;
      }
    } else {
      const row = this.statements.feed.get(key);
      if (row === undefined) {
        feed = { key, kind, symbol, id: undefined, epoch: nowMs, last: { seq: 0, sub: 0 }, recorded: { seq: 0, sub: 0 }, jobs: 0, slots: [], instance: undefined };
      } else {
        const last = { seq: row.last_seq, sub: row.last_sub };
        feed = { key, kind: row.kind, symbol: row.symbol, id: row.id, epoch: row.epoch, last, recorded: last, jobs: 0, slots: [], instance: undefined };
        if (row.open === 1 || row.broken === 1) {
          brokenFrom = { epoch: row.epoch, lastSeq: row.last_seq };
          newEpoch = true;
        }
      }
      this.feeds.set(key, feed);
    }
    if (newEpoch) feed.epoch = Math.max(nowMs, feed.epoch + 1);
    const journal = new Journal(this, feed, brokenFrom, feed.instance);
    feed.instance = journal;
    const target = feed;
    const epoch = feed.epoch;
    const firstSeq = feed.last.seq + 1;
    this.writeNowOrQueue(feed, journal, () => {
      const id = this.db
        .transaction(() => {
          // Created at first use (decided when the write runs: a creation queued behind a locked file is not made twice).
          const created = target.id === undefined;
          const id = created ? Number(this.statements.insertFeed.run(key, target.kind, target.symbol, epoch).lastInsertRowid) : target.id!;
          if (!created) this.statements.reopenFeed.run(epoch, id);
          if (created || newEpoch) this.statements.insertEpoch.run(id, epoch, firstSeq);
          return id;
        })
        .immediate();
      target.id = id;
    });
    return journal;
  }

  /**
   * Deletes, oldest first, the rows recorded before `nowMs` − the retention of their feed's kind (kinds
   * without one, or 0, are kept forever): at most `maxRows` in one writer job (a short transaction), with
   * the epochs left without rows. Resolves with the rows deleted; fewer than `maxRows` means nothing older
   * is left (as of that job).
   */
  prune(retentionByKind: Readonly<Record<string, number | undefined>>, nowMs: number, maxRows = 5_000): Promise<number> {
    return new Promise((resolve, reject) => {
      this.writer.enqueue(() => {
        try {
          resolve(this.db.transaction(() => this.pruneNow(retentionByKind, nowMs, maxRows)).immediate());
        } catch (err) {
          if (isBusy(err) && this.writer.retriesBusy) throw err;
          reject(err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
      });
    });
  }

  /** @internal Whether a job that finds the file locked is run again (it then must not consume what it took). */
  get retriesBusy(): boolean {
    return this.writer.retriesBusy;
  }

  /** Every recorded feed, by key, with the times of its oldest and newest rows (two primary-key lookups each). */
  feedInfos(): RecordedFeedInfo[] {
    return this.statements.feedInfos.all().map((f) => {
      const oldest = this.statements.oldest.get(f.id) as [number, number, number] | undefined;
      const newest = this.statements.newest.get(f.id) as [number, number, number] | undefined;
      return { key: f.key, kind: f.kind, symbol: f.symbol, epoch: f.epoch, lastSeq: f.last_seq, open: f.open === 1, broken: f.broken === 1, oldestMs: oldest?.[2], newestMs: newest?.[2] };
    });
  }

  /** Feeds recorded (a small table: counted on demand). */
  feedCount(): number {
    return this.statements.feedCount.get()!;
  }

  private pruneNow(retentionByKind: Readonly<Record<string, number | undefined>>, nowMs: number, maxRows: number): number {
    let deleted = 0;
    for (const { id, kind } of this.statements.feeds.all()) {
      const retention = retentionByKind[kind];
      if (retention === undefined || retention <= 0 || deleted >= maxRows) continue;
      const cutoff = nowMs - retention;
      const rows = this.statements.oldestTimes.all(id, maxRows - deleted) as [number, number, number][];
      let through: [number, number, number] | undefined;
      for (const row of rows) {
        if (row[2] >= cutoff) break;
        through = row;
      }
      if (through === undefined) continue;
      const changes = this.statements.deleteThrough.run(id, through[0], through[1]).changes;
      this.statements.countEvents.run(-changes);
      deleted += changes;
      const oldest = this.statements.oldest.get(id) as [number, number, number] | undefined;
      this.statements.deleteEpochs.run({ id, oldestSeq: oldest?.[0] ?? Number.MAX_SAFE_INTEGER });
    }
    return deleted;
  }

  /** @internal A row write of `feed`'s, run in order with its other row writes. */
  enqueue(feed: Feed, job: () => void): void {
    feed.jobs++;
    feed.slots.push({ job });
    this.pump(feed);
  }

  /** @internal A place among `feed`'s row writes for a write known later (a close, once its rows are committed). */
  holdSlot(feed: Feed): FeedSlot {
    feed.jobs++;
    const slot: FeedSlot = { job: undefined };
    feed.slots.push(slot);
    return slot;
  }

  /** @internal */
  fillSlot(feed: Feed, slot: FeedSlot, job: () => void): void {
    slot.job = job;
    this.pump(feed);
  }

  /** Hands the feed's row writes to the StoreWriter up to the first slot still empty. */
  private pump(feed: Feed): void {
    while (feed.slots.length > 0 && feed.slots[0]!.job !== undefined) {
      const job = feed.slots.shift()!.job!;
      this.writer.enqueue(() => {
        try {
          job();
        } catch (err) {
          // Locked by another connection: the writer runs this job again later.
          if (isBusy(err) && this.writer.retriesBusy) throw err;
          feed.jobs--;
          throw err;
        }
        feed.jobs--;
      });
    }
  }

  /** @internal `journal` has rows to hand to the event writer: at the next turn (one batch per journal per turn). */
  schedule(journal: Journal): void {
    this.active.add(journal);
    this.toSend.add(journal);
    if (this.sendScheduled) return;
    this.sendScheduled = true;
    if (this.sendEveryMs > 0) this.sendTimer = setTimeout(() => this.sendAll(), this.sendEveryMs);
    else setImmediate(() => this.sendAll());
  }

  /** @internal Hands every journal's rows that may go to the event writer. */
  sendAll(): void {
    this.sendScheduled = false;
    clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    const journals = [...this.toSend];
    this.toSend.clear();
    // The ones that cannot send yet are scheduled again by what they wait for (their open, an acknowledgement).
    for (const journal of journals) journal.send();
    for (const journal of this.active) if (journal.pendingRows === 0) this.active.delete(journal);
  }

  /** Resolves when every row appended so far is committed or failed. */
  async idle(): Promise<void> {
    const pending = [...this.active].filter((j) => j.pendingRows > 0);
    await Promise.all(pending.map((j) => new Promise<void>((resolve) => j.whenCommitted(resolve))));
  }

  /** Rows appended and not yet acknowledged (a figure for the stats). */
  get pendingRows(): number {
    let n = 0;
    for (const journal of this.active) n += journal.pendingRows;
    return n;
  }

  /**
   * A feed row write at open: at once when nothing of the feed is queued (once per instance, a few rows),
   * else queued behind the rest. Also queued when the file is locked by another process (the operator's CLI)
   * or the event writer's thread is mid-transaction: the service opens the file with busy_timeout 0 and
   * never blocks its thread on another's lock; the writer retries it later. A write that fails otherwise
   * fails again in the writer, which reports it. The journal's rows go to the event writer once it is done.
   */
  private writeNowOrQueue(feed: Feed, journal: Journal, write: () => void): void {
    if (feed.jobs === 0) {
      try {
        if (this.writer.tryNow(write)) {
          journal.opened = true;
          return;
        }
      } catch {
        // Queued below: tried again in order, and counted by the writer if it fails there too.
      }
    }
    this.enqueue(feed, () => {
      try {
        write();
      } catch (err) {
        if (!(isBusy(err) && this.writer.retriesBusy)) {
          journal.markBroken();
          journal.opened = true;
          this.schedule(journal); // its rows are settled unwritten
        }
        throw err;
      }
      journal.opened = true;
      this.schedule(journal);
    });
  }

  /** @internal Inserts rows of a feed and moves its last position, in one transaction (the in-thread event writer). */
  insertRows(feedId: number, rows: readonly RecordedEvent[]): void {
    const { insertEvent, setLast, countEvents } = this.statements;
    this.db.transaction(() => {
      for (const r of rows) insertEvent.run(feedId, r.seq, r.sub, r.timeMs, KIND_CODES[r.kind], r.bytes);
      const last = rows[rows.length - 1]!;
      setLast.run(last.seq, last.sub, feedId);
      countEvents.run(rows.length);
    }).immediate();
  }

  /** @internal */
  writeClose(feed: Feed, broken: boolean): void {
    this.statements.closeFeed.run(broken ? 1 : 0, feed.id);
  }

  /** @internal */
  read(feed: Feed, after: JournalPosition, limit: number): RecordedEvent[] {
    if (feed.id === undefined || limit <= 0) return [];
    return (this.statements.read.all(feed.id, after.seq, after.sub, limit) as EventRow[]).map((r) => ({ seq: r[0], sub: r[1], timeMs: r[2], kind: KIND_NAMES[r[3]]!, bytes: r[4] }));
  }

  /** @internal */
  positionBefore(feed: Feed, timeMs: number): JournalPosition | undefined {
    if (feed.id === undefined) return undefined;
    const row = this.statements.firstAtOrAfter.get(feed.id, timeMs) as [number, number] | undefined;
    return row === undefined ? undefined : positionJustBefore({ seq: row[0], sub: row[1] });
  }

  /** @internal */
  snapshotBefore(feed: Feed, timeMs: number): JournalPosition | undefined {
    if (feed.id === undefined) return undefined;
    const row = this.statements.snapshotAtOrBefore.get(feed.id, timeMs) as [number, number] | undefined;
    if (row === undefined) return undefined;
    // The group's first row: the first snapshot row after the last other row of the same seq before this one.
    const [seq, sub] = row;
    const other = this.statements.lastOtherBefore.get(feed.id, seq, sub) as number | null;
    const first = this.statements.firstSnapshotAfter.get(feed.id, seq, other ?? -1) as number;
    return positionJustBefore({ seq, sub: first });
  }

  /** @internal */
  oldestSnapshotMs(feed: Feed): number | undefined {
    if (feed.id === undefined) return undefined;
    return (this.statements.oldestSnapshot.get(feed.id) as number | undefined) ?? undefined;
  }

  /** @internal */
  oldest(feed: Feed): { timeMs: number; position: JournalPosition } | undefined {
    if (feed.id === undefined) return undefined;
    const row = this.statements.oldest.get(feed.id) as [number, number, number] | undefined;
    return row === undefined ? undefined : { timeMs: row[2], position: { seq: row[0], sub: row[1] } };
  }

  /** @internal */
  epochs(feed: Feed): JournalEpoch[] {
    if (feed.id === undefined) return [];
    return this.statements.epochs.all(feed.id).map((r) => ({ epoch: r.epoch, firstSeq: r.first_seq }));
  }
}
