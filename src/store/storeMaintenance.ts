/**
 * What an operator does to the store file (`npm run store -- delete|vacuum`), on a database of its own
 * (openDatabase), beside or instead of the service's connection.
 */
import { statSync } from "node:fs";
import Database from "better-sqlite3";
import { CONTRACT_SYMBOL_SQL } from "./contractStore.js";
import { openDatabase, schemaVersion, type SqliteDatabase } from "./database.js";
import { MIGRATIONS } from "./migrations.js";

/** Which candles to delete: a symbol's series (all intervals unless one is named), [fromMs, toMs) by bar start. */
export interface CandleDeletion {
  /** Barfinex symbol as the store labels its series (upper case). */
  symbol: string;
  interval?: string;
  fromMs?: number;
  toMs?: number;
}

/** What a deletion removed from one series. */
export interface SeriesDeletion {
  symbol: string;
  interval: string;
  whatToShow: string;
  rth: boolean;
  candles: number;
  /** Covered ranges removed or cut back (so that the range is asked of IB again). */
  coverageRanges: number;
  /** The series' recent range was dropped too (it overlapped). */
  recent: boolean;
}

/**
 * Deletes candles AND the coverage of the same range, in one transaction: without its coverage a range is
 * fetched from IB again on the next call (deleting bars alone would make the service serve the hole as
 * "IB has nothing there"). A covered range that straddles a bound is cut at it, keeping the other part.
 * Series rows stay (their label, 0 bars): a running service caches their ids and keeps writing to them.
 */
export function deleteCandles(db: SqliteDatabase, selection: CandleDeletion): SeriesDeletion[] {
  const fromMs = selection.fromMs ?? Number.MIN_SAFE_INTEGER;
  const toMs = selection.toMs ?? Number.MAX_SAFE_INTEGER;
  if (toMs <= fromMs) return [];
  const series = db
    .prepare<[string, string, string | null, string | null], { id: number; symbol: string; interval: string; what_to_show: string; rth: number }>(
      // By label, or by a contract the symbol resolved to (a series is labelled by the last of the symbols sharing it).
      `SELECT id, symbol, interval, what_to_show, rth FROM candle_series WHERE (symbol = ? OR con_id IN (SELECT con_id FROM contracts WHERE ${CONTRACT_SYMBOL_SQL} = ?)) AND (? IS NULL OR interval = ?) ORDER BY symbol, interval, what_to_show, rth`,
    )
    .all(selection.symbol, selection.symbol, selection.interval ?? null, selection.interval ?? null);
  const statements = {
    candles: db.prepare("DELETE FROM candles WHERE series = ? AND start_ms >= ? AND start_ms < ?"),
    covered: db.prepare<[number, number, number], { from_ms: number; to_ms: number; fetched_at_ms: number }>("SELECT from_ms, to_ms, fetched_at_ms FROM coverage WHERE series = ? AND to_ms > ? AND from_ms < ?"),
    deleteCoverage: db.prepare("DELETE FROM coverage WHERE series = ? AND from_ms = ?"),
    insertCoverage: db.prepare("INSERT INTO coverage (series, from_ms, to_ms, fetched_at_ms) VALUES (?, ?, ?, ?)"),
    recent: db.prepare("DELETE FROM recent_coverage WHERE series = ? AND to_ms > ? AND from_ms < ?"),
  };
  return db.transaction(() =>
    series.map((s): SeriesDeletion => {
      const candles = statements.candles.run(s.id, fromMs, toMs).changes;
      const ranges = statements.covered.all(s.id, fromMs, toMs);
      for (const r of ranges) {
        statements.deleteCoverage.run(s.id, r.from_ms);
        if (r.from_ms < fromMs) statements.insertCoverage.run(s.id, r.from_ms, fromMs, r.fetched_at_ms);
        if (r.to_ms > toMs) statements.insertCoverage.run(s.id, toMs, r.to_ms, r.fetched_at_ms);
      }
      const recent = statements.recent.run(s.id, fromMs, toMs).changes > 0;
      return { symbol: s.symbol, interval: s.interval, whatToShow: s.what_to_show, rth: s.rth === 1, candles, coverageRanges: ranges.length, recent };
    }),
  )();
}

/** A file that is not an ib-provider store: the operator's commands refuse it rather than make it one. */
export class NotAStoreError extends Error {
  constructor(path: string, why: string) {
    super(`${path} is not an ib-provider store (${why}): nothing was changed; name the service's store with --path or STORE_PATH`);
    this.name = "NotAStoreError";
  }
}

/**
 * Checks, read-only and without creating anything, that `path` is a store this ib-provider can open: a
 * SQLite file with a schema version from 1 to the current one. openDatabase would migrate whatever it is
 * given: an empty file, or another program's database named by a mistyped --path, would get the store's
 * tables (or a migration failing half-way on a table of the same name).
 */
export function checkStoreFile(path: string): void {
  let version: number;
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      version = schemaVersion(db);
    } finally {
      db.close();
    }
  } catch (err) {
    throw new NotAStoreError(path, err instanceof Error ? err.message : String(err));
  }
  if (version === 0) throw new NotAStoreError(path, "no schema version: an empty file or another program's database");
  if (version > MIGRATIONS.length) throw new NotAStoreError(path, `schema version ${version}, written by a newer ib-provider that knows more than ${MIGRATIONS.length}: upgrade`);
}

/** Another process (the service) has the store open: a vacuum would hold up its writes for as long as it runs. */
export class StoreBusyError extends Error {
  constructor(path: string) {
    super(`${path} is open in another process (is ib-provider running?): stop it, then vacuum`);
    this.name = "StoreBusyError";
  }
}

/** The database file plus its write-ahead log, in bytes (as MarketStore.stats counts it). */
export function storeFileBytes(path: string): number {
  const size = (p: string) => {
    try {
      return statSync(p).size;
    } catch {
      return 0;
    }
  };
  return size(path) + size(`${path}-wal`);
}

/**
 * Rewrites the file without its free pages (VACUUM) and folds the WAL back into it (checkpoint, truncated).
 * Only with the file to itself: it takes SQLite's exclusive lock first without waiting (busy_timeout 0) and
 * throws StoreBusyError at once when another connection has the file open, rather than blocking the
 * service's writes (or waiting on them) for the length of a VACUUM.
 */
export function vacuumStore(path: string): { beforeBytes: number; afterBytes: number } {
  const beforeBytes = storeFileBytes(path);
  const db = openDatabase(path);
  try {
    db.pragma("busy_timeout = 0");
    // In WAL mode, EXCLUSIVE locking needs every other connection gone; it is kept until close.
    db.pragma("locking_mode = EXCLUSIVE");
    try {
      db.exec("BEGIN EXCLUSIVE");
      db.exec("COMMIT");
    } catch (err) {
      if (isBusy(err)) throw new StoreBusyError(path);
      throw err;
    }
    db.exec("VACUUM");
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
  return { beforeBytes, afterBytes: storeFileBytes(path) };
}

function isBusy(err: unknown): boolean {
  return err instanceof Error && "code" in err && (err.code === "SQLITE_BUSY" || err.code === "SQLITE_LOCKED");
}
