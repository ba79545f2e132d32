import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { dec } from "../domain/decimal.js";
import { MarketStore } from "./marketStore.js";
import { dataRows, positions, storeFiles, T0 } from "./testing/eventStoreFixture.js";

// The recorded events' writer on its own thread (eventWriter.ts): a file store's inserts are committed by
// another connection while this thread runs, and the two connections share the file's write lock.

const files = storeFiles("ibp-writer-");
const { open } = files;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("the event writer's thread", () => {
  it("commits a batch while this thread is busy, and a read before its acknowledgement gives each row once", async () => {
    const store = open();
    const journal = store.events.openFeed("trade:AAPL", "trade", "AAPL", T0);
    journal.append(dataRows(1, 500));
    await turn(); // the batch is handed over
    const raw = new Database(files.path, { readonly: true });
    const count = raw.prepare("SELECT COUNT(*) FROM events").pluck();
    const deadline = performance.now() + 10_000;
    // This thread never yields here: only another thread can commit the rows.
    let committed = 0;
    while ((committed = count.get() as number) < 500 && performance.now() < deadline);
    raw.close();
    expect(committed).toBe(500);
    expect(store.stats().pendingWrites).toBeGreaterThan(0); // committed, not acknowledged yet
    const read = journal.read({ seq: 0, sub: 0 }, 1_000);
    expect(positions(read)).toEqual(positions(dataRows(1, 500)));
    expect(positions(journal.read({ seq: 250, sub: 0 }, 3))).toEqual(["251.0", "252.0", "253.0"]);
    await store.flushed();
    expect(store.stats().pendingWrites).toBe(0);
    expect(positions(journal.read({ seq: 498, sub: 0 }, 10))).toEqual(["499.0", "500.0"]);
  });

  it("takes turns with this thread's writes: candle writes land promptly during a flood of events, and neither side finds the file busy", async () => {
    const store = open();
    const journal = store.events.openFeed("trade:AAPL", "trade", "AAPL", T0);
    let seq = 0;
    const flood = setInterval(() => journal.append(dataRows(seq + 1, (seq += 2_000))), 1);
    const key = { conId: 1, interval: "min1" as const, whatToShow: "TRADES", rth: false, symbol: "AAPL", timeZone: "UTC" };
    const waits: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const bars = Array.from({ length: 60 }, (_, m) => ({ startMs: (i * 60 + m) * 60_000, open: dec("1"), high: dec("2"), low: dec("1"), close: dec("2"), volume: dec("1"), count: 1, complete: true }));
        await store.candles.write(key, bars, {}, T0);
        waits.push(performance.now() - started);
      }
    } finally {
      clearInterval(flood);
    }
    await store.flushed();
    const stats = store.stats();
    expect(Math.max(...waits)).toBeLessThan(1_000);
    expect(stats.rows.candles).toBe(1_200);
    expect(stats.rows.events + stats.eventsShed).toBe(seq);
    expect(stats.rows.events).toBeGreaterThan(0);
    expect({ busyRetries: stats.busyRetries, failedWrites: stats.failedWrites }).toEqual({ busyRetries: 0, failedWrites: 0 });
  });

  it("a synchronous close commits the batches in the writer's hands, then writes the feed's close after them", async () => {
    let store = open();
    const first = store.events.openFeed("trade:AAPL", "trade", "AAPL", T0);
    first.append(dataRows(1, 3_000));
    await turn(); // handed over
    first.append(dataRows(3_001, 3_010)); // not yet
    first.close();
    store.close();
    store = open();
    const next = store.events.openFeed("trade:AAPL", "trade", "AAPL", T0 + 1);
    // A clean close after every row: the same epoch, numbering after the last row.
    expect(next).toMatchObject({ epoch: T0, brokenFrom: undefined, last: { seq: 3_010, sub: 0 } });
    expect(next.read({ seq: 0, sub: 0 }, 10_000)).toHaveLength(3_010);
  });

  it("keeps a feed's writes in order when an instance, opened while the file was locked, closes before its open is written and the next opens", async () => {
    const store = open();
    store.events.openFeed("trade:AAPL", "trade", "AAPL", T0).close(); // the feed's row exists
    await store.flushed();
    const cli = new Database(files.path);
    cli.exec("BEGIN IMMEDIATE"); // the operator's CLI, mid-transaction
    const first = store.events.openFeed("trade:AAPL", "trade", "AAPL", T0 + 1);
    first.append(dataRows(1, 5));
    first.close();
    const second = store.events.openFeed("trade:AAPL", "trade", "AAPL", T0 + 2);
    second.append(dataRows(6, 8));
    expect(positions(second.read({ seq: 0, sub: 0 }, 100))).toEqual(positions(dataRows(1, 8)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    cli.exec("COMMIT");
    cli.close();
    await store.flushed();
    expect(positions(second.read({ seq: 0, sub: 0 }, 100))).toEqual(positions(dataRows(1, 8)));
    expect(store.events.feedInfos()).toMatchObject([{ key: "trade:AAPL", epoch: T0, lastSeq: 8, open: true, broken: false }]);
    expect(store.stats().failedWrites).toBe(0);
  });

  it("an in-memory store commits in this thread (no other connection can open it)", async () => {
    const store = MarketStore.open(":memory:");
    try {
      const journal = store.events.openFeed("trade:AAPL", "trade", "AAPL", T0);
      journal.append(dataRows(1, 10));
      await store.flushed();
      expect(store.stats().rows.events).toBe(10);
    } finally {
      store.close();
    }
  });
});
