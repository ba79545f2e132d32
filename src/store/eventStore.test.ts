import Database from "better-sqlite3";
import { beforeEach, describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { openDatabase } from "./database.js";
import { positionJustBefore } from "./eventStore.js";
import { MarketStore } from "./marketStore.js";
import { MIGRATIONS } from "./migrations.js";
import { dataRows, positions, row, storeFiles, T0 } from "./testing/eventStoreFixture.js";

const HOUR = 3_600_000;

const files = storeFiles("ibp-events-");
const { open } = files;

describe("the event store's numbering", () => {
  it("migrates a store of schema version 1 to the latest, keeping its candles and counting no events yet", () => {
    const v1 = new Database(files.path);
    v1.exec(MIGRATIONS[0]!);
    v1.pragma("user_version = 1");
    v1.exec("INSERT INTO candle_series (id, con_id, interval, what_to_show, rth, symbol, time_zone) VALUES (1, 1, 'min1', 'TRADES', 0, 'AAPL', 'UTC')");
    v1.exec("INSERT INTO candles VALUES (1, 0, '1', '1', '1', '1', '1', NULL, 1, 1)");
    v1.close();
    const stats = open().stats();
    expect(stats.schemaVersion).toBe(MIGRATIONS.length);
    expect(stats.rows).toEqual({ candles: 1, coverage: 0, series: 1, contracts: 0, events: 0, feeds: 0 });
  });

  it("continues the numbering in the same epoch after a clean close and reopen, with the first recording's symbol", async () => {
    let store = open();
    const first = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    expect(first).toMatchObject({ epoch: T0, brokenFrom: undefined, symbol: "AAPL", last: { seq: 0, sub: 0 } });
    first.append(dataRows(1, 5));
    first.close();
    expect(() => first.append(dataRows(6, 6))).toThrow(/closed/);
    store.close();

    store = open();
    const second = store.events.openFeed("tick:AAPL", "tick", "aapl-alias", T0 + HOUR);
    expect(second).toMatchObject({ epoch: T0, brokenFrom: undefined, symbol: "AAPL", last: { seq: 5, sub: 0 } });
    second.append(dataRows(6, 7));
    await store.flushed();
    expect(positions(second.read({ seq: 0, sub: 0 }, 100))).toEqual(["1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0"]);
    expect(second.epochs()).toEqual([{ epoch: T0, firstSeq: 1 }]);
    expect(store.stats().rows).toMatchObject({ events: 7, feeds: 1 });
  });

  it("hands rows to its writer at most every sendEveryMs (the provider role's pace), reads seeing them meanwhile, and a close writes them", async () => {
    let store = open();
    store.events.sendEveryMs = 60_000;
    const feed = store.events.openFeed("tick:MSFT", "tick", "MSFT", T0);
    feed.append(dataRows(1, 3));
    feed.append(dataRows(4, 5));
    await new Promise((resolve) => setImmediate(resolve));
    // Not written yet (the next send is a minute away), but read like any row appended.
    expect(store.stats().rows.events).toBe(0);
    expect(positions(feed.read({ seq: 0, sub: 0 }, 10))).toEqual(["1.0", "2.0", "3.0", "4.0", "5.0"]);
    feed.close();
    store.close();
    store = open();
    expect(store.stats().rows.events).toBe(5);
    store.close();
  });

  it("writes every row appended when it closes, however many batches a feed's backlog needs, and marks the feed closed", () => {
    let store = open();
    const feed = store.events.openFeed("tick:IBM", "tick", "IBM", T0);
    store.events.sendEveryMs = 60_000; // nothing written before the close
    for (let from = 1; from <= 60_000; from += 10_000) feed.append(dataRows(from, from + 9_999));
    feed.close();
    store.close();
    store = open();
    expect(store.stats().rows.events).toBe(60_000);
    // Closed cleanly: the next instance continues the epoch.
    expect(store.events.openFeed("tick:IBM", "tick", "IBM", T0 + HOUR)).toMatchObject({ epoch: T0, brokenFrom: undefined, last: { seq: 60_000, sub: 0 } });
    store.close();
  });

  it("continues in the same epoch when reopened in the same process before the close is written", async () => {
    const store = open();
    const first = store.events.openFeed("trade:MSFT", "trade", "MSFT", T0);
    first.append(dataRows(1, 3));
    first.close();
    const second = store.events.openFeed("trade:MSFT", "trade", "MSFT", T0 + 1);
    expect(second).toMatchObject({ epoch: T0, brokenFrom: undefined, last: { seq: 3, sub: 0 } });
    second.append(dataRows(4, 4));
    await store.flushed();
    expect(positions(second.read({ seq: 0, sub: 0 }, 10))).toEqual(["1.0", "2.0", "3.0", "4.0"]);
  });

  it("starts a new epoch after an instance that never closed (a crash), saying where the last one ended", async () => {
    let store = open();
    const crashed = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    crashed.append([...dataRows(1, 4), row(4, 1, T0 + 4_500)]);
    await store.flushed();
    // Dropped without close(): the row still says an instance is recording.
    store.close();

    store = open();
    const next = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0 + HOUR);
    expect(next).toMatchObject({ epoch: T0 + HOUR, brokenFrom: { epoch: T0, lastSeq: 4 }, last: { seq: 4, sub: 1 } });
    expect(next.epochs()).toEqual([
      { epoch: T0, firstSeq: 1 },
      { epoch: T0 + HOUR, firstSeq: 5 },
    ]);
    next.close();
    store.close();

    // A clock behind the last epoch still moves the epoch forward.
    store = open();
    const again = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    expect(again.epoch).toBe(T0 + HOUR);
  });

  it("opens a feed without waiting while another process holds the file's lock, writing its row once the lock is free", async () => {
    const store = open();
    const cli = new Database(files.path);
    cli.exec("BEGIN IMMEDIATE"); // the operator's `npm run store -- delete`, mid-transaction
    const started = performance.now();
    const journal = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    expect(performance.now() - started).toBeLessThan(100);
    journal.append(dataRows(1, 3));
    await until(() => store.stats().busyRetries > 0, { what: "the writer to find the file locked" });
    cli.exec("COMMIT");
    cli.close();
    await store.flushed();
    expect(positions(journal.read({ seq: 0, sub: 0 }, 10))).toEqual(["1.0", "2.0", "3.0"]);
    expect(journal.epochs()).toEqual([{ epoch: T0, firstSeq: 1 }]);
    expect(store.stats().failedWrites).toBe(0);
  });

  it("lists every recorded feed for the operator: epoch, last seq, state and the times of its oldest and newest rows", async () => {
    const store = open();
    const ticks = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    ticks.append(dataRows(1, 3));
    store.events.openFeed("account:U1", "account", "U1", T0).close();
    await store.flushed();
    expect(store.events.feedInfos()).toEqual([
      { key: "account:U1", kind: "account", symbol: "U1", epoch: T0, lastSeq: 0, open: false, broken: false, oldestMs: undefined, newestMs: undefined },
      { key: "tick:AAPL", kind: "tick", symbol: "AAPL", epoch: T0, lastSeq: 3, open: true, broken: false, oldestMs: T0 + 1_000, newestMs: T0 + 3_000 },
    ]);
  });

  it("refuses a second open journal of a feed in one process", () => {
    const store = open();
    store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    expect(() => store.events.openFeed("tick:AAPL", "tick", "AAPL", T0)).toThrow(/already being recorded/);
  });

  it("marks the feed broken when a write fails, records nothing more of that instance, and the next instance starts a new epoch", async () => {
    let store = open();
    const journal = store.events.openFeed("orderBook:AAPL", "orderBook", "AAPL", T0);
    journal.append(dataRows(1, 3));
    await store.flushed();
    // The seam: a trigger, created on a second connection, that fails the insert of seq 5 as a full disk would.
    const other = new Database(files.path);
    other.exec("CREATE TRIGGER fail_seq_5 BEFORE INSERT ON events WHEN NEW.seq = 5 BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END");
    other.close();
    journal.append(dataRows(4, 5));
    await store.flushed();
    journal.append(dataRows(6, 6));
    await store.flushed();
    expect(store.stats().failedWrites).toBe(1);
    expect(positions(journal.read({ seq: 0, sub: 0 }, 10))).toEqual(["1.0", "2.0", "3.0"]);
    journal.close();
    store.close();

    store = open();
    const next = store.events.openFeed("orderBook:AAPL", "orderBook", "AAPL", T0 + HOUR);
    expect(next).toMatchObject({ epoch: T0 + HOUR, brokenFrom: { epoch: T0, lastSeq: 3 }, last: { seq: 3, sub: 0 } });
    expect(next.epochs().map((e) => e.firstSeq)).toEqual([1, 4]);
  });

  it("starts a new epoch in the same process after a failed write of the previous instance", async () => {
    const store = open();
    const journal = store.events.openFeed("account:U1", "account", "U1", T0);
    const other = new Database(files.path);
    other.exec("CREATE TRIGGER fail_all BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END");
    other.close();
    journal.append(dataRows(1, 2));
    await store.flushed();
    journal.close();
    const next = store.events.openFeed("account:U1", "account", "U1", T0 + 1);
    expect(next).toMatchObject({ epoch: T0 + 1, brokenFrom: { epoch: T0, lastSeq: 0 }, last: { seq: 2, sub: 0 } });
  });
});

