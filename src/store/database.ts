import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";
import { IN_MEMORY } from "./storeSettings.js";


export type SqliteDatabase = Database.Database;

export class StoreVersionError extends Error {}

/** Another connection (the operator's CLI) holds the lock this statement needs: try again later. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED" || (typeof code === "string" && code.startsWith("SQLITE_BUSY_"));
}

/**
 * Opens (creating when absent) the store's SQLite file: WAL (readers never block the one writer, and a
 * crash loses at most the open transaction), synchronous=NORMAL (durable up to the last checkpointed
 * commit on power loss, never corrupt), foreign keys on, then migrated to the current schema.
 */
/**
 * `busyTimeoutMs`: how long a statement waits, blocking the thread, for another connection's lock (the
 * operator's CLI). The service opens with 0: its writer retries a busy job later instead (StoreWriter).
 */
export function openDatabase(path: string, busyTimeoutMs = 5_000): SqliteDatabase {
  if (path !== IN_MEMORY) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma("user_version", { simple: true }) as number;
}

function migrate(db: SqliteDatabase): void {
  // Up to date (every open but the first of a version): nothing to write, so no write lock asked for — the
  // service opens with busy_timeout 0 and must start while the operator's CLI writes.
  if (checkedVersion(db) === MIGRATIONS.length) return;
  // Migrating waits for the write lock (another process migrating the same file, the CLI writing) whatever the
  // connection's own busy_timeout: the service's 0 is for its writer's jobs, retried later; a start has no later.
  const busyTimeout = db.pragma("busy_timeout", { simple: true }) as number;
  if (busyTimeout < MIGRATION_BUSY_TIMEOUT_MS) db.pragma(`busy_timeout = ${MIGRATION_BUSY_TIMEOUT_MS}`);
  try {
    migrateSteps(db);
  } finally {
    if (busyTimeout < MIGRATION_BUSY_TIMEOUT_MS) db.pragma(`busy_timeout = ${busyTimeout}`);
  }
}

/** How long a migration waits for another connection's write lock at most. */
const MIGRATION_BUSY_TIMEOUT_MS = 5_000;

function migrateSteps(db: SqliteDatabase): void {
  // Each step reads the version inside its own write transaction (IMMEDIATE: the write lock first): two
  // processes opening a fresh file at once apply each migration once, the second finding it done.
  for (;;) {
    const done = db.transaction(() => {
      const version = checkedVersion(db);
      if (version === MIGRATIONS.length) return true;
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
      return false;
    }).immediate();
    if (done) return;
  }
}

/** The schema version, refused when a newer ib-provider wrote it. */
function checkedVersion(db: SqliteDatabase): number {
  const version = schemaVersion(db);
  if (version > MIGRATIONS.length) {
    throw new StoreVersionError(`store ${db.name} has schema version ${version}; this ib-provider knows up to ${MIGRATIONS.length} (written by a newer version: upgrade, or point STORE_PATH elsewhere)`);
  }
  return version;
}
