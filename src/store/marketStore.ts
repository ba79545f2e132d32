import { statSync } from "node:fs";
import { CandleStore } from "./candleStore.js";
import { ContractStore } from "./contractStore.js";
import { isBusy, openDatabase, schemaVersion, type SqliteDatabase } from "./database.js";
import { IN_MEMORY } from "./storeSettings.js";
import { StoreWriter } from "./storeWriter.js";

export interface StoreStats {
  path: string;
  schemaVersion: number;
  /** Database file plus its WAL, in bytes (0 in memory). */
  sizeBytes: number;
  rows: { candles: number; coverage: number; series: number; contracts: number };
  /** Write jobs queued and not yet committed. */
  pendingWrites: number;
  /** Write jobs that failed since start (e.g. disk full); the service keeps serving from memory and IB. */
  failedWrites: number;
  /** Times a write found the file locked by another process (the operator's CLI) and was tried again later. */
  busyRetries: number;
}

/**
 * The embedded market-data store (STORE_PATH): one SQLite file in WAL mode, one writer. What the service
 * fetched from IB once is served from here after, across restarts.
 */
export class MarketStore {
  readonly candles: CandleStore;
  readonly contracts: ContractStore;
  private readonly writer: StoreWriter;
  private failedWrites = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly db: SqliteDatabase,
    onWriteError: (err: unknown) => void,
  ) {
    this.writer = new StoreWriter(
      (err) => {
        this.failedWrites++;
        onWriteError(err);
      },
      undefined,
      isBusy,
    );
    this.candles = new CandleStore(db, this.writer);
    this.contracts = new ContractStore(db, this.writer);
  }

  /**
   * `busyTimeoutMs`: 0 for the service (its writer retries a locked write later, never blocking the event
   * loop on another process's lock); a tool may wait for the service's short transactions instead.
   */
  static open(path: string, onWriteError: (err: unknown) => void = () => undefined, options: { busyTimeoutMs?: number } = {}): MarketStore {
    return new MarketStore(path, openDatabase(path, options.busyTimeoutMs ?? 0), onWriteError);
  }

  /** Resolves when every write queued so far is committed. */
  flushed(): Promise<void> {
    return this.writer.idle();
  }

  stats(): StoreStats {
    const count = (table: string) => (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      path: this.path,
      schemaVersion: schemaVersion(this.db),
      sizeBytes: this.path === IN_MEMORY ? 0 : fileSize(this.path) + fileSize(`${this.path}-wal`),
      // Candles from the trigger-kept count (migrations.ts): never a scan of the big table on the event loop.
      rows: { candles: (this.db.prepare("SELECT n FROM row_counts WHERE tbl = 'candles'").get() as { n: number }).n, coverage: count("coverage"), series: count("candle_series"), contracts: count("contracts") },
      pendingWrites: this.writer.pending,
      failedWrites: this.failedWrites,
      busyRetries: this.writer.busyRetries,
    };
  }

  /** Commits what is queued, checkpoints the WAL into the file and closes it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.close();
    if (this.path !== IN_MEMORY) this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.close();
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
