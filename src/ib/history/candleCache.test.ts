import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseInterval } from "../../domain/intervals.js";
import type { TextCandle } from "../../domain/marketData.js";
import { MarketStore } from "../../store/marketStore.js";
import { DEFAULT_STORE_SETTINGS, type StoreSettings } from "../../store/storeSettings.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import type { IbAdapter } from "../ibAdapter.js";

// Issue 14, item 2: history from the store first. The real adapter on the simulated Gateway, with IB's
// pacing windows scaled down on both sides (as history.test.ts) so that distinct requests never wait long.
const SCALE = 200;
const PACING = { globalWindowMs: 600_000 / SCALE, identicalWindowMs: 15_000 / SCALE, sameContractWindowMs: 2_000 / SCALE, maxSendsPerSecond: 40, safetyMarginMs: 400, pacingBackoffMs: 10_000 / SCALE };
const dir = mkdtempSync(join(tmpdir(), "ibp-cache-"));
const settings: StoreSettings = { ...DEFAULT_STORE_SETTINGS, path: join(dir, "store.sqlite") };
let store = MarketStore.open(settings.path);
const fx = useAdapterOnSimulator({
  simulator: { seed: 5, limits: { historicalWindowMs: 600_000 / SCALE, historicalIdenticalMs: 15_000 / SCALE, historicalSameContractMs: 2_000 / SCALE } },
  adapter: { clientId: 7, historicalPacing: PACING, maxHistoryChunks: 100, store: { candles: store.candles, settings } },
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const h1 = parseInterval("h1")!;
const min1 = parseInterval("min1")!;
const DAY = 86_400_000;
/** Historical requests that reached the simulated Gateway, all symbols. */
const ibRequests = () => [...fx.sim.stats.historicalRequests.values()].reduce((a, b) => a + b, 0);
const wire = (candles: TextCandle[]) => candles.map((c) => [c.startMs, c.open, c.high, c.low, c.close, c.volume, c.vwap, c.tradeCount, c.complete]);

async function candlesOf(adapter: IbAdapter, symbol: string, interval = h1, fromMs = Date.now() - 7 * DAY, toMs = Date.now()) {
  return (await adapter.candles("spot", symbol, { interval, fromMs, toMs, regularHoursOnly: false })).candles;
}

describe("history from the store first", () => {
  it("a repeated 7-day h1 request for several symbols sends 0 history requests to IB and answers the same candles", async () => {
    const symbols = ["AAPL", "MSFT", "BTCUSDT", "EURUSD"];
    const toMs = Date.now();
    const first = await Promise.all(symbols.map((s) => candlesOf(fx.adapter, s, h1, toMs - 7 * DAY, toMs)));
    await store.flushed();
    const sent = ibRequests();
    const hits = fx.adapter.candleCacheStats()!.calls.hit;
    const second = await Promise.all(symbols.map((s) => candlesOf(fx.adapter, s, h1, toMs - 7 * DAY, toMs)));
    expect(ibRequests()).toBe(sent);
    expect(fx.adapter.candleCacheStats()!.calls.hit).toBe(hits + symbols.length);
    expect(second.map(wire)).toEqual(first.map(wire));
    expect(first[2]!.length).toBeGreaterThanOrEqual(7 * 24);
  });

  it("a partly covered window asks IB only for the missing days", async () => {
    const dayStart = Math.floor(Date.now() / DAY) * DAY;
    await candlesOf(fx.adapter, "BTCUSDT", min1, dayStart - 3 * DAY, dayStart - DAY);
    await store.flushed();
    const sent = ibRequests();
    const candles = await candlesOf(fx.adapter, "BTCUSDT", min1, dayStart - 5 * DAY, dayStart - DAY);
    // min1 is one IB request per day: the two missing days, not four.
    expect(ibRequests() - sent).toBe(2);
    expect(candles).toHaveLength(4 * 1440);
    expect(candles.every((c, i) => c.startMs === dayStart - 5 * DAY + i * 60_000 && c.complete)).toBe(true);
  });

  it("a weekend of a stock (IB has no bars there) is covered once and not asked again", async () => {
    // The last full Saturday and Sunday (UTC), long settled.
    const now = new Date();
    const saturday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - ((now.getUTCDay() + 1) % 7) - 7);
    const first = await candlesOf(fx.adapter, "AAPL", min1, saturday + 6 * 3_600_000, saturday + 2 * DAY - 6 * 3_600_000);
    await store.flushed();
    const sent = ibRequests();
    const second = await candlesOf(fx.adapter, "AAPL", min1, saturday + 6 * 3_600_000, saturday + 2 * DAY - 6 * 3_600_000);
    expect(first).toEqual([]);
    expect(second).toEqual([]);
    expect(ibRequests()).toBe(sent);
  });

  it("keeps the forming bar incomplete, and asks IB again for the recent range once it is due", async () => {
    // A window reaching past now: its last candle is the one forming when the call ran, whichever minute.
    const before = Date.now();
    const toMs = before + 60_000;
    const first = await candlesOf(fx.adapter, "ETHUSDT", min1, toMs - 31 * 60_000, toMs);
    const after = Date.now();
    await store.flushed();
    // Unless the minute ended while IB answered: then the bar was whole when its answer was read.
    if (Math.floor(after / 60_000) === Math.floor(before / 60_000)) expect(first.at(-1)!.complete).toBe(false);
    expect(first.filter((c) => c.startMs + 60_000 <= before).every((c) => c.complete)).toBe(true);
    expect(first.filter((c) => c.startMs + 60_000 > after).every((c) => !c.complete)).toBe(true);
    // Within recentTtlMs (60 s) and the same forming minute: served from the store, the forming bar still incomplete.
    const sent = ibRequests();
    const again = await candlesOf(fx.adapter, "ETHUSDT", min1, toMs - 31 * 60_000, toMs);
    if (Math.floor(Date.now() / 60_000) === Math.floor(before / 60_000)) {
      expect(ibRequests()).toBe(sent);
      expect(again.at(-1)!.complete).toBe(false);
    }
    // The same window on an adapter whose recent ranges are due at once: IB is asked for them again.
    const eager = fx.another({ clientId: 8, historicalPacing: PACING, store: { candles: store.candles, settings: { ...settings, recentTtlMs: 0 } } });
    await eager.start();
    const sentBefore = ibRequests();
    await candlesOf(eager, "ETHUSDT", min1, toMs - 31 * 60_000, toMs);
    expect(ibRequests()).toBe(sentBefore + 1);
    eager.stop();
  });

  it("survives a restart of the service: a reopened store answers without IB", async () => {
    const toMs = Date.now();
    const first = await candlesOf(fx.adapter, "MSFT", h1, toMs - 7 * DAY, toMs);
    store.close();
    store = MarketStore.open(settings.path);
    const restarted = fx.another({ clientId: 9, historicalPacing: PACING, store: { candles: store.candles, settings } });
    await restarted.start();
    const sent = ibRequests();
    const second = await candlesOf(restarted, "MSFT", h1, toMs - 7 * DAY, toMs);
    // The recent range is served from the store within its forming bar: an hour that turned between the two
    // calls (a run at 03:00) asks IB for it again, once.
    const hourTurned = Math.floor(Date.now() / 3_600_000) !== Math.floor(toMs / 3_600_000);
    expect(ibRequests() - sent).toBeLessThanOrEqual(hourTurned ? 1 : 0);
    // (and the bar that was forming may come back complete then)
    expect(wire(second).slice(0, hourTurned ? -1 : undefined)).toEqual(wire(first).slice(0, hourTurned ? -1 : undefined));
    restarted.stop();
  });
});
