import { BarSizeSetting, EventName, IBApiNext, type Contract } from "@stoqey/ib";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { AAPL, BTC, connectClient, type TestClient } from "./testing/harness.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
let child: ChildProcess | undefined;
let client: TestClient | undefined;
afterEach(() => {
  client?.close();
  client = undefined;
  if (child && child.exitCode === null) child.kill("SIGTERM");
  child = undefined;
});

describe("CLI (npm run simulator)", () => {
  it("serves a stock @stoqey/ib client (with the documented default seed 42): AAPL and BTC, ticks, trades, depth, 7 days of h1 BTC bars, account summary, positions", async () => {
    child = spawn(process.execPath, ["--import", "tsx", "src/simulator/main.ts", "--port", "0", "--tick-interval-ms", "50"], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let seed: number | undefined;
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("simulator did not start")), 15_000);
      createInterface({ input: child!.stdout! }).on("line", (line) => {
        try {
          const rec = JSON.parse(line) as { port?: number; msg?: string; seed?: number };
          if (rec.msg === "market model") seed = rec.seed;
          if (rec.msg === "simulated IB Gateway listening" && rec.port) {
            clearTimeout(timer);
            resolve(rec.port);
          }
        } catch {
          /* not a log line */
        }
      });
      child!.once("exit", (code) => reject(new Error(`simulator exited with ${code}`)));
    });
    expect(seed).toBe(42); // docs/simulator.md and the service's SIMULATOR_SEED
    const c = (client = await connectClient(port));
    const next = new IBApiNext({ host: "127.0.0.1", port });
    try {
      next.connect(77);
      const [aapl] = await next.getContractDetails({ ...AAPL } as Contract);
      const [btc] = await next.getContractDetails({ ...BTC } as Contract);
      expect(aapl!.contract.conId).toBe(265598);
      expect(btc!.contract.conId).toBe(479624278);
      const bars = await next.getHistoricalData({ conId: 479624278, exchange: "PAXOS" } as Contract, "", "7 D", BarSizeSetting.HOURS_ONE, "AGGTRADES" as never, 0, 2);
      expect(bars.length).toBeGreaterThanOrEqual(167);
    } finally {
      next.disconnect();
    }
    let ticks = 0;
    let trades = 0;
    let depth = 0;
    let summaryEnd = false;
    let positionEnd = false;
    c.ib.on(EventName.tickPrice, () => ticks++);
    c.ib.on(EventName.tickByTickAllLast, () => trades++);
    c.ib.on(EventName.updateMktDepth, () => depth++);
    c.ib.on(EventName.accountSummaryEnd, () => (summaryEnd = true));
    c.ib.on(EventName.positionEnd, () => (positionEnd = true));
    c.ib.reqMktData(1, { ...BTC } as Contract, "", false, false);
    c.ib.reqTickByTickData(2, { ...BTC } as Contract, "AllLast" as never, 0, false);
    c.ib.reqMktDepth(3, { ...BTC } as Contract, 5, false, []);
    c.ib.reqAccountSummary(4, "All", "NetLiquidation,TotalCashValue,$LEDGER");
    c.ib.reqPositions();
    await until(() => ticks > 5 && trades > 0 && depth > 10 && summaryEnd && positionEnd, { timeoutMs: 10_000, what: "streams and account" });
    expect(c.decodeErrors).toEqual([]);
  });
});
