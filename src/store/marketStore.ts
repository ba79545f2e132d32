import { statSync } from "node:fs";
import { CandleStore } from "./candleStore.js";
import { ContractStore } from "./contractStore.js";
import { isBusy, openDatabase, schemaVersion, type SqliteDatabase } from "./database.js";
import { EventStore } from "./eventStore.js";
import { WorkerEventWriter, type EventWriter } from "./eventWriter.js";
import { IN_MEMORY } from "./storeSettings.js";
import { StoreWriter } from "./storeWriter.js";

export interface StoreStats {
  path: string;
  schemaVersion: number;
  /** Database file plus its WAL, in bytes (0 in memory). */
  sizeBytes: number;
  /** `events`: recorded feed events (trigger-kept, migration 2); `feeds`: feeds ever recorded. */
  rows: { candles: number; coverage: number; series: number; contracts: number; events: number; feeds: number };
  /** Write jobs queued and not yet committed (recorded events: batches handed to the event writer and not yet acknowledged). */
  pendingWrites: number;
  /** Write jobs that failed since start (e.g. disk full); the service keeps serving from memory and IB. */
  failedWrites: number;
  /** Recorded events not kept because the writer was too far behind (a flood beyond the insert rate). */
  eventsShed: number;
  /** Times a write found the file locked by another process (the operator's CLI) and was tried again later. */
  busyRetries: number;
}

/**
 * The embedded market-data store (STORE_PATH): one SQLite file in WAL mode. What the service fetched from IB
 * once is served from here after, across restarts. Two writers for a file: this thread's StoreWriter (candles,
 * contracts, the feeds' rows, retention) and the recorded events' writer on a worker thread with its own
 * connection (eventWriter.ts), taking turns; an in-memory store has the first only.
 */
export class MarketStore {
  readonly candles: CandleStore;
  readonly contracts: ContractStore;
  /** Every shared feed's recorded events (the stream core's JournalStore). */
  readonly events: EventStore;
  private readonly writer: StoreWriter;
  private readonly eventWriter: EventWriter | undefined;
  private failedWrites = 0;
  private closed = false;
  private retention: { timer: NodeJS.Timeout; stop: () => void } | undefined;

  private constructor(
    readonly path: string,
    private readonly db: SqliteDatabase,
    onWriteError: (err: unknown) => void,
  ) {
    const onError = (err: unknown) => {
      this.failedWrites++;
      onWriteError(err);
    };
    this.writer = new StoreWriter(onError, undefined, isBusy);
    if (path !== IN_MEMORY) {
      const eventWriter = new WorkerEventWriter(path);
      this.writer.gate = eventWriter.gate;
      this.eventWriter = eventWriter;
    }
    this.candles = new CandleStore(db, this.writer);
    this.contracts = new ContractStore(db, this.writer);
    this.events = new EventStore(db, this.writer, this.eventWriter, onError);
  }

  /**
   * `busyTimeoutMs`: 0 for the service (its writer retries a locked write later, never blocking the event
   * loop on another process's lock); a tool may wait for the service's short transactions instead.
   */
  static open(path: string, onWriteError: (err: unknown) => void = () => undefined, options: { busyTimeoutMs?: number } = {}): MarketStore {
    return new MarketStore(path, openDatabase(path, options.busyTimeoutMs ?? 0), onWriteError);
  }

  /** Resolves when every write queued so far is committed (recorded rows, and the feed rows written after them). */
  async flushed(): Promise<void> {
    do {
      await this.events.idle();
      await this.writer.idle();
    } while (this.events.pendingRows > 0 || this.writer.pending > 0);
  }

  stats(): StoreStats {
    const count = (table: string) => (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    const rowCount = (table: string) => (this.db.prepare("SELECT n FROM row_counts WHERE tbl = ?").get(table) as { n: number }).n;
    return {
      path: this.path,
      schemaVersion: schemaVersion(this.db),
      sizeBytes: this.path === IN_MEMORY ? 0 : fileSize(this.path) + fileSize(`${this.path}-wal`),
      // Candles and events from the trigger-kept counts (migrations.ts): never a scan of a big table on the event loop.
      rows: {
        candles: rowCount("candles"),
        coverage: count("coverage"),
        series: count("candle_series"),
        contracts: count("contracts"),
        events: rowCount("events"),
        feeds: this.events.feedCount(),
      },
      pendingWrites: this.writer.pending + (this.eventWriter?.inFlight ?? 0),
      failedWrites: this.failedWrites,
      eventsShed: this.events.shedRows,
      busyRetries: this.writer.busyRetries,
    };
  }

  /**
   * Deletes recorded events older than their kind's retention (EventStore.prune) now and every `everyMs`: each run
   * prunes a batch per event-loop turn (a short writer job each) until nothing older is left. Replaces a
   * retention already started; stopped by stopRetention or close. `now` is the clock (tests move it).
   */
  startRetention(retentionByKind: Readonly<Record<string, number | undefined>>, everyMs = 60_000, now: () => number = Date.now): void {
    this.stopRetention();
    let running = false;
    let stopped = false;
    const run = async () => {
      if (running || stopped) return;
      running = true;
      try {
        // A full batch means there may be more: the next after the writer's turn (its jobs interleave with others').
        while (!stopped && (await this.events.prune(retentionByKind, now(), PRUNE_BATCH_ROWS)) >= PRUNE_BATCH_ROWS);
      } catch {
        // Counted and reported by the writer (failedWrites); tried again at the next run.
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void run(), everyMs);
    timer.unref();
    this.retention = { timer, stop: () => (stopped = true) };
    // At once too: after days stopped, what expired meanwhile goes now, not a period later.
    void run();
  }

  stopRetention(): void {
    if (this.retention === undefined) return;
    clearInterval(this.retention.timer);
    this.retention.stop();
    this.retention = undefined;
  }

  /**
   * Commits what is queued, checkpoints the WAL into the file and closes it. Synchronous: this thread waits
   * (Atomics.wait) for the event writer's thread to commit the batches handed to it, then closes that writer.
   */
  /**
   * Hands the event writer every row appended and waits for it: a journal sends a batch (10,000 rows) at a time,
   * so as many rounds as the longest backlog needs, while they make progress (an unopened feed's rows wait for
   * the writer's close).
   */
  private sendEveryEvent(): void {
    for (let before = Number.POSITIVE_INFINITY; this.events.pendingRows > 0 && this.events.pendingRows < before; ) {
      before = this.events.pendingRows;
      this.events.sendAll();
      this.eventWriter?.drain();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopRetention();
    // The rows appended, then the closes written after them (and opens queued behind a lock), then the rows of those.
    this.sendEveryEvent();
    this.writer.close();
    this.sendEveryEvent();
    this.eventWriter?.close();
    if (this.path !== IN_MEMORY) this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.close();
  }
}

/** Rows deleted per retention job (EventStore.prune's default): a few milliseconds of the writer's time. */
const PRUNE_BATCH_ROWS = 5_000;

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
