import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient } from "../../../gen/ibprovider/v1/market_data_service.js";
import { StoreServiceClient } from "../../../gen/ibprovider/v1/store_service.js";
import { startSimulator, type SimulatorHandle } from "../../simulator/index.js";
import { MarketStore } from "../../store/marketStore.js";
import type { TestApp } from "../../testing/testApp.js";
import { timestampFromMs } from "../mapping/protoTime.js";
import { startServiceProcess, type ServiceProcess } from "../testing/serviceProcess.js";
import { candlesOf, freshDownload, PACING, runBackfill, SIMULATOR, summaryOf } from "./testing/backfillCalls.js";

// Issue 14 item 4: kill -9 in the middle of a backfill, then the same backfill again on the same store
// file finishes with no duplicate and no missing bar (compared with a fresh full download). The service
// runs as a real process (src/testing/appProcess.ts: main's configuration, IB's windows scaled down) against
// a simulated Gateway in this process, so its history requests are counted across both lives.
const DAY = 86_400_000;

const dir = mkdtempSync(join(tmpdir(), "ibp-resume-"));
const storePath = join(dir, "store.sqlite");
let sim: SimulatorHandle | undefined;
let fresh: TestApp | undefined;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await fresh?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The service in its own process on the store file; resolves with its gRPC address once it serves. */
async function startService(clientId: number): Promise<ServiceProcess> {
  const env = { IB_GATEWAY_URL: `127.0.0.1:${sim!.port}`, IB_CLIENT_ID: String(clientId), STORE_PATH: storePath, PROVIDER_CONFIG_FILE: "bench/config.provider.json" };
  const started = await startServiceProcess(env, PACING);
  children.push(started.child);
  return started;
}

const ibRequests = () => [...sim!.stats.historicalRequests.values()].reduce((a, b) => a + b, 0);

describe("a backfill killed with SIGKILL", { timeout: 60_000 }, () => {
  it("resumes on the same store file and ends with every bar of a fresh full download, once", async () => {
    sim = await startSimulator({ ...SIMULATOR, host: "127.0.0.1", port: 0 });
    const toMs = Math.floor(Date.now() / DAY) * DAY - 30 * DAY;
    const fromMs = toMs - 8 * DAY;
    const symbols = ["BTCUSDT", "EURUSD"];
    const request = { symbols, interval: "min1", from: timestampFromMs(fromMs), to: timestampFromMs(toMs) };

    // First life: killed once a quarter of its 16 requests are done.
    const first = await startService(21);
    const firstClient = new StoreServiceClient(first.address, credentials.createInsecure());
    let planned = 0;
    const killed = await runBackfill(firstClient, request, (m) => {
      if (m.event?.$case !== "progress") return;
      planned = m.event.value.requestsPlanned;
      if (m.event.value.requestsDone >= 4) first.child.kill("SIGKILL");
    });
    firstClient.close();
    await first.exited;
    expect(first.child.signalCode).toBe("SIGKILL");
    expect(killed.error).toBeDefined();
    expect(planned).toBe(16);
    const sentBeforeKill = ibRequests();
    expect(sentBeforeKill).toBeLessThan(16);

    // Second life on the same file: only what was not stored is planned, and the backfill completes.
    const second = await startService(22);
    const secondStore = new StoreServiceClient(second.address, credentials.createInsecure());
    const resumed = summaryOf((await runBackfill(secondStore, request)).messages)!;
    secondStore.close();
    expect(resumed.failedSymbols).toBe(0);
    const replanned = resumed.symbols.reduce((n, s) => n + s.requestsPlanned, 0);
    expect(replanned).toBeLessThan(16);
    expect(replanned).toBeGreaterThanOrEqual(16 - sentBeforeKill);

    // The store answers the window alone, and it is what a fresh download from IB gives.
    const marketData = new MarketDataServiceClient(second.address, credentials.createInsecure());
    const sent = ibRequests();
    const stored = await Promise.all(symbols.map((s) => candlesOf(marketData, s, "min1", fromMs, toMs)));
    marketData.close();
    expect(ibRequests()).toBe(sent);
    const reference = await freshDownload(symbols, "min1", fromMs, toMs);
    fresh = reference.app;
    const downloaded = reference.candles;
    expect(stored).toEqual(downloaded);
    expect((downloaded[0] as unknown[]).length).toBe(8 * 1440);

    // Once each: the file holds exactly the bars of the window (no duplicate, no extra, none missing).
    second.child.kill("SIGTERM");
    await second.exited;
    const file = MarketStore.open(storePath);
    try {
      const bars = Object.fromEntries(file.candles.series().map((s) => [s.symbol, s.bars]));
      expect(bars).toEqual({ BTCUSDT: (downloaded[0] as unknown[]).length, EURUSD: (downloaded[1] as unknown[]).length });
    } finally {
      file.close();
    }
  });
});
