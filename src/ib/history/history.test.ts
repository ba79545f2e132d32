import { beforeAll, describe, expect, it } from "vitest";
import { dec, toWire } from "../../domain/decimal.js";
import { parseInterval } from "../../domain/intervals.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";

// The real adapter against the simulated Gateway. IB's historical pacing windows (10 min, 15 s, 2 s) are
// scaled down by the same factor on both sides so that 300 requests take seconds, not 50 minutes; the
// rules and their enforcement are IB's.
// 10 min → 3 s, 15 s → 75 ms; the per-contract 2 s window only ÷ 20 (100 ms): at 10 ms, a loaded machine's
// jitter alone bunched a contract's requests into one window. Messages per second are not scaled (the client
// library paces its socket in real time), so 60 requests still take 1.5 s at 40/s and the 60-per-window rule binds.
const SCALE = 200;
const pacingViolations: string[] = [];
const fx = useAdapterOnSimulator({
  simulator: {
    seed: 3,
    limits: {
      historicalWindowMs: 600_000 / SCALE,
      historicalIdenticalMs: 15_000 / SCALE,
      historicalSameContractMs: 2_000 / 20,
      // 1 message/s per 50 would still be IB's; the request burst is paced by the scheduler, not by this.
    },
  },
  adapter: {
    clientId: 4,
    historicalPacing: {
      globalWindowMs: 600_000 / SCALE,
      identicalWindowMs: 15_000 / SCALE,
      sameContractWindowMs: 2_000 / 20,
      maxSendsPerSecond: 40,
      // Arrival jitter of 300 requests served by a simulator in the same process, on a loaded machine: IB's
      // own margin (1 s; a window is then 4 s here).
      safetyMarginMs: 1_000,
      pacingBackoffMs: 10_000 / SCALE,
    },
    maxHistoryChunks: 400,
  },
});

beforeAll(() => {
  fx.adapter.connection.api.on("error" as never, (err: Error, code: number) => {
    if (code === 162 && /pacing/i.test(err.message)) pacingViolations.push(err.message);
  });
});

const h1 = parseInterval("h1")!;
const min1 = parseInterval("min1")!;

describe("historical candles", () => {
  it("7 days of h1 BTC equal the simulated market's own bars, ascending, the forming one incomplete", async () => {
    const toMs = Date.now();
    const fromMs = toMs - 7 * 86_400_000;
    const { candles, instrument } = await fx.adapter.candles("spot", "BTCUSDT", { interval: h1, fromMs, toMs, regularHoursOnly: true });
    expect(instrument.secType).toBe("CRYPTO");
    expect(candles.length).toBeGreaterThanOrEqual(7 * 24);
    expect(candles.length).toBeLessThanOrEqual(7 * 24 + 1);
    for (let i = 1; i < candles.length; i++) expect(candles[i]!.startMs - candles[i - 1]!.startMs).toBe(3_600_000);
    expect(candles.slice(0, -1).every((c) => c.complete)).toBe(true);
    expect(candles.at(-1)!.complete).toBe(false);

    const btc = fx.sim.market.instruments().find((i) => i.symbol === "BTC")!;
    const reference = fx.sim.market.bars(btc, { barSize: 3600, fromSec: candles[0]!.startMs / 1000, toSec: candles.at(-2)!.startMs / 1000 + 1, useRTH: false, whatToShow: "AGGTRADES" });
    const complete = candles.slice(0, -1);
    expect(complete.map((c) => [c.startMs / 1000, c.open, c.high, c.low, c.close, c.volume])).toEqual(
      reference.map((b) => [b.startSec, b.open, b.high, b.low, b.close, b.volume].map((v, i) => (i === 0 ? v : toWire(dec(String(v)))))),
    );
  });

  it("splits a long min1 window into day-sized requests and merges them without gaps or duplicates", async () => {
    const toMs = Math.floor(Date.now() / 60_000) * 60_000;
    const fromMs = toMs - 3 * 86_400_000;
    const { candles } = await fx.adapter.candles("spot", "ETHUSDT", { interval: min1, fromMs, toMs, regularHoursOnly: true });
    expect(candles).toHaveLength(3 * 1440);
    expect(new Set(candles.map((c) => c.startMs)).size).toBe(candles.length);
  });

  it("refuses a window that would need more requests than allowed, suggesting a larger interval", async () => {
    const small = fx.another({ clientId: 5, maxHistoryChunks: 60 });
    await small.start();
    const toMs = Date.now();
    await expect(small.candles("spot", "BTCUSDT", { interval: min1, fromMs: toMs - 365 * 86_400_000, toMs, regularHoursOnly: true })).rejects.toMatchObject({
      kind: "invalid",
      message: expect.stringContaining("larger interval"),
    });
    small.stop();
  });

  it("300 historical requests for 10 instruments all complete without a single pacing violation (162)", async () => {
    const symbols: ["spot" | "futures", string][] = [
      ["spot", "BTCUSDT"], ["spot", "ETHUSDT"], ["spot", "AAPL"], ["spot", "MSFT"], ["spot", "SPY"], ["spot", "EURUSD"], ["spot", "TSLA"], ["futures", "ES"],
      ["spot", "BTC"], ["spot", "ETH"],
    ];
    const dayMs = 86_400_000;
    const endMs = Math.floor(Date.now() / dayMs) * dayMs;
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const [market, symbol] = symbols[i % symbols.length]!;
        // Distinct windows, one IB request each (a day of h1 bars); BTC/BTCUSDT share a contract.
        const day = Math.floor(i / symbols.length) + 1;
        return fx.adapter.candles(market, symbol, { interval: h1, fromMs: endMs - (day + 1) * dayMs, toMs: endMs - day * dayMs, regularHoursOnly: false });
      }),
    );
    expect(results).toHaveLength(300);
    expect(pacingViolations).toEqual([]);
    // 300 requests at 60 per (scaled) 10 minutes: at least 4 full windows of waiting.
    expect(Date.now() - started).toBeGreaterThanOrEqual((4 * 600_000) / SCALE);
  }, 60_000);
});

