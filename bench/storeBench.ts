/**
 * Store scenario of the benchmark (issue 14): a cached GetCandles of one year of min1 bars for one symbol,
 * served from the store through the real service over loopback gRPC, against the raw read of the same rows
 * from the same SQLite file (better-sqlite3, rows as arrays, no conversion). Runs the service in this
 * process (the embedded simulated Gateway); the ratio raw ÷ API is the figure (issue target ≥ 0.5).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { GetCandlesRequest } from "../gen/ibprovider/v1/market_data_service.js";
import { Candle } from "../gen/ibprovider/v1/types.js";
import { nextEvent } from "../src/grpc/streamEncoding.js";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config/loadConfig.js";
import { dec } from "../src/domain/decimal.js";
import type { StoredBar } from "../src/store/candleStore.js";

export interface StoreRound {
  bars: number;
  fillMs: number;
  /** Best of the repeats, ms. */
  rawReadMs: number;
  apiMs: number;
  /** The first API call after the fill (no warm caches in the process). */
  apiFirstMs: number;
  /** raw ÷ API time: 1 = the API costs what the raw read does. */
  ratio: number;
  ibRequestsDuringApi: number;
  /** The longest the service's event loop was held during the API calls (other clients wait that long), ms. */
  loopDelayMaxMs: number;
}

const REPEATS = Number(process.env.BENCH_STORE_REPEATS ?? 3);
const DAYS = Number(process.env.BENCH_STORE_DAYS ?? 365);
const MINUTE = 60_000;

