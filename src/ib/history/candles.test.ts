import { describe, expect, it } from "vitest";
import { dec, toWire } from "../../domain/decimal.js";
import { parseInterval } from "../../domain/intervals.js";
import type { Candle } from "../../domain/marketData.js";
import type { FeedEvent } from "../../stream/feedEvents.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";

// Live candles from the real adapter against the simulated Gateway, whose market is a pure function of
// (seed, instrument, time): a complete live candle must equal the historical bar of the same minute.
// Both sides share a clock shifted so that a minute boundary comes ~6 s after start (time runs at its
// real pace; only the wall-clock reading is moved), instead of waiting up to a minute.
const offset = (54_000 - (Date.now() % 60_000) + 60_000) % 60_000;
const now = () => Date.now() + offset;
const fx = useAdapterOnSimulator({ simulator: { seed: 9, tickIntervalMs: 50, now }, adapter: { clientId: 6, now } });

describe("live candles", () => {
  it("update the forming min1 candle, then close it equal to IB's own bar for that minute", async () => {
    const controller = new AbortController();
    const queue = await fx.adapter.streamCandles("spot", "BTCUSDT", parseInterval("min1")!, { signal: controller.signal, heartbeatMs: 1_000 });
    const seen: FeedEvent<Candle>[] = [];
    const deadline = Date.now() + 20_000;
    // Bounded: the minute boundary (~6 s away) plus the history fetch of the final bar.
    for await (const batch of queue) {
      seen.push(...batch);
      if (seen.some((e) => e.type === "data" && e.value.complete) || Date.now() > deadline) break;
    }
    controller.abort();
    const candles = seen.flatMap((e) => (e.type === "data" ? [e.value] : []));
    const forming = candles.filter((c) => !c.complete);
    const complete = candles.find((c) => c.complete);
    expect(forming.length).toBeGreaterThan(0);
    expect(complete).toBeDefined();
    const btc = fx.sim.market.instruments().find((i) => i.symbol === "BTC")!;
    const [bar] = fx.sim.market.bars(btc, { barSize: 60, fromSec: complete!.startMs / 1000, toSec: complete!.startMs / 1000 + 1, useRTH: false, whatToShow: "AGGTRADES" });
    expect([toWire(complete!.open), toWire(complete!.high), toWire(complete!.low), toWire(complete!.close), toWire(complete!.volume)]).toEqual(
      [bar!.open, bar!.high, bar!.low, bar!.close, bar!.volume].map((v) => toWire(dec(v))),
    );
  }, 30_000);

  it("seeds the candles in progress of several intervals of one instrument opening together from one request of minutes", async () => {
    const historical = () => fx.sim.stats.historicalRequests.get("ETH") ?? 0;
    const before = historical();
    const controller = new AbortController();
    const intervals = ["min5", "min15", "h1"];
    const cursors = await Promise.all(intervals.map((name) => fx.adapter.streamCandles("spot", "ETHUSDT", parseInterval(name)!, { signal: controller.signal, heartbeatMs: 1_000 })));
    const firsts = await Promise.all(
      cursors.map(async (cursor) => {
        for await (const batch of cursor) {
          const data = batch.find((e) => e.type === "data");
          if (data?.type === "data") return data.value;
        }
        throw new Error("stream ended");
      }),
    );
    controller.abort();
    expect(historical() - before).toBe(1);
    // Each forming candle opens at IB's first minute of it: seeded from history, not from live bars.
    const eth = fx.sim.market.instruments().find((i) => i.symbol === "ETH")!;
    for (const candle of firsts) {
      const [minute] = fx.sim.market.bars(eth, { barSize: 60, fromSec: candle.startMs / 1000, toSec: candle.startMs / 1000 + 1, useRTH: false, whatToShow: "AGGTRADES" });
      expect(toWire(candle.open)).toBe(toWire(dec(minute!.open)));
    }
  }, 20_000);
});