describe("whenCommitted", () => {
  it("runs right after the job that commits the rows appended before it, and at once when nothing is pending", async () => {
    const store = open();
    const journal = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    const seen: string[] = [];
    journal.whenCommitted(() => seen.push("idle"));
    expect(seen).toEqual(["idle"]);

    journal.append(dataRows(1, 1_500)); // two jobs: 1,000 rows, then 500
    journal.whenCommitted(() => seen.push(`after 1500: ${journal.read({ seq: 1_499, sub: 0 }, 10).length} row(s) readable`));
    journal.append(dataRows(1_501, 1_501));
    journal.whenCommitted(() => seen.push("after 1501"));
    expect(seen).toEqual(["idle"]);
    await store.flushed();
    expect(seen).toEqual(["idle", "after 1500: 2 row(s) readable", "after 1501"]);
  });

  it("does not wait for rows appended after the call (a busy feed)", async () => {
    const store = open();
    const journal = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    let fired = false;
    journal.append(dataRows(1, 10));
    journal.whenCommitted(() => (fired = true));
    let seq = 10;
    const more = setInterval(() => journal.append(dataRows(++seq, seq)), 0);
    try {
      await new Promise<void>((resolve) => journal.whenCommitted(resolve));
    } finally {
      clearInterval(more);
    }
    expect(fired).toBe(true);
  });

  it("runs when the store closes with rows pending (committed by the close)", () => {
    const store = open();
    const journal = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    let fired = false;
    journal.append(dataRows(1, 3));
    journal.whenCommitted(() => (fired = true));
    store.close();
    expect(fired).toBe(true);
  });
});

