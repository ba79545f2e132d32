import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { dec } from "../../domain/decimal.js";
import type { Bar } from "../../domain/marketData.js";
import { CandleSeeds, type MinuteBarFetch } from "./candleSeeds.js";

const minute = (startMs: number): Bar => ({ startMs, open: dec(1), high: dec(1), low: dec(1), close: dec(1), volume: dec(1) });

/** A fetch the test answers: records each request and its signal. */
function fakeFetch() {
  const calls: { fromMs: number; toMs: number; signal: AbortSignal; answer: (bars: Bar[]) => void }[] = [];
  const fetch: MinuteBarFetch = (fromMs, toMs, signal) => new Promise((resolve) => calls.push({ fromMs, toMs, signal, answer: resolve }));
  return { fetch, calls };
}

/** The gathering delay passes (fake timers: deterministic, no sleeping). */
const gatherDelayPasses = () => vi.advanceTimersByTime(10);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("coalesced candle seeds", () => {
  it("seeds asked for together share one request covering the earliest, each getting the minutes of its own window", async () => {
    const seeds = new CandleSeeds(5);
    const { fetch, calls } = fakeFetch();
    const min5 = seeds.seed("ETH", 300_000, 420_000, fetch);
    const h1 = seeds.seed("ETH", 0, 420_000, fetch);
    const other = seeds.seed("BTC", 300_000, 420_000, fetch);
    gatherDelayPasses();
    expect(calls.map((c) => [c.fromMs, c.toMs])).toEqual([[0, 420_000], [300_000, 420_000]]);
    calls[0]!.answer([0, 60_000, 300_000, 360_000].map(minute));
    expect((await min5).map((b) => b.startMs)).toEqual([300_000, 360_000]);
    expect((await h1).map((b) => b.startMs)).toEqual([0, 60_000, 300_000, 360_000]);
    calls[1]!.answer([]);
    expect(await other).toEqual([]);
  });

  it("the last seed leaving withdraws the request: never sent while gathering, aborted once sent", async () => {
    const seeds = new CandleSeeds(5);
    const { fetch, calls } = fakeFetch();
    const gone = new AbortController();
    const withdrawn = seeds.seed("ETH", 0, 60_000, fetch, { signal: gone.signal }).catch(() => "withdrawn");
    gone.abort();
    gatherDelayPasses();
    expect(await withdrawn).toBe("withdrawn");
    expect(calls).toHaveLength(0);

    const a = new AbortController();
    const b = new AbortController();
    const first = seeds.seed("ETH", 0, 60_000, fetch, { signal: a.signal }).catch(() => "left");
    const second = seeds.seed("ETH", 0, 60_000, fetch, { signal: b.signal }).catch(() => "left");
    gatherDelayPasses();
    expect(calls).toHaveLength(1);
    a.abort();
    expect(calls[0]!.signal.aborted).toBe(false); // one still wants it
    b.abort();
    expect(calls[0]!.signal.aborted).toBe(true);
    expect([await first, await second]).toEqual(["left", "left"]);
  });
});