export async function storeRound(): Promise<StoreRound> {
  const dir = mkdtempSync(join(tmpdir(), "ibp-bench-store-"));
  const path = join(dir, "store.sqlite");
  const config = loadConfig({
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    env: { GRPC_PORT: "0", REST_PORT: "0", SIMULATOR_PORT: "0", PROVIDER_API_TOKEN: "bench-token", STORE_PATH: path, PROVIDER_CONFIG_FILE: "bench/config.provider.json" },
  });
  const app = await startApp(config, pino({ level: "silent" }));
  try {
    const instrument = await app.adapter.resolve("spot", "BTCUSDT");
    const key = { conId: instrument.conId, interval: "min1" as const, whatToShow: "AGGTRADES", rth: false, symbol: instrument.symbol, timeZone: instrument.timeZoneId || "UTC" };
    // One year of settled minutes, ending an hour ago on the hour, written as the cache would.
    const toMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const fromMs = toMs - DAYS * 86_400_000;
    const fillStarted = performance.now();
    const price = dec("64250.5");
    for (let start = fromMs; start < toMs; start += 10_000 * MINUTE) {
      const end = Math.min(toMs, start + 10_000 * MINUTE);
      const bars: StoredBar[] = [];
      for (let t = start; t < end; t += MINUTE) bars.push({ startMs: t, open: price, high: dec("64262.25"), low: dec("64240"), close: dec("64251.75"), volume: dec("12.3456"), vwap: dec("64251.125"), count: 42, complete: true });
      await app.store.candles.write(key, bars, { covered: { fromMs: start, toMs: end } }, Date.now());
    }
    await app.store.flushed();
    const fillMs = performance.now() - fillStarted;

    const raw = new Database(path, { readonly: true });
    const series = (raw.prepare("SELECT id FROM candle_series WHERE con_id = ? AND interval = 'min1'").get(instrument.conId) as { id: number }).id;
    const read = raw.prepare("SELECT start_ms, open, high, low, close, volume, vwap, trades, complete FROM candles WHERE series = ? AND start_ms >= ? AND start_ms < ? ORDER BY start_ms").raw(true);
    let bars = 0;
    let rawReadMs = Infinity;
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      bars = read.all(series, fromMs, toMs).length;
      rawReadMs = Math.min(rawReadMs, performance.now() - t0);
    }
    raw.close();

    // As the streaming scenarios do, the consumer counts candles straight from the wire (top-level fields)
    // and decodes only the first and last: the measure is the service's, not this process's decoding.
    const client = new Client(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
    const metadata = new Metadata();
    metadata.set("authorization", "Bearer bench-token");
    const ibBefore = [...(app.simulator as unknown as { stats: { historicalRequests: Map<string, number> } } | undefined)?.stats.historicalRequests.values() ?? []].reduce((a, b) => a + b, 0);
    const request = GetCandlesRequest.fromPartial({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", interval: "min1", from: { seconds: String(fromMs / 1000), nanos: 0 }, to: { seconds: String(toMs / 1000), nanos: 0 }, regularHoursOnly: false });
    const call = () =>
      new Promise<{ candles: number; first: Candle | undefined; last: Candle | undefined }>((resolve, reject) =>
        client.makeUnaryRequest(
          "/ibprovider.v1.MarketDataService/GetCandles",
          (r: GetCandlesRequest) => Buffer.from(GetCandlesRequest.encode(r).finish()),
          (b: Buffer) => b,
          request,
          metadata,
          { deadline: Date.now() + 120_000 },
          (err: ServiceError | null, bytes?: Buffer) => {
            if (err) return reject(err);
            let candles = 0;
            let first: Candle | undefined;
            let lastSpan: { start: number; end: number } | undefined;
            for (let pos = 0; pos < bytes!.length; ) {
              const span = nextEvent(bytes!, pos);
              if (bytes![pos] === 0x0a) {
                candles++;
                if (first === undefined) first = Candle.decode(bytes!.subarray(span.start, span.end));
                lastSpan = span;
              }
              pos = span.end;
            }
            resolve({ candles, first, last: lastSpan && Candle.decode(bytes!.subarray(lastSpan.start, lastSpan.end)) });
          },
        ),
      );
    let apiMs = Infinity;
    let apiFirstMs = 0;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      const res = await call();
      const ms = performance.now() - t0;
      if (i === 0) apiFirstMs = ms;
      apiMs = Math.min(apiMs, ms);
      if (res.candles !== bars) throw new Error(`GetCandles answered ${res.candles} candles, the store holds ${bars}`);
      if (res.first?.close !== "64251.75" || res.last?.vwap !== "64251.125") throw new Error(`unexpected candles: ${JSON.stringify([res.first, res.last])}`);
    }
    loopDelay.disable();
    client.close();
    const ibAfter = [...(app.simulator as unknown as { stats: { historicalRequests: Map<string, number> } } | undefined)?.stats.historicalRequests.values() ?? []].reduce((a, b) => a + b, 0);
    return { bars, fillMs: Math.round(fillMs), rawReadMs: Math.round(rawReadMs), apiMs: Math.round(apiMs), apiFirstMs: Math.round(apiFirstMs), ratio: Math.round((rawReadMs / apiMs) * 100) / 100, ibRequestsDuringApi: ibAfter - ibBefore, loopDelayMaxMs: Math.round(loopDelay.max / 1e6) };
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  (process.argv[2] === "backfill" ? backfillRound() : storeRound()).then(
    (r) => console.log(JSON.stringify(r)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export interface BackfillRound {
  symbols: number;
  requests: number;
  bars: number;
  ms: number;
  /** The least time IB's pacing rules allow for that many requests (see pacingMinimumMs). */
  pacingMinimumMs: number;
  /** ms ÷ pacingMinimumMs (target ≤ 1.1). */
  ratio: number;
  pacingScale: number;
}

const BACKFILL_SYMBOLS = ["AAPL", "MSFT", "SPY", "TSLA", "AMZN", "GOOGL", "NVDA", "META", "JPM", "BTCUSDT"];

/**
 * The least time in which IB's historical pacing allows `n` requests spread evenly over `contracts`
 * (ib-rules.md): at most `globalMax` per window (the k-th request no earlier than ⌊k / max⌋ windows after the
 * first), at most maxSendsPerSecond, and fewer than sameContractMax + 1 per contract within its window.
 */
function pacingMinimumMs(n: number, contracts: number, rules: { globalWindowMs: number; globalMax: number; maxSendsPerSecond: number; sameContractWindowMs: number; sameContractMax: number }): number {
  const window = Math.floor((n - 1) / rules.globalMax) * rules.globalWindowMs;
  const rate = ((n - 1) / rules.maxSendsPerSecond) * 1000;
  const perContract = Math.floor((Math.ceil(n / contracts) - 1) / rules.sameContractMax) * rules.sameContractWindowMs;
  return Math.max(window, rate, perContract);
}

/**
 * A cold backfill of 10 symbols × 7 days of min1 (one IB request per symbol-day: 70) into an empty store,
 * through the service's own backfill (adapter.backfill), with IB's pacing windows scaled down on both the
 * simulator and the service by `scale` (10 minutes → 30 s at 20; message rates are not scaled), against the
 * pacing minimum for the same requests.
 */
export async function backfillRound(scale = Number(process.env.BENCH_BACKFILL_SCALE ?? 20)): Promise<BackfillRound> {
  const { startSimulator } = await import("../src/simulator/index.js");
  const { DEFAULT_HISTORICAL_PACING } = await import("../src/ib/history/pacingRules.js");
  const { parseInterval } = await import("../src/domain/intervals.js");
  const dir = mkdtempSync(join(tmpdir(), "ibp-bench-backfill-"));
  const sim = await startSimulator({ host: "127.0.0.1", port: 0, seed: 42, limits: { historicalWindowMs: 600_000 / scale, historicalIdenticalMs: 15_000 / scale, historicalSameContractMs: 2_000 / scale } });
  const rules = { ...DEFAULT_HISTORICAL_PACING, globalWindowMs: 600_000 / scale, identicalWindowMs: 15_000 / scale, sameContractWindowMs: 2_000 / scale, pacingBackoffMs: 10_000 / scale };
  const config = {
    ...loadConfig({
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      env: { GRPC_PORT: "0", REST_PORT: "0", IB_GATEWAY_URL: `127.0.0.1:${sim.port}`, STORE_PATH: join(dir, "store.sqlite"), PROVIDER_CONFIG_FILE: "bench/config.provider.json" },
    }),
    historicalPacing: rules,
  };
  const app = await startApp(config, pino({ level: "silent" }));
  try {
    const days = 7;
    const toMs = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const started = performance.now();
    let summary: { requestsSent: number; barsStored: number; symbols: { error?: string }[] } | undefined;
    for await (const event of app.adapter.backfill({ marketType: "spot", symbols: BACKFILL_SYMBOLS, interval: parseInterval("min1")!, fromMs: toMs - days * 86_400_000, toMs, regularHoursOnly: false })) {
      if (event.kind === "summary") summary = event.summary as typeof summary;
    }
    const ms = performance.now() - started;
    if (summary === undefined) throw new Error("the backfill ended without a summary");
    const failed = summary.symbols.filter((s) => s.error !== undefined && s.error !== "");
    if (failed.length > 0) throw new Error(`backfill failures: ${JSON.stringify(failed)}`);
    const minimum = pacingMinimumMs(summary.requestsSent, BACKFILL_SYMBOLS.length, rules);
    return { symbols: BACKFILL_SYMBOLS.length, requests: summary.requestsSent, bars: summary.barsStored, ms: Math.round(ms), pacingMinimumMs: Math.round(minimum), ratio: Math.round((ms / minimum) * 100) / 100, pacingScale: scale };
  } finally {
    await app.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
