// The event writer's thread (eventWriter.ts, WorkerEventWriter): its own connection to the store's file,
// batches of recorded rows in, one acknowledgement per batch out. Plain JavaScript: a worker is started by
// Node itself (tsx in the service, vitest in tests), without a TypeScript loader in every case.
import { workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { path, shared, port } = workerData;
const LOCK = 0, WANT = 1, SYNCED = 2, CLOSING = 3;
const LOCK_FREE = 0, LOCK_WORKER = 2;
const HEADER = 29;
const ROWS_PER_TRANSACTION = 1_000; // eventJournal.ts ROWS_PER_JOB
const ROWS_PER_STATEMENT = 100;

// It may block: it is not the event loop. WAL was set by the main connection (it is the file's).
const db = new Database(path);
db.pragma("synchronous = NORMAL");
db.pragma("foreign_keys = ON");
db.pragma("busy_timeout = 5000");

const inserts = new Map();
function insertOf(n) {
  let statement = inserts.get(n);
  if (statement === undefined) {
    statement = db.prepare(`INSERT INTO events (feed_id, seq, sub, time_ms, kind, bytes) VALUES ${Array.from({ length: n }, () => "(?, ?, ?, ?, ?, ?)").join(", ")}`);
    inserts.set(n, statement);
  }
  return statement;
}
const setLast = db.prepare("UPDATE feeds SET last_seq = ?, last_sub = ? WHERE id = ?");
const countEvents = db.prepare("UPDATE row_counts SET n = n + ? WHERE tbl = 'events'");
const begin = db.prepare("BEGIN IMMEDIATE");
const commit = db.prepare("COMMIT");
const rollback = db.prepare("ROLLBACK");

/** The store's write turn, shared with the main thread: it goes first when it asked (once per transaction, ≤ 20 ms). */
function acquire() {
  let yielded = false;
  for (;;) {
    const wanted = Atomics.load(shared, WANT) === 1 && !yielded;
    if (!wanted && Atomics.compareExchange(shared, LOCK, LOCK_FREE, LOCK_WORKER) === LOCK_FREE) return;
    const held = Atomics.load(shared, LOCK);
    if (held !== LOCK_FREE) Atomics.wait(shared, LOCK, held, 20);
    else {
      Atomics.wait(shared, WANT, 1, 20);
      yielded = true;
    }
  }
}
function release() {
  Atomics.store(shared, LOCK, LOCK_FREE);
  Atomics.notify(shared, LOCK);
}

const isBusy = (err) => typeof err?.code === "string" && (err.code.startsWith("SQLITE_BUSY") || err.code === "SQLITE_LOCKED");
const sleep = new Int32Array(new SharedArrayBuffer(4));

/** Instances whose batch failed: their later batches are not written (the journal ends at the failure). */
const failed = new Map();

/** Rows [from, to) of a batch in one transaction, with the feed's last position and the event count. */
function commitRows(feedId, rows, from, to) {
  let backoff = 25;
  for (;;) {
    acquire();
    try {
      begin.run();
      try {
        let i = from;
        const params = [];
        while (i < to) {
          const n = Math.min(ROWS_PER_STATEMENT, to - i);
          params.length = 0;
          for (let k = i; k < i + n; k++) {
            const r = rows[k];
            params.push(feedId, r[0], r[1], r[2], r[3], r[4]);
          }
          insertOf(n).run(params);
          i += n;
        }
        const last = rows[to - 1];
        setLast.run(last[0], last[1], feedId);
        countEvents.run(to - from);
        commit.run();
        return;
      } catch (err) {
        if (db.inTransaction) rollback.run();
        throw err;
      }
    } catch (err) {
      // Another process's lock held beyond busy_timeout (the operator's CLI): again later, unless the store closes.
      if (!isBusy(err) || Atomics.load(shared, CLOSING) === 1) throw err;
    } finally {
      release();
    }
    Atomics.wait(sleep, 0, 0, backoff);
    backoff = Math.min(1_000, backoff * 2);
  }
}

function decode(buffer, count) {
  const view = new DataView(buffer);
  const rows = new Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(at + 25, true);
    rows[i] = [view.getFloat64(at, true), view.getFloat64(at + 8, true), view.getFloat64(at + 16, true), view.getUint8(at + 24), Buffer.from(buffer, at + HEADER, length)];
    at += HEADER + length;
  }
  return rows;
}

function writeBatch({ id, feedId, instance, count, buffer }) {
  const earlier = failed.get(instance);
  if (earlier !== undefined) return { id, committed: null, error: earlier };
  const rows = decode(buffer, count);
  let committed = null;
  for (let from = 0; from < rows.length; from += ROWS_PER_TRANSACTION) {
    const to = Math.min(rows.length, from + ROWS_PER_TRANSACTION);
    try {
      commitRows(feedId, rows, from, to);
      committed = [rows[to - 1][0], rows[to - 1][1]];
    } catch (err) {
      const error = { message: String(err?.message ?? err), code: typeof err?.code === "string" ? err.code : undefined };
      failed.set(instance, error);
      return { id, committed, error };
    }
  }
  return { id, committed, error: null };
}

function synced(n) {
  Atomics.store(shared, SYNCED, n);
  Atomics.notify(shared, SYNCED);
}

port.on("message", (message) => {
  if (message.type === "batch") {
    port.postMessage([writeBatch(message)]);
  } else if (message.type === "sync") {
    synced(message.n);
  } else if (message.type === "close") {
    try {
      db.close();
    } finally {
      synced(message.n);
      port.close();
    }
  }
});