describe("reading a journal", () => {
  // seq 1 data; 1.1 status; 2 data; 2.1-2.3 snapshot (one group); 3 data; 3.1 status; 3.2-3.3 snapshot; 4 data.
  const rows = [
    row(1, 0, T0 + 1_000),
    row(1, 1, T0 + 1_500, "status"),
    row(2, 0, T0 + 2_000),
    row(2, 1, T0 + 2_000, "snapshot"),
    row(2, 2, T0 + 2_000, "snapshot"),
    row(2, 3, T0 + 2_100, "snapshot"),
    row(3, 0, T0 + 3_000),
    row(3, 1, T0 + 3_000, "status"),
    row(3, 2, T0 + 4_000, "snapshot"),
    row(3, 3, T0 + 4_000, "snapshot"),
    row(4, 0, T0 + 5_000),
  ];
  let store: MarketStore;
  beforeEach(async () => {
    store = open();
    store.events.openFeed("orderBook:AAPL", "orderBook", "AAPL", T0).append(rows);
    await store.flushed();
  });
  const journal = () => {
    // The rows as another instance finds them (a new epoch: the first was never closed; the rows are the same).
    store.close();
    store = open();
    return store.events.openFeed("orderBook:AAPL", "orderBook", "AAPL", T0 + HOUR);
  };

  it("pages after any position across data, status and snapshot rows, with each row's kind, time and bytes", () => {
    const j = journal();
    const page1 = j.read({ seq: 0, sub: 0 }, 4);
    expect(positions(page1)).toEqual(["1.0", "1.1", "2.0", "2.1"]);
    expect(page1.map((r) => r.kind)).toEqual(["data", "status", "data", "snapshot"]);
    expect(page1[1]!.timeMs).toBe(T0 + 1_500);
    expect(Buffer.from(page1[3]!.bytes).toString()).toBe("snapshot 2.1");
    expect(positions(j.read(page1[3]!, 4))).toEqual(["2.2", "2.3", "3.0", "3.1"]);
    expect(positions(j.read({ seq: 3, sub: 1 }, 100))).toEqual(["3.2", "3.3", "4.0"]);
    expect(j.read({ seq: 4, sub: 0 }, 100)).toEqual([]);
    expect(j.oldest()).toEqual({ timeMs: T0 + 1_000, position: { seq: 1, sub: 0 } });
  });

  it("positionBefore(t) is the position right before the first row at or after t", () => {
    const j = journal();
    const from = (t: number) => {
      const p = j.positionBefore(t);
      return p === undefined ? undefined : positions(j.read(p, 1))[0];
    };
    expect(j.positionBefore(T0)).toEqual({ seq: 0, sub: Number.MAX_SAFE_INTEGER });
    expect(from(T0)).toBe("1.0");
    expect(from(T0 + 1_000)).toBe("1.0");
    expect(from(T0 + 1_001)).toBe("1.1");
    expect(j.positionBefore(T0 + 1_001)).toEqual({ seq: 1, sub: 0 });
    expect(from(T0 + 2_001)).toBe("2.3");
    expect(from(T0 + 5_000)).toBe("4.0");
    expect(j.positionBefore(T0 + 5_001)).toBeUndefined();
  });

  it("snapshotBefore(t) is the position right before the first row of the newest snapshot begun at or before t", () => {
    const j = journal();
    expect(j.snapshotBefore(T0 + 1_999)).toBeUndefined();
    expect(j.snapshotBefore(T0 + 2_000)).toEqual({ seq: 2, sub: 0 });
    // The group's later row is after t, its first is not: the group still counts, from its first row.
    expect(j.snapshotBefore(T0 + 2_050)).toEqual({ seq: 2, sub: 0 });
    expect(j.snapshotBefore(T0 + 3_999)).toEqual({ seq: 2, sub: 0 });
    expect(j.snapshotBefore(T0 + 4_000)).toEqual({ seq: 3, sub: 1 });
    expect(positions(j.read(j.snapshotBefore(T0 + 10_000)!, 3))).toEqual(["3.2", "3.3", "4.0"]);
  });

  it("positionJustBefore orders right before a data row and a status row", () => {
    expect(positionJustBefore({ seq: 5, sub: 0 })).toEqual({ seq: 4, sub: Number.MAX_SAFE_INTEGER });
    expect(positionJustBefore({ seq: 5, sub: 2 })).toEqual({ seq: 5, sub: 1 });
  });

  it("reads after a position by the primary key (row values), and finds times through the time index", () => {
    store.close();
    const db = openDatabase(files.path);
    const plan = (sql: string) => {
      const statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
      return (statement.all(...[1, 0, 0, 10].slice(0, sql.split("?").length - 1)) as { detail: string }[]).map((r) => r.detail).join("; ");
    };
    expect(plan("SELECT seq, sub, time_ms, kind, bytes FROM events WHERE feed_id = ? AND (seq, sub) > (?, ?) ORDER BY seq, sub LIMIT ?")).toMatch(/SEARCH events USING PRIMARY KEY \(feed_id=\? AND \(seq,sub\)>\(\?,\?\)\)/);
    expect(plan("SELECT seq, sub FROM events WHERE feed_id = ? AND time_ms >= ? ORDER BY time_ms, seq, sub LIMIT 1")).toMatch(/SEARCH events USING (COVERING )?INDEX events_by_time/);
    expect(plan("SELECT seq, sub FROM events WHERE feed_id = ? AND kind = 2 AND time_ms <= ? ORDER BY time_ms DESC, seq DESC, sub DESC LIMIT 1")).toMatch(/SEARCH events USING (COVERING )?INDEX events_snapshots/);
    db.close();
  });
});

