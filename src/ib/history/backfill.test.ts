import { afterEach, describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { parseInterval } from "../../domain/intervals.js";
import type { MarketType } from "../../domain/marketType.js";
import { MarketStore } from "../../store/marketStore.js";
import { IN_MEMORY } from "../../store/storeSettings.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { IbError } from "../ibErrors.js";
import { estimateFinishMs, MAX_BACKFILL_REQUESTS, planBackfillChunks, runBackfill, type BackfillEvent, type BackfillSource } from "./backfill.js";
import { seriesKeyOf } from "./candleCache.js";
import type { CandleQuery } from "./historyService.js";

const min1 = parseInterval("min1")!;
const h1 = parseInterval("h1")!;
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12, 30, 15);
const MIDNIGHT = Date.UTC(2026, 10, 20);

describe("planBackfillChunks", () => {
  const plan = (covered: { fromMs: number; toMs: number }[], fromMs = MIDNIGHT - 5 * DAY, toMs = MIDNIGHT, interval = min1) =>
    planBackfillChunks({ interval, fromMs, toMs, nowMs: NOW, secType: "CRYPTO", timeZone: "UTC", covered });

  it("splits an uncovered window into IB-sized requests, oldest first, tiling it exactly", () => {
    expect(plan([])).toEqual(Array.from({ length: 5 }, (_, i) => ({ fromMs: MIDNIGHT - (5 - i) * DAY, toMs: MIDNIGHT - (4 - i) * DAY })));
    // h1 goes 4 weeks per request.
    expect(plan([], MIDNIGHT - 60 * DAY, MIDNIGHT, h1).map((c) => (c.toMs - c.fromMs) / DAY)).toEqual([28, 28, 4]);
  });

  it("skips what the store covers, and asks across a covered gap shorter than one request instead of around it", () => {
    expect(plan([{ fromMs: MIDNIGHT - 5 * DAY, toMs: MIDNIGHT - 2 * DAY }])).toEqual([
      { fromMs: MIDNIGHT - 2 * DAY, toMs: MIDNIGHT - DAY },
      { fromMs: MIDNIGHT - DAY, toMs: MIDNIGHT },
    ]);
    // Two holes an hour apart: one request for both, not two.
    expect(plan([{ fromMs: MIDNIGHT - 5 * DAY, toMs: MIDNIGHT - 3 * DAY }, { fromMs: MIDNIGHT - 3 * DAY + 3_600_000, toMs: MIDNIGHT }])).toEqual([{ fromMs: MIDNIGHT - 3 * DAY, toMs: MIDNIGHT - 3 * DAY + 3_600_000 }]);
    expect(plan([{ fromMs: MIDNIGHT - 6 * DAY, toMs: MIDNIGHT }])).toEqual([]);
  });

  it("ends at now (whole seconds) for a window reaching the forming bar, and plans nothing in the future", () => {
    const chunks = plan([], MIDNIGHT, NOW + DAY);
    expect(chunks).toEqual([{ fromMs: MIDNIGHT, toMs: Math.floor(NOW / 1000) * 1000 }]);
    expect(plan([], NOW + 60_000, NOW + DAY)).toEqual([]);
  });
});

describe("estimateFinishMs", () => {
  const base = { nowMs: NOW, budget: 60, windowMs: 600_000, sentInWindow: 0, msPerRequest: 1_000 };

  it("goes at the pace so far while IB's window has room", () => {
    expect(estimateFinishMs({ ...base, remaining: 30 })).toBe(NOW + 30_000);
  });

  it("adds a pacing window per budget's worth beyond what the current window has left", () => {
    // 40 left in this window, then 60 per window: 60 more need one window, 61 two.
    expect(estimateFinishMs({ ...base, sentInWindow: 20, remaining: 100 })).toBe(NOW + 600_000);
    expect(estimateFinishMs({ ...base, sentInWindow: 20, remaining: 101 })).toBe(NOW + 1_200_000);
  });

  it("is now when nothing remains, and unknown before any pace or wait is known", () => {
    expect(estimateFinishMs({ ...base, remaining: 0 })).toBe(NOW);
    expect(estimateFinishMs({ ...base, msPerRequest: undefined, remaining: 5 })).toBeUndefined();
  });
});

