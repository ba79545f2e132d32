import { describe, expect, it } from "vitest";
import { parseInterval } from "../../domain/intervals.js";
import type { Candle } from "../../domain/marketData.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";

// Simulator and adapter share a clock shifted so that a minute boundary comes ~5 s after start (time runs at
// its real pace; only the wall-clock reading is moved), as in candles.test.ts.
const offset = (55_000 - (Date.now() % 60_000) + 60_000) % 60_000;
const now = () => Date.now() + offset;
const boundary = Math.ceil(now() / 60_000) * 60_000;
const fx = useAdapterOnSimulator({
  simulator: { seed: 11, tickIntervalMs: 50, now },
  adapter: { clientId: 8, now, historicalPacing: { settleAfterReconnectMs: 200, settleMaxMs: 400 } },
});

describe("a candle's final bar across a reconnect", () => {
  it("still comes from IB's history when the Gateway drops while the heal of a just-closed candle is pending", async () => {
    const controller = new AbortController();
    const cursor = await fx.adapter.streamCandles("spot", "BTCUSDT", parseInterval("min1")!, { signal: controller.signal, heartbeatMs: 500 });
    const candles: Candle[] = [];
    let gaps = 0;
    const reading = (async () => {
      for await (const batch of cursor) {
        for (const e of batch) {
          if (e.type === "data") candles.push(e.value);
          else if (e.type === "status" && e.status.kind === "gap") gaps++;
        }
      }
    })();
    try {
      // The minute closes at `boundary` (the feed notices within a second) and its heal waits 2 s: drop then.
      await until(() => now() >= boundary + 1_200, { what: "the minute to close and its heal to be pending", timeoutMs: 15_000 });
      expect(candles.some((c) => c.complete && c.startMs === boundary - 60_000)).toBe(false);
      fx.sim.faults.dropAll();
      await until(() => gaps > 0, { what: "the reconnect's GAP", timeoutMs: 10_000 });
      await until(() => candles.some((c) => c.complete && c.startMs === boundary - 60_000), { what: "the closed minute's final candle after the reconnect", timeoutMs: 10_000 });
    } finally {
      controller.abort();
      await reading;
    }
  }, 40_000);
});
