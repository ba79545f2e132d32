import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/testApp.js";

// The store's figures as Prometheus scrapes them: the whole service on the simulator with a real store file.
let dir: string;
let storeFile: string;
let testApp: TestApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ibp-store-metrics-"));
  storeFile = join(dir, "store.sqlite");
  // ETHUSDT only, without standing subscriptions or a scheduled backfill: nothing but the test writes to the store.
  const provider = { provider: { connectors: [{ connectorType: "ib", enabled: true, markets: [{ marketType: "spot", symbols: [{ name: "ETHUSDT" }] }] }] } };
  testApp = await startTestApp({ env: { STORE_PATH: storeFile }, provider });
}, 30_000);

afterAll(async () => {
  await testApp?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const get = (path: string) => fetch(testApp.app.rest.url + path, { signal: AbortSignal.timeout(15_000) });

/** A sample's value from Prometheus text ("name{labels} value"); undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("store metrics in /api/metrics", () => {
  it("show the file's size and the rows per table after a GetCandles, and the call as a store miss then a hit", async () => {
    const MINUTE = 60_000;
    const to = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
    const window = `/api/candles/ib/spot/ETHUSDT/min1?from=${to - 90 * MINUTE}&to=${to}`;
    const res = await get(window);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { candles: unknown[] }).candles).toHaveLength(90);
    await testApp.app.store.flushed();
    expect((await get(window)).status).toBe(200);

    const text = await (await get("/api/metrics")).text();
    expect(sample(text, 'ibprovider_store_rows{table="candles"}')).toBe(90);
    expect(sample(text, 'ibprovider_store_rows{table="series"}')).toBe(1);
    expect(sample(text, 'ibprovider_store_rows{table="coverage"}')).toBe(1);
    expect(sample(text, 'ibprovider_store_rows{table="contracts"}')).toBeGreaterThanOrEqual(0);
    const size = sample(text, "ibprovider_store_size_bytes")!;
    expect(size).toBeGreaterThanOrEqual(statSync(storeFile).size);
    expect(sample(text, "ibprovider_store_pending_writes")).toBe(0);
    expect(sample(text, "ibprovider_store_failed_writes_total")).toBe(0);
    expect(sample(text, 'ibprovider_store_candle_calls_total{outcome="miss"}')).toBe(1);
    expect(sample(text, 'ibprovider_store_candle_calls_total{outcome="hit"}')).toBe(1);
    expect(sample(text, 'ibprovider_store_candle_bars_total{source="ib"}')).toBe(90);
    expect(sample(text, 'ibprovider_store_candle_bars_total{source="store"}')).toBe(90);
  }, 30_000);
});