describe("runBackfill", () => {
  const stores: MarketStore[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
  });

  const instrument = (symbol: string, conId: number): ResolvedInstrument => ({ symbol, conId, secType: "CRYPTO", timeZoneId: "UTC" }) as ResolvedInstrument;
  const KNOWN: Record<string, ResolvedInstrument> = { BTCUSDT: instrument("BTCUSDT", 1), ETHUSDT: instrument("ETHUSDT", 2) };

  /** An adapter whose candle path stores what it "fetches" (a bar an hour, to stay fast) and covers it, as CandleCache does. */
  function fakeSource(behaviour: { fail?: (symbol: string, query: CandleQuery) => Error | undefined; storeFails?: boolean } = {}) {
    const store = MarketStore.open(IN_MEMORY);
    stores.push(store);
    const calls: { symbol: string; fromMs: number; client: string | undefined }[] = [];
    let open = 0;
    let maxOpen = 0;
    const source: BackfillSource = {
      resolve: async (_m: MarketType, symbol: string) => {
        const found = KNOWN[symbol];
        if (found === undefined) throw new IbError("not-found", `no contract for ${symbol}`);
        return found;
      },
      candles: async (_m, symbol, query) => {
        open++;
        maxOpen = Math.max(maxOpen, open);
        await new Promise((resolve) => setImmediate(resolve));
        open--;
        const failure = behaviour.fail?.(symbol, query);
        if (failure !== undefined) throw failure;
        calls.push({ symbol, fromMs: query.fromMs, client: query.client });
        const bars = [];
        for (let t = query.fromMs; t < query.toMs; t += 3_600_000) bars.push({ startMs: t, open: dec("1"), high: dec("1"), low: dec("1"), close: dec("1"), volume: dec("1"), count: 1, complete: true });
        const key = { ...seriesKeyOf(KNOWN[symbol]!, min1, true), symbol, timeZone: "UTC" };
        if (behaviour.storeFails === true) {
          // As CandleCache does: the answer stands, the write is queued and its failure only reported (a bar
          // that cannot be bound stands for a full disk).
          store.candles.write(key, [{ ...bars[0]!, startMs: Number.NaN }], { covered: { fromMs: query.fromMs, toMs: query.toMs } }, NOW).catch(() => undefined);
          return { candles: bars };
        }
        await store.candles.write(key, bars, { covered: { fromMs: query.fromMs, toMs: query.toMs } }, NOW);
        return { candles: bars };
      },
      historicalPacing: () => ({ budget: 60, windowMs: 600_000, sentInWindow: calls.length, userWaitMs: 0 }),
      store: store.candles,
      settings: { recentTtlMs: 60_000 },
      now: () => NOW,
    };
    return { source, calls, maxOpen: () => maxOpen };
  }

  async function collect(events: AsyncIterable<BackfillEvent>): Promise<BackfillEvent[]> {
    const out: BackfillEvent[] = [];
    for await (const e of events) out.push(e);
    return out;
  }
  const request = { marketType: "spot" as const, interval: min1, fromMs: MIDNIGHT - 10 * DAY, toMs: MIDNIGHT, regularHoursOnly: true, client: "alpha" };

  it("refuses a combo (no contract id to key its series by) without asking IB for its candles, and fills the others", async () => {
    const combo = { ...instrument("COMBO:BTC,-ETH", 0), legs: [{ symbol: "BTC", conId: 1, ratio: 1 }, { symbol: "ETH", conId: 2, ratio: -1 }] } as ResolvedInstrument;
    KNOWN["COMBO:BTC,-ETH"] = combo;
    try {
      const fake = fakeSource();
      const events = await collect(runBackfill(fake.source, { ...request, symbols: ["COMBO:BTC,-ETH", "BTCUSDT"], fromMs: MIDNIGHT - 2 * DAY }));
      const summary = events.at(-1) as Extract<BackfillEvent, { kind: "summary" }>;
      const [bag, btc] = summary.summary.symbols;
      expect(bag).toMatchObject({ bars: 0, requestsSent: 0, error: { kind: "invalid", fact: "not-offered-for-class" } });
      expect(btc!.bars).toBeGreaterThan(0);
      expect(fake.calls.map((c) => c.symbol)).not.toContain("COMBO:BTC,-ETH");
    } finally {
      delete KNOWN["COMBO:BTC,-ETH"];
    }
  });

  it("does not report a symbol filled when its writes to the store failed: the summary says so, and a rerun plans the requests again", async () => {
    const fake = fakeSource({ storeFails: true });
    const events = await collect(runBackfill(fake.source, { ...request, symbols: ["BTCUSDT"], fromMs: MIDNIGHT - 2 * DAY }));
    const summary = events.at(-1);
    expect(summary?.kind).toBe("summary");
    const [btc] = (summary as Extract<BackfillEvent, { kind: "summary" }>).summary.symbols;
    expect(btc!.requestsSent).toBe(2);
    expect(String((btc!.error as Error | undefined)?.message)).toMatch(/2 store write\(s\) failed during the backfill/);
    const rerun = await runBackfill(fake.source, { ...request, symbols: ["BTCUSDT"], fromMs: MIDNIGHT - 2 * DAY }).next();
    expect(rerun.value).toMatchObject({ kind: "progress", progress: { requestsPlanned: 2 } });
  });

  it("refuses a window needing more than MAX_BACKFILL_REQUESTS IB requests in all before planning it (the API lets `from` reach the year 1); one at the limit is planned", async () => {
    const fake = fakeSource();
    // min1 is one request per day: 2 symbols × 10,001 days is 20,002 requests.
    const tooLong = runBackfill(fake.source, { ...request, symbols: ["BTCUSDT", "ETHUSDT"], fromMs: MIDNIGHT - 10_001 * DAY });
    const refused = await tooLong.next().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(IbError);
    expect((refused as IbError).fact).toBe("history-too-long");
    expect((refused as IbError).message).toContain(`more than ${MAX_BACKFILL_REQUESTS} in one backfill`);
    const atLimit = runBackfill(fake.source, { ...request, symbols: ["BTCUSDT", "ETHUSDT"], fromMs: MIDNIGHT - 10_000 * DAY });
    const first = await atLimit.next();
    await atLimit.return(undefined);
    expect(first.value).toMatchObject({ kind: "progress", progress: { requestsPlanned: MAX_BACKFILL_REQUESTS } });
    expect(fake.calls).toEqual([]);
  });

  it("fetches every planned request once, symbols interleaved, at most `concurrency` at a time, in the caller's client's name", async () => {
    const fake = fakeSource();
    const events = await collect(runBackfill(fake.source, { ...request, symbols: ["BTCUSDT", "ETHUSDT"] }, { concurrency: 3 }));
    expect(fake.calls).toHaveLength(20);
    expect(fake.calls.slice(0, 4).map((c) => c.symbol)).toEqual(["BTCUSDT", "ETHUSDT", "BTCUSDT", "ETHUSDT"]);
    expect(fake.calls.every((c) => c.client === "alpha")).toBe(true);
    expect(fake.maxOpen()).toBe(3);
    const summary = events.at(-1);
    expect(summary).toMatchObject({ kind: "summary", summary: { requestsSent: 20, barsStored: 20 * 24 } });
    const done = events.flatMap((e) => (e.kind === "progress" ? [e.progress.requestsDone] : []));
    expect(done).toEqual([0, ...Array.from({ length: 20 }, (_, i) => i + 1)]);
  });

  it("an unknown symbol and a symbol whose request fails are reported alone; the others are filled", async () => {
    const fake = fakeSource({ fail: (symbol, q) => (symbol === "ETHUSDT" && q.fromMs === MIDNIGHT - 7 * DAY ? new IbError("permission", "no market data permissions") : undefined) });
    const events = await collect(runBackfill(fake.source, { ...request, symbols: ["NOPE", "BTCUSDT", "ETHUSDT"] }, { concurrency: 1 }));
    const last = events.at(-1)!;
    if (last.kind !== "summary") throw new Error("no summary");
    const bySymbol = Object.fromEntries(last.summary.symbols.map((s) => [s.symbol, s]));
    expect((bySymbol.NOPE!.error as IbError).kind).toBe("not-found");
    expect(bySymbol.BTCUSDT).toMatchObject({ requestsSent: 10, requestsPlanned: 10, error: undefined });
    // Its first three days went through; the rest of its plan is dropped after the failure.
    expect(bySymbol.ETHUSDT).toMatchObject({ requestsSent: 3, requestsPlanned: 10 });
    expect((bySymbol.ETHUSDT!.error as IbError).kind).toBe("permission");
    const finalProgress = events.filter((e) => e.kind === "progress").at(-1)!;
    expect(finalProgress).toMatchObject({ progress: { requestsDone: 13, requestsPlanned: 13 } });
  });

  it("a symbol whose requests fail while several are in flight ends with the plan done, each failure counted once", async () => {
    const fake = fakeSource({ fail: (symbol) => (symbol === "ETHUSDT" ? new IbError("permission", "no market data permissions") : undefined) });
    const events = await collect(runBackfill(fake.source, { ...request, symbols: ["ETHUSDT", "BTCUSDT"] }, { concurrency: 4 }));
    const progress = events.flatMap((e) => (e.kind === "progress" ? [e.progress] : []));
    expect(progress.at(-1)).toMatchObject({ requestsDone: 10, requestsPlanned: 10 });
    expect(progress.every((p) => p.requestsDone <= p.requestsPlanned)).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: "summary", summary: { requestsSent: 10, symbols: [{ symbol: "ETHUSDT", requestsSent: 0 }, { symbol: "BTCUSDT", requestsSent: 10, error: undefined }] } });
  });

  it("waits out the client's historyRequests quota (retryAfterMs) instead of failing the symbol", async () => {
    let refused = 0;
    const fake = fakeSource({ fail: () => (refused++ < 2 ? new IbError("limit", "quota", undefined, "history-quota", { limit: 5, client: "alpha", retryAfterMs: 5 }) : undefined) });
    const events = await collect(runBackfill(fake.source, { ...request, fromMs: MIDNIGHT - 2 * DAY, symbols: ["BTCUSDT"] }, { concurrency: 1 }));
    expect(events.some((e) => e.kind === "progress" && e.progress.waiting?.reason.includes("historyRequests quota"))).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: "summary", summary: { requestsSent: 2, symbols: [{ error: undefined }] } });
  });

  it("resumes where it stopped: an aborted run leaves whole requests stored, and the next plans only the rest", async () => {
    const fake = fakeSource();
    const controller = new AbortController();
    const first: BackfillEvent[] = [];
    for await (const e of runBackfill(fake.source, { ...request, symbols: ["BTCUSDT"], signal: controller.signal }, { concurrency: 1 })) {
      first.push(e);
      if (e.kind === "progress" && e.progress.requestsDone === 4) controller.abort();
    }
    expect(first.some((e) => e.kind === "summary")).toBe(false);
    const sent = fake.calls.length;
    expect(sent).toBeLessThanOrEqual(5);
    const second = await collect(runBackfill(fake.source, { ...request, symbols: ["BTCUSDT"] }, { concurrency: 2 }));
    expect(second.at(-1)).toMatchObject({ kind: "summary", summary: { requestsSent: 10 - sent, symbols: [{ rangesInStore: 1, requestsPlanned: 10 - sent }] } });
    // Every day of the window fetched exactly once across both runs.
    expect(fake.calls.map((c) => c.fromMs).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => MIDNIGHT - (10 - i) * DAY));
  });
});
