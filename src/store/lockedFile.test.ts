import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, expect, it } from "vitest";
import { dec } from "../domain/decimal.js";
import { until } from "../testing/until.js";
import { MarketStore } from "./marketStore.js";

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const KEY = { conId: 1, interval: "min1" as const, whatToShow: "TRADES", rth: false, symbol: "LOCK", timeZone: "UTC" };
const bar = (i: number) => ({ startMs: i * 60_000, open: dec("1"), high: dec("2"), low: dec("0.5"), close: dec("1.5"), volume: dec("10"), count: 1, complete: true });

it("a write that finds the file locked by another process's transaction waits its turn without blocking the event loop, then lands", async () => {
  dir = mkdtempSync(join(tmpdir(), "ibp-locked-"));
  const path = join(dir, "store.sqlite");
  const store = MarketStore.open(path);
  await store.candles.write(KEY, [bar(0)], {}, 0);
  // The operator's CLI (another connection) holds the write lock.
  const other = new Database(path);
  other.prepare("BEGIN IMMEDIATE").run();
  const written = store.candles.write(KEY, [bar(1), bar(2)], { covered: { fromMs: 60_000, toMs: 180_000 } }, 0);
  let settled = false;
  void written.finally(() => (settled = true));
  // The loop keeps turning while the write waits (a blocking busy_timeout would hold it here).
  const turnedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(Date.now() - turnedAt).toBeLessThan(1_000);
  await until(() => store.stats().busyRetries >= 2, { timeoutMs: 2_000, what: "the write tried again while the file is locked" });
  expect(settled).toBe(false);
  other.prepare("COMMIT").run();
  other.close();
  await written;
  expect(store.candles.read(KEY, 0, 180_000)).toHaveLength(3);
  expect(store.candles.covered(KEY, 0, 180_000, 0)).toEqual([{ fromMs: 60_000, toMs: 180_000 }]);
  expect(store.stats().failedWrites).toBe(0);
  store.close();
});
