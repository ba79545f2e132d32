import type { SqliteDatabase } from "./database.js";
import type { StoreWriter } from "./storeWriter.js";

export interface StoredContract {
  /** The resolver's own serialization (the store does not read it). */
  details: string;
  fetchedAtMs: number;
}

/**
 * Resolved contracts by key (market type and symbol), kept across restarts: IB's contract-details requests
 * are paced, and symbol lists are shown with their contracts before anything asks IB again.
 */
export class ContractStore {
  private readonly statements;

  constructor(
    db: SqliteDatabase,
    private readonly writer: StoreWriter,
  ) {
    this.statements = {
      get: db.prepare<[string], { details: string; fetched_at_ms: number }>("SELECT details, fetched_at_ms FROM contracts WHERE key = ?"),
      put: db.prepare("INSERT OR REPLACE INTO contracts (key, con_id, details, fetched_at_ms) VALUES (?, ?, ?, ?)"),
    };
  }

  get(key: string): StoredContract | undefined {
    const row = this.statements.get.get(key);
    return row === undefined ? undefined : { details: row.details, fetchedAtMs: row.fetched_at_ms };
  }

  /** Queued through the store's writer; a failure is the store's to report. */
  put(key: string, conId: number, details: string, nowMs: number): void {
    this.writer.enqueue(() => {
      this.statements.put.run(key, conId, details, nowMs);
    });
  }
}
