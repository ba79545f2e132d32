import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfiguredSubscriptions } from "./configuredSubscriptions.js";
import { IbAdapter } from "./ib/ibAdapter.js";
import { createLogger } from "./log/logger.js";
import { startSimulator, type SimulatorHandle } from "./simulator/index.js";

// The real adapter against the simulated Gateway; the config is the only thing made up here.
let sim: SimulatorHandle;
let adapter: IbAdapter;
const log = createLogger("silent");
const provider = {
  apiToken: undefined,
  ignoredConnectors: [],
  ib: {
    connectorType: "ib" as const,
    enabled: true,
    markets: [{ marketType: "spot" as const, symbols: [{ name: "BTCUSDT" }, { name: "ETHUSDT" }, { name: "AAPL" }, { name: "MSFT" }] }],
    subscriptions: [{ type: "PROVIDER_MARKETDATA_TRADE" as const, symbols: ["MSFT"], active: true }],
  },
};

beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 13, tickIntervalMs: 50 });
  adapter = new IbAdapter({ mode: "simulator", host: sim.host, port: sim.port, clientId: 8, accountId: undefined, log, provider });
  await adapter.start();
});

afterAll(async () => {
  adapter.stop();
  await sim.close();
});

describe("configured subscriptions", () => {
  it("one that cannot start at boot (all tick-by-tick slots taken) starts on a later attempt", async () => {
    const holders = new AbortController();
    for (const s of ["BTCUSDT", "ETHUSDT", "AAPL"]) await adapter.streamTrades("spot", s, { signal: holders.signal });
    const configured = new ConfiguredSubscriptions(provider, adapter, log, 200);
    try {
      await configured.start();
      expect(configured.failures).toMatchObject([{ type: "PROVIDER_MARKETDATA_TRADE", symbol: "MSFT", reason: expect.stringContaining("tick-by-tick") }]);
      expect(adapter.subscriptions().some((s) => s.configured)).toBe(false);

      holders.abort(); // the slots come back
      const until = Date.now() + 5_000;
      while (!adapter.subscriptions().some((s) => s.configured) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(adapter.subscriptions().filter((s) => s.configured)).toMatchObject([{ kind: "trade", symbol: "MSFT", consumers: 1 }]);
      expect(configured.failures).toEqual([]);
    } finally {
      configured.stop();
    }
  });
});
