import { afterAll, expect, it } from "vitest";
import { parseInterval } from "../../domain/intervals.js";
import type { Candle } from "../../domain/marketData.js";
import { MarketStore } from "../../store/marketStore.js";
import { DEFAULT_STORE_SETTINGS } from "../../store/storeSettings.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";

// Issue 14, item 2: closed candles from live candle streams are written to the store too. The clock is
// shifted as in candles.test.ts so that a minute boundary comes ~6 s after start.
const offset = (54_000 - (Date.now() % 60_000) + 60_000) % 60_000;
const now = () => Date.now() + offset;
const store = MarketStore.open(":memory:");
const fx = useAdapterOnSimulator({ simulator: { seed: 9, tickIntervalMs: 50, now }, adapter: { clientId: 13, now, store: { candles: store.candles, settings: DEFAULT_STORE_SETTINGS } } });
afterAll(() => store.close());

it("a live candle stream writes each closed candle to the store (not the forming one), without marking its range covered", async () => {
  const controller = new AbortController();
  const cursor = await fx.adapter.streamCandles("spot", "BTCUSDT", parseInterval("min1")!, { signal: controller.signal, heartbeatMs: 1_000 });
  let closed: Candle | undefined;
  const deadline = Date.now() + 20_000;
  for await (const batch of cursor) {
    closed = batch.flatMap((e) => (e.type === "data" && e.value.complete ? [e.value] : []))[0] ?? closed;
    if (closed !== undefined || Date.now() > deadline) break;
  }
  controller.abort();
  expect(closed).toBeDefined();
  const key = { conId: (await fx.adapter.resolve("spot", "BTCUSDT")).conId, interval: "min1" as const, whatToShow: "AGGTRADES", rth: false };
  await until(async () => {
    await store.flushed();
    return store.candles.read(key, closed!.startMs, closed!.startMs + 60_000).length === 1;
  }, { timeoutMs: 5_000, what: "the closed candle in the store" });
  const [stored] = store.candles.read(key, closed!.startMs, closed!.startMs + 60_000);
  expect([stored!.open, stored!.high, stored!.low, stored!.close, stored!.volume].map(String)).toEqual([closed!.open, closed!.high, closed!.low, closed!.close, closed!.volume].map(String));
  expect(stored!.complete).toBe(true);
  // Only closed candles: nothing at or after the forming minute.
  expect(store.candles.read(key, closed!.startMs + 60_000, closed!.startMs + 3_600_000)).toEqual([]);
  expect(store.candles.covered(key, closed!.startMs, closed!.startMs + 60_000, now(), 0)).toEqual([]);
}, 30_000);
