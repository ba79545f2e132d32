import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dec } from "../domain/decimal.js";
import type { CandleSeriesKey, StoredBar } from "./candleStore.js";
import { openDatabase, StoreVersionError } from "./database.js";
import { MarketStore } from "./marketStore.js";

const KEY: CandleSeriesKey & { symbol: string; timeZone: string } = { conId: 265598, interval: "min1", whatToShow: "TRADES", rth: false, symbol: "AAPL", timeZone: "America/New_York" };
const T0 = Date.UTC(2026, 10, 2, 14, 30);

function bar(i: number, close = "100.25"): StoredBar {
  return { startMs: T0 + i * 60_000, open: dec("100.1"), high: dec("100.5"), low: dec("99.95"), close: dec(close), volume: dec("1234.5"), vwap: dec("100.2"), count: 17, complete: true };
}

let dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "ibp-store-"));
  dirs.push(dir);
  return join(dir, "store.sqlite");
}
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe("the candle store", () => {
  it("keeps bars with exact decimals and reads a range back in order", async () => {
    const store = MarketStore.open(":memory:");
    await store.candles.write(KEY, [bar(2), bar(0), bar(1)], {}, T0);
    const read = store.candles.read(KEY, T0, T0 + 2 * 60_000);
    expect(read.map((b) => [b.startMs - T0, b.close.toString(), b.volume.toString(), b.vwap?.toString(), b.count])).toEqual([
      [0, "100.25", "1234.5", "100.2", 17],
      [60_000, "100.25", "1234.5", "100.2", 17],
    ]);
    store.close();
  });

  it("replaces a bar written again at the same start (IB revised it)", async () => {
    const store = MarketStore.open(":memory:");
    await store.candles.write(KEY, [bar(0, "1")], {}, T0);
    await store.candles.write(KEY, [bar(0, "2")], {}, T0);
    expect(store.candles.read(KEY, T0, T0 + 60_000).map((b) => b.close.toString())).toEqual(["2"]);
    store.close();
  });

  it("merges covered ranges, including empty ones (nothing at IB is still covered)", async () => {
    const store = MarketStore.open(":memory:");
    await store.candles.write(KEY, [], { covered: { fromMs: 0, toMs: 100 } }, T0);
    await store.candles.write(KEY, [bar(0)], { covered: { fromMs: 200, toMs: 300 } }, T0);
    await store.candles.write(KEY, [], { covered: { fromMs: 100, toMs: 150 } }, T0);
    expect(store.candles.covered(KEY, 0, 1_000, T0)).toEqual([{ fromMs: 0, toMs: 150 }, { fromMs: 200, toMs: 300 }]);
    expect(store.candles.covered(KEY, 50, 250, T0)).toEqual([{ fromMs: 50, toMs: 150 }, { fromMs: 200, toMs: 250 }]);
    expect(store.stats().rows.coverage).toBe(2);
    store.close();
  });

  it("replaces a range with what IB now has there (a bar IB dropped is gone)", async () => {
    const store = MarketStore.open(":memory:");
    await store.candles.write(KEY, [bar(0), bar(1), bar(2)], {}, T0);
    await store.candles.write(KEY, [bar(1, "9")], { replace: { fromMs: T0, toMs: T0 + 120_000 } }, T0);
    expect(store.candles.read(KEY, T0, T0 + 180_000).map((b) => [b.startMs - T0, b.close.toString()])).toEqual([
      [60_000, "9"],
      [120_000, "100.25"],
    ]);
    store.close();
  });

  it("counts the recent range as covered only until it is due again, and keeps the forming bar incomplete", async () => {
    const store = MarketStore.open(":memory:");
    const forming = { ...bar(1), complete: false };
    await store.candles.write(KEY, [bar(0), forming], { recent: { fromMs: T0, toMs: T0 + 120_000, formingEndMs: T0 + 120_000 } }, T0 + 60_000);
    const recent = (nowMs: number, ttlMs: number) => store.candles.covered(KEY, T0, T0 + 120_000, nowMs, ttlMs);
    expect(recent(T0 + 89_999, 30_000)).toEqual([{ fromMs: T0, toMs: T0 + 120_000 }]);
    expect(recent(T0 + 90_000, 30_000)).toEqual([]);
    // Never past the forming bar's end, whatever the TTL; and a reader with no TTL always asks again.
    expect(recent(T0 + 120_000, 600_000)).toEqual([]);
    expect(recent(T0 + 60_000, 0)).toEqual([]);
    expect(store.candles.read(KEY, T0, T0 + 120_000).map((b) => b.complete)).toEqual([true, false]);
    store.close();
  });

  it("keeps series apart by contract, interval, what-to-show and session", async () => {
    const store = MarketStore.open(":memory:");
    await store.candles.write(KEY, [bar(0)], { covered: { fromMs: T0, toMs: T0 + 60_000 } }, T0);
    for (const other of [{ ...KEY, conId: 1 }, { ...KEY, interval: "min5" as const }, { ...KEY, whatToShow: "MIDPOINT" }, { ...KEY, rth: true }]) {
      expect(store.candles.read(other, 0, T0 * 2)).toEqual([]);
      expect(store.candles.covered(other, 0, T0 * 2, T0)).toEqual([]);
    }
    store.close();
  });

  it("splits a large write into short transactions and still reads all of it", async () => {
    const store = MarketStore.open(":memory:");
    const many = Array.from({ length: 5_500 }, (_, i) => bar(i));
    await store.candles.write(KEY, many, { covered: { fromMs: T0, toMs: T0 + 5_500 * 60_000 } }, T0);
    expect(store.candles.read(KEY, T0, T0 + 5_500 * 60_000)).toHaveLength(5_500);
    expect(store.stats()).toMatchObject({ rows: { candles: 5_500, series: 1 }, pendingWrites: 0, failedWrites: 0 });
    store.close();
  });

  it("survives a restart: bars, coverage and series are in the file", async () => {
    const path = tempFile();
    const first = MarketStore.open(path);
    await first.candles.write(KEY, [bar(0), bar(1)], { covered: { fromMs: T0, toMs: T0 + 120_000 } }, T0);
    first.close();
    const second = MarketStore.open(path);
    expect(second.candles.read(KEY, T0, T0 + 120_000)).toHaveLength(2);
    expect(second.candles.covered(KEY, T0, T0 + 120_000, T0)).toEqual([{ fromMs: T0, toMs: T0 + 120_000 }]);
    expect(second.candles.series()).toMatchObject([{ symbol: "AAPL", interval: "min1", bars: 2, firstStartMs: T0, lastStartMs: T0 + 60_000 }]);
    expect(second.stats().sizeBytes).toBeGreaterThan(0);
    second.close();
  });

  it("a write after close fails and says why, without throwing at the caller", async () => {
    const errors: unknown[] = [];
    const store = MarketStore.open(":memory:", (err) => errors.push(err));
    store.close();
    await expect(store.candles.write(KEY, [bar(0)], {}, T0)).rejects.toThrow(/not open/);
    expect(errors).toHaveLength(1);
  });

  it("a write that fails part-way claims no coverage, and leaves every replaced bar in place or rewritten", async () => {
    const path = tempFile();
    const store = MarketStore.open(path);
    const range = { fromMs: T0, toMs: T0 + 2_500 * 60_000 };
    await store.candles.write(KEY, Array.from({ length: 2_500 }, (_, i) => bar(i, "1")), { covered: range }, T0);
    // IB's new answer for the range (e.g. a bridged gap asked again) fails in its second transaction (disk full, a lock).
    failInsertsAt(path, T0 + 1_500 * 60_000);
    const other = { ...KEY, interval: "min5" as const };
    await expect(store.candles.write(other, Array.from({ length: 2_500 }, (_, i) => bar(i, "2")), { covered: range }, T0)).rejects.toThrow(/injected/);
    expect(store.candles.covered(other, range.fromMs, range.toMs, T0)).toEqual([]);
    await expect(store.candles.write(KEY, Array.from({ length: 2_500 }, (_, i) => bar(i, "2")), { replace: range, covered: range }, T0)).rejects.toThrow(/injected/);
    // Coverage from before still claims the range: every bar is there, the first transaction's new, the rest old.
    const read = store.candles.read(KEY, range.fromMs, range.toMs);
    expect(read).toHaveLength(2_500);
    expect(read.map((b) => b.close.toString()).lastIndexOf("2")).toBe(999);
    store.close();
  });

  it("a series whose first write failed is not confused with the next new series", async () => {
    const path = tempFile();
    const store = MarketStore.open(path);
    const undo = failInsertsAt(path, T0);
    await expect(store.candles.write(KEY, [bar(0)], {}, T0)).rejects.toThrow(/injected/);
    undo();
    const msft = { ...KEY, conId: 272093, symbol: "MSFT" };
    await store.candles.write(msft, [bar(1, "7")], {}, T0);
    await store.candles.write(KEY, [bar(2, "3")], {}, T0);
    expect(store.candles.read(msft, T0, T0 + 600_000).map((b) => b.close.toString())).toEqual(["7"]);
    expect(store.candles.read(KEY, T0, T0 + 600_000).map((b) => b.close.toString())).toEqual(["3"]);
    store.close();
  });

  it("refuses a file written by a newer schema instead of guessing", () => {
    const path = tempFile();
    const db = openDatabase(path);
    db.pragma("user_version = 999");
    db.close();
    expect(() => MarketStore.open(path)).toThrow(StoreVersionError);
    expect(() => MarketStore.open(path)).toThrow(/schema version 999.*STORE_PATH/);
  });
});

/** From another connection, as a full disk or a lock would: inserts of a bar starting at `startMs` fail. Returns the undo. */
function failInsertsAt(path: string, startMs: number): () => void {
  const db = openDatabase(path);
  db.exec(`CREATE TRIGGER fail_at BEFORE INSERT ON candles WHEN NEW.start_ms = ${startMs} BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
  return () => {
    db.exec("DROP TRIGGER fail_at");
    db.close();
  };
}

describe("the store's row count", () => {
  it("follows inserts, replaced bars and deletes without counting the table", async () => {
    const store = MarketStore.open(":memory:");
    await store.candles.write(KEY, [bar(0), bar(1), bar(2)], {}, T0);
    await store.candles.write(KEY, [bar(1, "7"), bar(3)], {}, T0);
    expect(store.stats().rows.candles).toBe(4);
    await store.candles.write(KEY, [bar(0)], { replace: { fromMs: T0, toMs: T0 + 3 * 60_000 } }, T0);
    expect(store.stats().rows.candles).toBe(2);
    expect(store.candles.read(KEY, T0, T0 + 10 * 60_000)).toHaveLength(2);
    store.close();
  });
});
