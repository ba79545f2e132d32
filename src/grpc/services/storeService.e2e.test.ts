import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { credentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient } from "../../../gen/ibprovider/v1/market_data_service.js";
import { StoreServiceClient } from "../../../gen/ibprovider/v1/store_service.js";
import { selfSignedCertificate } from "../../testing/selfSignedCertificate.js";
import { startTestApp, type TestApp } from "../../testing/testApp.js";
import { until } from "../../testing/until.js";
import { timestampFromMs } from "../mapping/protoTime.js";
import { readRichStatus } from "../statusDetails.js";
import { candlesOf, freshDownload, PACING, runBackfill, SIMULATOR, summaryOf } from "./testing/backfillCalls.js";

// Issue 14 item 4: StoreService.Backfill through the whole service (config → simulator → adapter → store
// file → gRPC), with IB's historical pacing scaled down on both sides (testing/backfillCalls.ts).
const DAY = 86_400_000;
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

const dir = mkdtempSync(join(tmpdir(), "ibp-backfill-"));
let testApp: TestApp;
let fresh: TestApp | undefined;
let store: StoreServiceClient;
let marketData: MarketDataServiceClient;

beforeAll(async () => {
  // No configured subscriptions: every history request the simulator counts is the test's.
  testApp = await startTestApp({ simulator: SIMULATOR, historicalPacing: PACING, env: { STORE_PATH: join(dir, "store.sqlite"), PROVIDER_CONFIG_FILE: "bench/config.provider.json" } });
  store = new StoreServiceClient(testApp.grpcAddress, credentials.createInsecure());
  marketData = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  store?.close();
  marketData?.close();
  await testApp?.stop();
  await fresh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Historical requests that reached the simulated Gateway, all symbols. */
const ibRequests = () => [...testApp.simulator!.stats.historicalRequests.values()].reduce((a, b) => a + b, 0);

describe("StoreService.Backfill", () => {
  const toMs = Math.floor(Date.now() / DAY) * DAY - DAY;
  const fromMs = toMs - 3 * DAY;
  const symbols = ["AAPL", "BTCUSDT", "EURUSD"];

  it("fills the store: GetCandles of the window then sends 0 history requests to IB and equals a fresh full download; an unknown symbol fails alone", async () => {
    const { messages, error } = await runBackfill(store, { symbols: ["AAPL", "NOSUCHSYM", "BTCUSDT", "EURUSD"], interval: "1m", from: timestampFromMs(fromMs), to: timestampFromMs(toMs) });
    expect(error).toBeUndefined();
    const summary = summaryOf(messages)!;
    // min1 is one IB request per day: 3 days for each known symbol.
    expect(summary.symbols.map((s) => [s.symbol, s.requestsSent, s.failure?.reason ?? "ok"])).toEqual([
      ["AAPL", 3, "ok"],
      ["NOSUCHSYM", 0, "SYMBOL_NOT_FOUND"],
      ["BTCUSDT", 3, "ok"],
      ["EURUSD", 3, "ok"],
    ]);
    expect(summary.symbols[1]!.failure).toMatchObject({ code: "NOT_FOUND" });
    expect(summary).toMatchObject({ requestsSent: 9, failedSymbols: 1 });
    expect(Number(summary.symbols[2]!.bars)).toBe(3 * 1440);
    const progress = messages.flatMap((m) => (m.event?.$case === "progress" ? [m.event.value] : []));
    expect(progress.at(-1)).toMatchObject({ requestsDone: 9, requestsPlanned: 9, barsStored: summary.barsStored, symbolsPlanned: 4 });
    expect(progress.map((p) => p.requestsDone)).toEqual([...progress.map((p) => p.requestsDone)].sort((a, b) => a - b));

    const sent = ibRequests();
    const stored = await Promise.all(symbols.map((s) => candlesOf(marketData, s, "min1", fromMs, toMs)));
    expect(ibRequests()).toBe(sent);

    const reference = await freshDownload(symbols, "min1", fromMs, toMs);
    fresh = reference.app;
    const downloaded = reference.candles;
    expect(stored).toEqual(downloaded);
    expect((stored[1] as unknown[]).length).toBe(3 * 1440);
  });

  it("run again, plans nothing: the covered ranges are skipped", async () => {
    const sent = ibRequests();
    const { messages } = await runBackfill(store, { symbols, interval: "min1", from: timestampFromMs(fromMs), to: timestampFromMs(toMs) });
    const summary = summaryOf(messages)!;
    expect(summary.requestsSent).toBe(0);
    expect(summary.symbols.every((s) => s.requestsPlanned === 0 && s.rangesInStore === 1)).toBe(true);
    expect(ibRequests()).toBe(sent);
  });

  it("a cancelled backfill withdraws its queued requests; run again, it plans only what is missing", async () => {
    const end = toMs - 10 * DAY;
    const request = { symbols: ["MSFT", "ETHUSDT"], interval: "min1", from: timestampFromMs(end - 10 * DAY), to: timestampFromMs(end) };
    let planned = 0;
    let done = 0;
    const before = ibRequests();
    const { error } = await runBackfill(store, request, (m, cancel) => {
      if (m.event?.$case !== "progress") return;
      planned = m.event.value.requestsPlanned;
      done = m.event.value.requestsDone;
      if (done >= 2) cancel();
    });
    expect(error?.code).toBe(status.CANCELLED);
    expect(planned).toBe(20);
    await until(() => testApp.app.adapter.historicalPacing().queued === 0 && testApp.app.adapter.historicalPacing().inFlight === 0, { what: "the backfill's requests withdrawn" });
    const sentBeforeResume = ibRequests() - before;
    expect(sentBeforeResume).toBeLessThan(planned);
    // Resumed: only what is missing is planned (the requests cancelled in flight included).
    const { messages } = await runBackfill(store, request);
    const summary = summaryOf(messages)!;
    expect(summary.failedSymbols).toBe(0);
    const replanned = summary.symbols.reduce((n, s) => n + s.requestsPlanned, 0);
    expect(replanned).toBeLessThanOrEqual(planned - done);
    expect(replanned).toBeGreaterThanOrEqual(planned - sentBeforeResume);
    expect(summary.requestsSent).toBe(replanned);
  });

  it.each([
    [{ symbols: [], interval: "min1" }, "symbols", "NO_SYMBOLS"],
    [{ symbols: ["AAPL", "BAD SYMBOL!"], interval: "min1" }, "symbols[1]", "INVALID_SYMBOL"],
    [{ symbols: ["AAPL"], interval: "m7" }, "interval", "UNKNOWN_INTERVAL"],
    [{ symbols: ["AAPL"], interval: "min1", days: 40_000 }, "days", "DAYS_OUT_OF_RANGE"],
    // 100 symbols × a year of minutes: 36,500 IB requests, more than one backfill may plan (the year 1: millions).
    [{ symbols: Array.from({ length: 100 }, (_, i) => `S${i}`), interval: "min1", days: 365 }, "days", "WINDOW_TOO_LONG"],
    [{ symbols: ["AAPL"], interval: "min1", from: timestampFromMs(Date.parse("0001-01-01T00:00:00Z")) }, "from", "WINDOW_TOO_LONG"],
  ])("refuses a bad request before any IB request: %j → invalid %s (%s)", async (request, field, reason) => {
    const { error, messages } = await runBackfill(store, request);
    expect(messages).toEqual([]);
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(new RegExp(`^invalid ${field.replace(/[[\]]/g, "\\$&")}: `));
    expect(readRichStatus(error!)?.errorInfo?.reason).toBe(reason);
  });

  /** `npm run backfill -- args` as its own process; `onStderr` sees its progress lines as they come. */
  function backfillCli(args: string[], onStderr?: (text: string, child: ChildProcess) => void, cwd = ROOT): Promise<{ code: number | null; out: string; err: string }> {
    const child = spawn(process.execPath, ["--import", TSX, join(ROOT, "src/cli/backfill.ts"), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      err += c;
      onStderr?.(err, child);
    });
    return new Promise((resolve) => child.once("exit", (code) => resolve({ code, out, err })));
  }

  it("npm run backfill: a progress line per change without a TTY, a summary per symbol, exit code 1 when a symbol failed", async () => {
    const end = toMs - 40 * DAY;
    const { code, out, err } = await backfillCli(["--symbols", "BTCUSDT,NOSUCHSYM", "--interval", "h1", "--days", "10", "--to", String(end), "--url", testApp.grpcAddress]);
    expect(code, `${out}\n${err}`).toBe(1);
    expect(err).toMatch(/^backfill: 1\/1 requests, 240 bars stored, ETA /m);
    const lines = out.trim().split("\n");
    expect(lines[0]).toMatch(/^symbol\s+bars\s+IB requests\s+ranges already stored\s+result$/);
    expect(lines[1]).toMatch(/^BTCUSDT\s+240\s+1\s+0\s+ok$/);
    expect(lines[2]).toMatch(/^NOSUCHSYM\s+0\s+0\s+0\s+FAILED NOT_FOUND SYMBOL_NOT_FOUND: /);
    expect(lines[3]).toBe("240 bars stored from 1 IB requests; 1 of 2 symbols failed");
  });

  it("npm run backfill: Ctrl-C cancels the call (exit 130, the queued requests withdrawn) and says how to resume", async () => {
    const end = toMs - 80 * DAY;
    let interrupted = false;
    const { code, err } = await backfillCli(["--symbols", "SPY,ETHUSDT", "--interval", "min1", "--days", "20", "--to", String(end), "--url", testApp.grpcAddress], (text, child) => {
      if (interrupted || !/^backfill: \d+\/40 requests/m.test(text)) return;
      interrupted = true;
      child.kill("SIGINT");
    });
    expect(interrupted).toBe(true);
    expect(code, err).toBe(130);
    expect(err).toContain("backfill stopped: what was fetched is stored; run the same command again to resume");
    await until(() => testApp.app.adapter.historicalPacing().queued === 0 && testApp.app.adapter.historicalPacing().inFlight === 0, { what: "the backfill's requests withdrawn" });
  });

  it("npm run backfill: the token, the gRPC port and TLS come from .env as npm start reads them (no --token, no --url)", async () => {
    const cert = selfSignedCertificate();
    const secured = await startTestApp({
      simulator: SIMULATOR,
      historicalPacing: PACING,
      token: "backfill-env-token",
      env: { PROVIDER_CONFIG_FILE: join(ROOT, "bench/config.provider.json"), PROVIDER_TLS_CERT: cert.certFile, PROVIDER_TLS_KEY: cert.keyFile },
    });
    try {
      const project = mkdtempSync(join(dir, "project-"));
      writeFileSync(join(project, ".env"), `PROVIDER_API_TOKEN=backfill-env-token\nGRPC_HOST=0.0.0.0\nGRPC_PORT=${secured.grpcAddress.split(":").pop()}\nPROVIDER_TLS_CERT=${cert.certFile}\n`);
      const { code, out, err } = await backfillCli(["--symbols", "BTCUSDT", "--interval", "h1", "--days", "1", "--to", String(toMs - 120 * DAY)], undefined, project);
      expect(code, `${out}\n${err}`).toBe(0);
      expect(out).toMatch(/^BTCUSDT\s+24\s+1\s+0\s+ok$/m);
    } finally {
      await secured.stop();
      cert.remove();
    }
  });

  it("npm run backfill: a service that is not running is named, with how to start it (exit 2)", async () => {
    const { code, err } = await backfillCli(["--symbols", "AAPL", "--interval", "h1", "--url", "127.0.0.1:1"]);
    expect(code).toBe(2);
    expect(err.trim()).toBe("backfill: ib-provider is not reachable at 127.0.0.1:1 (connection refused): start it with npm start, or point --url at it");
  });
});