describe("retention", () => {
  it("deletes only rows older than their kind's retention, oldest first and in batches, and the epochs left without rows", async () => {
    let store = open();
    const ticks = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0);
    ticks.append(dataRows(1, 10)); // T0 + 1 s … T0 + 10 s
    await store.flushed();
    store.close(); // never closed: the next instance is a new epoch (first seq 11)
    store = open();
    const ticks2 = store.events.openFeed("tick:AAPL", "tick", "AAPL", T0 + HOUR);
    ticks2.append(dataRows(11, 20));
    const candles = store.events.openFeed("candle:AAPL:min1", "candle", "AAPL", T0);
    candles.append(dataRows(1, 20));
    await store.flushed();
    expect(ticks2.epochs().map((e) => e.firstSeq)).toEqual([1, 11]);

    const retention = { tick: 24 * HOUR, candle: 0, trade: undefined };
    const now = T0 + 24 * HOUR + 15_500; // ticks before T0 + 15.5 s are older than a day: seq 1…15
    expect(await store.events.prune(retention, now, 4)).toBe(4);
    expect(ticks2.oldest()!.position).toEqual({ seq: 5, sub: 0 });
    expect(await store.events.prune(retention, now, 4)).toBe(4);
    expect(await store.events.prune(retention, now, 4)).toBe(4);
    // The first epoch's last rows went in this batch: it is gone with them.
    expect(ticks2.epochs().map((e) => e.firstSeq)).toEqual([11]);
    expect(await store.events.prune(retention, now, 4)).toBe(3);
    expect(await store.events.prune(retention, now, 4)).toBe(0);
    expect(positions(ticks2.read({ seq: 0, sub: 0 }, 100))).toEqual(positions(dataRows(16, 20)));
    expect(candles.read({ seq: 0, sub: 0 }, 100)).toHaveLength(20);
    expect(store.stats().rows).toMatchObject({ events: 25, feeds: 2 });

    // Everything old: the current epoch stays listed.
    expect(await store.events.prune(retention, now + 24 * HOUR, 100)).toBe(5);
    expect(ticks2.oldest()).toBeUndefined();
    expect(ticks2.epochs()).toEqual([{ epoch: T0 + HOUR, firstSeq: 11 }]);
  });

  it("startRetention prunes in the background until nothing old is left, and stops on close", async () => {
    const store = open();
    const trades = store.events.openFeed("trade:AAPL", "trade", "AAPL", T0);
    trades.append(dataRows(1, 12_000)); // more than two batches of 5,000
    await store.flushed();
    store.startRetention({ trade: HOUR }, 5, () => T0 + HOUR + 6_001_000);
    await until(() => store.stats().rows.events === 6_000, { what: "the trades older than an hour to be pruned", timeoutMs: 2_000 });
    expect(trades.oldest()!.position.seq).toBe(6_001);
    store.stopRetention();
  });
});

