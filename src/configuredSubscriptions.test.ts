import { describe, expect, it } from "vitest";
import { ConfiguredSubscriptions } from "./configuredSubscriptions.js";
import { createLogger } from "./log/logger.js";
import { useAdapterOnSimulator } from "./testing/adapterOnSimulator.js";
import { until } from "./testing/until.js";

// The real adapter against the simulated Gateway; the config is the only thing made up here.
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
const fx = useAdapterOnSimulator({ simulator: { seed: 13, tickIntervalMs: 50 }, adapter: { clientId: 8, provider } });

describe("configured subscriptions", () => {
  it("one that cannot start at boot (all tick-by-tick slots taken) starts on a later attempt", async () => {
    const holders = new AbortController();
    for (const s of ["BTCUSDT", "ETHUSDT", "AAPL"]) await fx.adapter.streamTrades("spot", s, { signal: holders.signal });
    const configured = new ConfiguredSubscriptions(provider, fx.adapter, log, 200);
    try {
      await configured.start();
      expect(configured.failures).toMatchObject([{ type: "PROVIDER_MARKETDATA_TRADE", symbol: "MSFT", reason: expect.stringContaining("tick-by-tick") }]);
      expect(fx.adapter.subscriptions().some((s) => s.configured)).toBe(false);

      holders.abort(); // the slots come back
      await until(() => fx.adapter.subscriptions().some((s) => s.configured), { what: "the configured subscription to start" });
      expect(fx.adapter.subscriptions().filter((s) => s.configured)).toMatchObject([{ kind: "trade", symbol: "MSFT", consumers: 1 }]);
      expect(configured.failures).toEqual([]);
    } finally {
      configured.stop();
    }
  });
});
