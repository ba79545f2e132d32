import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dec } from "../domain/decimal.js";
import { openDatabase } from "./database.js";
import { MarketStore } from "./marketStore.js";
import { deleteCandles, StoreBusyError, storeFileBytes, vacuumStore } from "./storeMaintenance.js";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 2);
const aaplMin1 = { conId: 265598, interval: "min1" as const, whatToShow: "TRADES", rth: false, symbol: "AAPL", timeZone: "US/Eastern" };
const aaplH1 = { ...aaplMin1, interval: "h1" as const };
const msftMin1 = { ...aaplMin1, conId: 272093, symbol: "MSFT" };

function bars(fromMs: number, count: number, stepMs: number) {
  return Array.from({ length: count }, (_, i) => ({ startMs: fromMs + i * stepMs, open: dec("1.5"), high: dec("2"), low: dec("1"), close: dec("1.75"), volume: dec(i), count: i, complete: true }));
}

let dir: string;
let path: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "ibp-store-maint-"));
  path = join(dir, "store.sqlite");
  const store = MarketStore.open(path);
  await store.candles.write(aaplMin1, bars(T0, 6 * 60, MINUTE), { covered: { fromMs: T0, toMs: T0 + 6 * HOUR } }, T0 + 7 * HOUR);
  await store.candles.write(aaplH1, bars(T0, 6, HOUR), { covered: { fromMs: T0, toMs: T0 + 6 * HOUR } }, T0 + 7 * HOUR);
  await store.candles.write(msftMin1, bars(T0, 60, MINUTE), { covered: { fromMs: T0, toMs: T0 + HOUR } }, T0 + 7 * HOUR);
  store.close();
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("deleteCandles", () => {
  it("deletes a range's candles and its coverage, keeping the covered parts on either side, so only the hole is asked again", () => {
    const db = openDatabase(path);
    const deleted = deleteCandles(db, { symbol: "AAPL", interval: "min1", fromMs: T0 + 2 * HOUR, toMs: T0 + 3 * HOUR });
    db.close();
    expect(deleted).toEqual([{ symbol: "AAPL", interval: "min1", whatToShow: "TRADES", rth: false, candles: 60, coverageRanges: 1, recent: false }]);

    const store = MarketStore.open(path);
    const now = T0 + 7 * HOUR;
    expect(store.candles.covered(aaplMin1, T0, T0 + 6 * HOUR, now)).toEqual([
      { fromMs: T0, toMs: T0 + 2 * HOUR },
      { fromMs: T0 + 3 * HOUR, toMs: T0 + 6 * HOUR },
    ]);
    expect(store.candles.read(aaplMin1, T0, T0 + 6 * HOUR)).toHaveLength(5 * 60);
    // Other intervals and symbols untouched.
    expect(store.candles.read(aaplH1, T0, T0 + 6 * HOUR)).toHaveLength(6);
    expect(store.candles.read(msftMin1, T0, T0 + HOUR)).toHaveLength(60);
    store.close();
  });

  it("deletes every interval of a symbol without bounds, and keeps the series listed with 0 bars", () => {
    const db = openDatabase(path);
    const deleted = deleteCandles(db, { symbol: "AAPL" });
    db.close();
    expect(deleted.map((d) => [d.interval, d.candles, d.coverageRanges])).toEqual([
      ["h1", 6, 1],
      ["min1", 360, 1],
    ]);
    const store = MarketStore.open(path);
    expect(store.candles.covered(aaplMin1, T0, T0 + 6 * HOUR, T0 + 7 * HOUR)).toEqual([]);
    expect(store.candles.series().map((s) => [s.symbol, s.interval, s.bars])).toEqual([
      ["AAPL", "h1", 0],
      ["AAPL", "min1", 0],
      ["MSFT", "min1", 60],
    ]);
    expect(store.stats().rows).toMatchObject({ candles: 60, coverage: 1 });
    store.close();
  });

  it("finds a symbol's series by the contract it resolved to, when another symbol of that contract labelled it last (BTCUSDT and BTC)", async () => {
    const btc = { conId: 479624278, interval: "h1" as const, whatToShow: "AGGTRADES", rth: false, symbol: "BTC", timeZone: "UTC" };
    const store = MarketStore.open(path);
    store.contracts.put("spot/BTCUSDT", btc.conId, "{}", T0);
    store.contracts.put("spot/BTC", btc.conId, "{}", T0);
    await store.candles.write(btc, bars(T0, 6, HOUR), { covered: { fromMs: T0, toMs: T0 + 6 * HOUR } }, T0 + 7 * HOUR);
    store.close();
    const db = openDatabase(path);
    const deleted = deleteCandles(db, { symbol: "BTCUSDT" });
    db.close();
    expect(deleted).toEqual([{ symbol: "BTC", interval: "h1", whatToShow: "AGGTRADES", rth: false, candles: 6, coverageRanges: 1, recent: false }]);
  });

  it("deletes nothing for an unknown symbol", () => {
    const db = openDatabase(path);
    expect(deleteCandles(db, { symbol: "TSLA" })).toEqual([]);
    db.close();
  });
});

describe("vacuumStore", () => {
  it("gives the freed pages back to the file system", async () => {
    const store = MarketStore.open(path);
    await store.candles.write(msftMin1, bars(T0 + HOUR, 20_000, MINUTE), {}, T0);
    store.close();
    const db = openDatabase(path);
    deleteCandles(db, { symbol: "MSFT" });
    db.close();
    const { beforeBytes, afterBytes } = vacuumStore(path);
    expect(afterBytes).toBe(storeFileBytes(path));
    expect(afterBytes).toBeLessThan(beforeBytes / 2);
    const reopened = MarketStore.open(path);
    expect(reopened.stats().rows.candles).toBe(366);
    reopened.close();
  });

  it("refuses at once, without waiting, while another connection (the service) has the file open", () => {
    const service = MarketStore.open(path);
    try {
      const started = performance.now();
      expect(() => vacuumStore(path)).toThrow(StoreBusyError);
      expect(performance.now() - started).toBeLessThan(1_000);
      // The service's store still works.
      expect(service.stats().rows.candles).toBe(426);
    } finally {
      service.close();
    }
    expect(() => vacuumStore(path)).not.toThrow();
  });
});