describe("a writer far behind", () => {
  it("sheds a feed's rows beyond 100,000 waiting for the writer, counts them, and keeps what it took: the numbers missing are a gap", async () => {
    const store = open();
    const journal = store.events.openFeed("trade/1", "trade", "AAPL", T0);
    // Appended in one turn: the writer (a setImmediate away) has taken nothing yet.
    for (let from = 1; from <= 120_000; from += 1_000) journal.append(dataRows(from, from + 999));
    expect(journal.read({ seq: 0, sub: 0 }, 200_000).length).toBe(100_000); // the rows waiting for the writer are read too
    await store.flushed();
    expect(store.stats().eventsShed).toBe(20_000);
    const kept = journal.read({ seq: 99_998, sub: 0 }, 10);
    expect(positions(kept)).toEqual(["99999.0", "100000.0"]);
    journal.append(dataRows(120_001, 120_001));
    await store.flushed();
    expect(positions(journal.read({ seq: 100_000, sub: 0 }, 10))).toEqual(["120001.0"]);
  });
});

describe("reading a journal", () => {
  it("gives every row appended, committed or still waiting for the writer, in order and once", async () => {
    const store = open();
    const journal = store.events.openFeed("tick/1", "tick", "AAPL", T0);
    journal.append(dataRows(1, 5));
    await store.flushed();
    journal.append([...dataRows(6, 7), row(7, 1, T0 + 7_500)]);
    const before = positions(journal.read({ seq: 3, sub: 0 }, 100));
    await store.flushed();
    expect(before).toEqual(["4.0", "5.0", "6.0", "7.0", "7.1"]);
    expect(positions(journal.read({ seq: 3, sub: 0 }, 100))).toEqual(before);
    expect(positions(journal.read({ seq: 6, sub: 0 }, 1))).toEqual(["7.0"]);
  });
});
