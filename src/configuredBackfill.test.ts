import { join } from "node:path";
import { rmSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient } from "../gen/ibprovider/v1/market_data_service.js";
import { loadConfig } from "./config/loadConfig.js";
import { backfillPlansOf, ConfiguredBackfill, type BackfillRunner } from "./configuredBackfill.js";
import { IbError } from "./ib/ibErrors.js";
import { candlesOf, PACING, SIMULATOR } from "./grpc/services/testing/backfillCalls.js";
import { configErrorOf, dirWithFile } from "./testing/configFiles.js";
import { captureLog } from "./testing/logCapture.js";
import { startTestApp, type TestApp } from "./testing/testApp.js";
import { until } from "./testing/until.js";

// Issue 14 item 4, the config form: config.provider.json's `backfill` fills the store with the configured
// candle subscriptions' history at start-up, in the background, with its progress logged at info.
const HOUR = 3_600_000;
const connector = (extra: Record<string, unknown>) => ({
  provider: {
    connectors: [
      {
        connectorType: "ib",
        markets: [{ marketType: "spot", symbols: [{ name: "BTCUSDT" }, { name: "EURUSD" }, { name: "AAPL" }] }],
        subscriptions: [
          { type: "PROVIDER_MARKETDATA_CANDLE", symbols: ["BTCUSDT", "EURUSD"], intervals: ["h1", "min5"] },
          { type: "PROVIDER_MARKETDATA_TRADE", symbols: ["AAPL"] },
        ],
        ...extra,
      },
    ],
  },
});

const dirs: string[] = [];
let testApp: TestApp | undefined;
afterAll(async () => {
  await testApp?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function providerOf(content: unknown) {
  const dir = dirWithFile("config.provider.json", content);
  dirs.push(dir);
  return loadConfig({ env: { PROVIDER_CONFIG_FILE: join(dir, "config.provider.json") }, cwd: dir }).provider;
}

describe("config.provider.json's backfill", () => {
  it("plans the candle subscriptions' symbols per market and interval (its own intervals win)", () => {
    expect(backfillPlansOf(providerOf(connector({ backfill: { days: 3 } }))).map((p) => [p.marketType, p.interval.name, p.symbols])).toEqual([
      ["spot", "h1", ["BTCUSDT", "EURUSD"]],
      ["spot", "min5", ["BTCUSDT", "EURUSD"]],
    ]);
    expect(backfillPlansOf(providerOf(connector({ backfill: { days: 3, intervals: ["1d"] } }))).map((p) => p.interval.name)).toEqual(["day"]);
    expect(backfillPlansOf(providerOf(connector({})))).toEqual([]);
  });

  it.each([
    [{ days: 0 }, "backfill.days"],
    [{ days: 3, intervals: ["m7"] }, "backfill.intervals[0]"],
    [{ days: 3, every: "day" }, "backfill"],
  ])("refuses %j, naming %s", (backfill, path) => {
    const dir = dirWithFile("config.provider.json", connector({ backfill }));
    dirs.push(dir);
    const err = configErrorOf(() => loadConfig({ env: { PROVIDER_CONFIG_FILE: join(dir, "config.provider.json") }, cwd: dir }));
    expect(err.message).toContain(path);
  });

  it("refuses a backfill with no candle subscription to take its symbols from", () => {
    const dir = dirWithFile("config.provider.json", { provider: { connectors: [{ connectorType: "ib", markets: [{ marketType: "spot", symbols: [{ name: "AAPL" }] }], backfill: { days: 1 } }] } });
    dirs.push(dir);
    expect(configErrorOf(() => loadConfig({ env: { PROVIDER_CONFIG_FILE: join(dir, "config.provider.json") }, cwd: dir })).message).toContain("PROVIDER_MARKETDATA_CANDLE subscriptions");
  });

  it("a run whose symbols failed while the Gateway reconnected runs again when it ends (the reconnect it would wait for has come)", async () => {
    const provider = providerOf(connector({ backfill: { days: 1, intervals: ["h1"] } }));
    const listeners = new Set<(info: { reconnected: boolean }) => void>();
    let calls = 0;
    let release: (() => void) | undefined;
    const runner: BackfillRunner = {
      connection: { on: (_event, listener) => listeners.add(listener), off: (_event, listener) => listeners.delete(listener) },
      async *backfill(request) {
        const call = ++calls;
        // The first run: the connection drops under its requests (BTCUSDT's fails) and is back before it ends.
        if (call === 1) await new Promise<void>((resolve) => (release = resolve));
        const error = (symbol: string) => (call === 1 && symbol === "BTCUSDT" ? new IbError("unavailable", "the Gateway connection was lost") : undefined);
        yield { kind: "summary", summary: { symbols: request.symbols.map((symbol) => ({ symbol, bars: 0, requestsSent: 1, requestsPlanned: 1, rangesInStore: 0, error: error(symbol) })), requestsSent: 1, barsStored: 0 } };
      },
    };
    const backfill = new ConfiguredBackfill(provider, runner, pino({ level: "silent" }));
    const first = backfill.start();
    expect(release).toBeDefined();
    for (const listener of listeners) listener({ reconnected: true });
    release!();
    await first;
    expect(calls).toBe(2);
    await backfill.start();
    backfill.stop();
    expect(listeners.size).toBe(0);
  });

  it("fills the store at start-up in the background, logging its start and end at info; GetCandles then costs IB nothing", async () => {
    const log = captureLog();
    testApp = await startTestApp({
      simulator: SIMULATOR,
      historicalPacing: PACING,
      provider: connector({ backfill: { days: 2, intervals: ["h1"] } }),
      log: pino({ level: "info" }, log.sink),
    });
    const lines = () => log.lines.filter((l) => l.component === "backfill");
    await until(() => lines().some((l) => l.msg === "configured backfill done"), { what: "the configured backfill to end", timeoutMs: 15_000 });
    expect(lines()[0]).toMatchObject({ level: 30, msg: "configured backfill started", interval: "h1", symbols: ["BTCUSDT", "EURUSD"], days: 2, requestsPlanned: 2 });
    expect(lines().at(-1)).toMatchObject({ level: 30, interval: "h1", requestsSent: 2, failed: [] });

    const sent = [...testApp.simulator!.stats.historicalRequests.values()].reduce((a, b) => a + b, 0);
    const client = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
    const toMs = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
    const candles = await candlesOf(client, "BTCUSDT", "h1", toMs - 24 * HOUR, toMs);
    client.close();
    expect((candles as unknown[]).length).toBe(24);
    expect([...testApp.simulator!.stats.historicalRequests.values()].reduce((a, b) => a + b, 0)).toBe(sent);
  });
});
