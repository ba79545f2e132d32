import type { SqliteDatabase } from "./database.js";
import type { StoreWriter } from "./storeWriter.js";

export interface StoredContract {
  /** The resolver's own serialization (the store does not read it). */
  details: string;
  fetchedAtMs: number;
}

/** The symbol of a contracts row's key ("spot/BTCUSDT" → "BTCUSDT"), in SQL. */
export const CONTRACT_SYMBOL_SQL = "substr(key, instr(key, '/') + 1)";

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
      conIdsOf: db.prepare<[string], { con_id: number }>(`SELECT DISTINCT con_id FROM contracts WHERE ${CONTRACT_SYMBOL_SQL} = ?`),
    };
  }

  /**
   * The contracts a symbol has resolved to, in any market. Candle series are labelled with the symbol that
   * last wrote them, and symbols sharing a contract share its series (BTCUSDT and BTC): the operator's
   * commands find a symbol's series by these too, not by the label alone.
   */
  conIdsOf(symbol: string): Set<number> {
    return new Set(this.statements.conIdsOf.all(symbol).map((r) => r.con_id));
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
