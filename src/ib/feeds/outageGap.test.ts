import { EventName, type IBApi } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { decimalFromIb } from "../../domain/decimal.js";
import { parseInterval } from "../../domain/intervals.js";
import type { Bar, Candle, TradePrint } from "../../domain/marketData.js";
import type { Logger } from "../../log/logger.js";
import type { FeedStatusKind } from "../../stream/feedEvents.js";
import type { FeedSink, FeedSource, OpenFeed } from "../../stream/feedSource.js";
import type { RequestRouter } from "../connection/requestRouter.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import type { OutageTrades, TradeHistory } from "../history/outageTrades.js";
import { candleSource, type CandleHistory, type CandleHistoryWait } from "./candleFeed.js";
import type { FeedContext } from "./feedContext.js";
import type { LineBudget } from "./lineBudget.js";
import { tradesSource, type TradeEvent } from "./tradesFeed.js";

// The seam: a source reopened after an outage says the reopen's GAP itself (FeedSource.fillsGaps), once,
// before any data, on every path of its backfill. IB is played by the test: the router's listeners get the
// live messages, and the history answers when and how the test says.

const MIN1 = parseInterval("min1")!;
const T0 = Date.UTC(2026, 11, 3, 14, 0, 30);
const SEC = 1_000;
const d = (n: number) => decimalFromIb(n)!;

/** A fake IB connection: the listeners routed by request id, a settable clock. */
function fakeContext() {
  let nextId = 1;
  const listeners = new Map<string, (...args: never[]) => void>();
  const clock = { now: T0 };
  const ctx: FeedContext = {
    api: { reqTickByTickData() {}, cancelTickByTickData() {}, reqRealTimeBars() {}, cancelRealTimeBars() {} } as unknown as IBApi,
    router: {
      allocateId: () => nextId++,
      on: (event: EventName, reqId: number, listener: (...args: never[]) => void) => listeners.set(`${event}/${reqId}`, listener),
      onMessage() {},
      release(reqId: number) {
        for (const k of [...listeners.keys()]) if (k.endsWith(`/${reqId}`)) listeners.delete(k);
      },
    } as unknown as RequestRouter,
    budget: { take() {}, give() {} } as unknown as LineBudget,
    now: () => clock.now,
    log: { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger,
    isConnected: () => true,
  };
  /** Delivers an IB message to whichever request listens for the event now. */
  const emit = (event: EventName, ...args: unknown[]) => {
    const found = [...listeners.entries()].filter(([k]) => k.startsWith(`${event}/`));
    expect(found).toHaveLength(1);
    (found[0]![1] as (...a: unknown[]) => void)(...args);
  };
  return { ctx, clock, emit };
}

const instrument = { symbol: "AAPL", conId: 265598, exchange: "SMART", secType: "STK", timeZoneId: "UTC", requestContract: {} } as unknown as ResolvedInstrument;

type Heard<T> = { kind: FeedStatusKind; message: string } | { data: T };

/** Opens and closes a source as the shared feed does, recording what each opening says, in order. */
function driver<T>(source: FeedSource<T>) {
  const heard: Heard<T>[] = [];
  let open: OpenFeed | undefined;
  const sink: FeedSink<T> = {
    data: (value) => heard.push({ data: value }),
    status: (kind, message) => heard.push({ kind, message }),
    waiting: () => {},
    restart: () => {},
    fail: (error) => {
      throw error;
    },
  };
  return {
    heard,
    /** Opens the source; returns where what this opening says starts. */
    open: () => {
      const at = heard.length;
      open = source.open(sink);
      return at;
    },
    close: () => open?.close(),
    /** What was heard from index `from` on, in words: "gap", "data". */
    words: (from: number) => heard.slice(from).map((h) => ("data" in h ? "data" : h.kind)),
    gaps: (from = 0) => heard.slice(from).flatMap((h) => ("data" in h || h.kind !== "gap" ? [] : [h.message])),
    data: (from: number) => heard.slice(from).flatMap((h) => ("data" in h ? [h.data] : [])),
  };
}

/** A promise the test settles. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("a trade feed reopened after an outage says one GAP, what it filled and what not, before any print", () => {
  const print = (ms: number, price: number): TradePrint => ({ timeMs: ms, price: d(price), size: d(1), exchange: "X", conditions: [], pastLimit: false, unreported: false });
  const live = (emit: (event: EventName, ...args: unknown[]) => void, ms: number, price: number) => emit(EventName.tickByTickAllLast, 1, ms / 1000, price, 1, {}, "X", "");

  /** A history whose every backfill waits for the test to answer it (`answers[n]` the n-th). */
  function scriptedHistory() {
    const asked: { fromMs: number; answer: ReturnType<typeof deferred<OutageTrades>>; signal: AbortSignal }[] = [];
    const history: TradeHistory = {
      since(fromMs, _liveFrom, signal) {
        const answer = deferred<OutageTrades>();
        asked.push({ fromMs, answer, signal });
        return answer.promise;
      },
    };
    return { history, asked };
  }

  function setup() {
    const { ctx, clock, emit } = fakeContext();
    const { history, asked } = scriptedHistory();
    const source = tradesSource(ctx, instrument, () => undefined, history);
    const feed = driver<TradeEvent>(source);
    feed.open();
    live(emit, T0, 100);
    clock.now = T0 + 10 * SEC;
    feed.close();
    clock.now = T0 + 60 * SEC;
    return { source, feed, clock, emit, asked };
  }

  it("fills gaps (the feed holds its own GAP back)", () => {
    expect(setup().source.fillsGaps).toBe(true);
  });

  it("backfilled prints: the GAP names them first, then they come marked backfilled, then the held live prints", async () => {
    const { feed, emit, asked } = setup();
    const at = feed.open();
    live(emit, T0 + 61 * SEC, 103); // held while the window is filled
    asked[0]!.answer.resolve({ prints: [print(T0 + 20 * SEC, 101), print(T0 + 40 * SEC, 102)], requests: 1 });
    await settle();
    expect(feed.words(at)).toEqual(["gap", "data", "data", "data"]);
    expect(feed.gaps()).toEqual(["gap 14:00:40–14:01:30 UTC: 2 trades backfilled from IB historical ticks for 14:00:30–14:01:31 UTC (1 historical-tick request)"]);
    expect(feed.data(at).map((e) => e.backfilled === true)).toEqual([true, true, false]);
  });

  it("a backfill that found nothing still says the GAP, before the live prints", async () => {
    const { feed, emit, asked } = setup();
    const at = feed.open();
    live(emit, T0 + 61 * SEC, 103);
    asked[0]!.answer.resolve({ prints: [], requests: 1 });
    await settle();
    expect(feed.words(at)).toEqual(["gap", "data"]);
    expect(feed.gaps()).toEqual(["gap 14:00:40–14:01:30 UTC: no trade printed between 14:00:30 and 14:01:31 UTC beyond those delivered live (IB historical ticks, 1 historical-tick request)"]);
  });

  it("a first request that fails, times out or would wait for the budget: the GAP says the window was not filled and why", async () => {
    const { feed, emit, asked } = setup();
    const at = feed.open();
    live(emit, T0 + 61 * SEC, 103);
    asked[0]!.answer.resolve({ prints: [], requests: 1, unfilled: { fromMs: T0, reason: "IB's historical pacing budget is spent until about 14:05:00 (user calls go first)" } });
    await settle();
    expect(feed.words(at)).toEqual(["gap", "data"]);
    expect(feed.gaps()).toEqual(["gap 14:00:40–14:01:30 UTC: 14:00:30–14:01:31 UTC not filled from IB historical ticks (IB's historical pacing budget is spent until about 14:05:00 (user calls go first))"]);
  });

  it("a history that throws: the GAP says it was not filled, with the reason, before the live prints", async () => {
    const { feed, emit, asked } = setup();
    const at = feed.open();
    live(emit, T0 + 61 * SEC, 103);
    asked[0]!.answer.reject(new Error("historical trades timed out after 30000 ms"));
    await settle();
    expect(feed.words(at)).toEqual(["gap", "data"]);
    expect(feed.gaps()).toEqual(["gap 14:00:40–14:01:30 UTC: not filled from IB historical ticks (historical trades timed out after 30000 ms)"]);
  });

  it("a second outage during the backfill withdraws it unsaid: the next reopen fills from the first loss and says one GAP", async () => {
    const { feed, clock, emit, asked } = setup();
    const first = feed.open();
    live(emit, T0 + 61 * SEC, 103);
    clock.now = T0 + 65 * SEC;
    feed.close();
    expect(asked[0]!.signal.aborted).toBe(true);
    asked[0]!.answer.resolve({ prints: [print(T0 + 20 * SEC, 101)], requests: 1 });
    await settle();
    expect(feed.words(first)).toEqual([]);
    clock.now = T0 + 90 * SEC;
    const second = feed.open();
    expect(asked[1]!.fromMs).toBe(T0);
    asked[1]!.answer.resolve({ prints: [print(T0 + 20 * SEC, 101), print(T0 + 61 * SEC, 103)], requests: 1 });
    await settle();
    expect(feed.words(second)).toEqual(["gap", "data", "data"]);
    expect(feed.gaps()).toEqual(["gap 14:00:40–14:02:00 UTC: 2 trades backfilled from IB historical ticks for 14:00:30–14:02:00 UTC (1 historical-tick request)"]);
  });
});

describe("a candle feed reopened after an outage says one GAP, what it filled and what not, before any candle", () => {
  const bar = (startMs: number, price: number): Bar => ({ startMs, open: d(price), high: d(price), low: d(price), close: d(price), volume: d(10) });
  const rtBar = (emit: (event: EventName, ...args: unknown[]) => void, ms: number, price: number) => emit(EventName.realtimeBar, ms / 1000, price, price, price, price, 1, price, 1);
  const toClose: (() => void)[] = [];
  afterEach(() => {
    for (const close of toClose.splice(0)) close();
  });

  /** A history whose outage backfills (bars) wait for the test; seeds are empty and real-time bars sent at once. */
  function setup() {
    const { ctx, clock, emit } = fakeContext();
    const asked: { fromMs: number; toMs: number; answer: ReturnType<typeof deferred<Bar[]>>; signal: AbortSignal | undefined; onWait: ((wait: CandleHistoryWait | undefined) => void) | undefined }[] = [];
    /** Set by a test: the seeds wait for it. */
    const seeds: { pending: Promise<Bar[]> | undefined } = { pending: undefined };
    const history: CandleHistory = {
      seed: () => seeds.pending ?? Promise.resolve([]),
      bars(fromMs, toMs, signal, onWait) {
        const answer = deferred<Bar[]>();
        signal?.addEventListener("abort", () => answer.reject(new Error("withdrawn")), { once: true });
        asked.push({ fromMs, toMs, answer, signal, onWait });
        return answer.promise;
      },
      paced: (send) => {
        send();
        return Promise.resolve();
      },
    };
    const source = candleSource(ctx, instrument, MIN1, history, false);
    const feed = driver<Candle>(source);
    toClose.push(() => feed.close());
    return { source, feed, clock, emit, asked, seeds };
  }

  /** Opened at 14:00:30 with one live bar, closed at 14:00:40 (lost at 14:00:35: the next bar was due then). */
  async function liveThenLost() {
    const s = setup();
    s.feed.open();
    await settle(); // seeded
    rtBar(s.emit, T0, 100);
    s.clock.now = T0 + 10 * SEC;
    s.feed.close();
    return s;
  }

  it("fills gaps (the feed holds its own GAP back)", () => {
    expect(setup().source.fillsGaps).toBe(true);
  });

  it("an outage within the candle in progress: the GAP says no candle closed, at once, before the candle goes on", async () => {
    const { feed, clock, emit } = await liveThenLost();
    clock.now = T0 + 20 * SEC;
    const at = feed.open();
    expect(feed.words(at)).toEqual(["gap"]);
    rtBar(emit, T0 + 20 * SEC, 101);
    expect(feed.words(at)).toEqual(["gap", "data"]);
    expect(feed.gaps()).toEqual(["gap 14:00:35–14:00:50 UTC: no min1 candle closed while the Gateway was away; the candle in progress goes on and is replaced by IB's bar when it closes"]);
  });

  it("an outage across candle boundaries: the GAP names the backfilled candles, which follow it before the live candle", async () => {
    const { feed, clock, emit, asked } = await liveThenLost();
    clock.now = T0 + 160 * SEC; // 14:03:10
    const at = feed.open();
    rtBar(emit, T0 + 160 * SEC, 104); // held until the backfill is delivered
    expect(feed.words(at)).toEqual([]);
    asked[0]!.answer.resolve([bar(T0 - 30 * SEC, 100), bar(T0 + 30 * SEC, 101), bar(T0 + 90 * SEC, 102)]);
    await settle();
    expect(feed.words(at)).toEqual(["gap", "data", "data", "data", "data"]);
    expect(feed.gaps()).toEqual(["gap 14:00:35–14:03:10 UTC: 3 min1 candles backfilled from IB history (14:00, 14:01, 14:02 UTC)"]);
    expect(feed.data(at).map((c) => c.backfilled === true)).toEqual([true, true, true, false]);
  });

  it("the GAP and the backfilled candles do not wait for the seed of the candle in progress, which follows them", async () => {
    const { feed, clock, asked, seeds } = await liveThenLost();
    const seed = deferred<Bar[]>();
    seeds.pending = seed.promise;
    clock.now = T0 + 160 * SEC;
    const at = feed.open();
    asked[0]!.answer.resolve([bar(T0 + 30 * SEC, 101)]);
    await settle();
    expect(feed.words(at)).toEqual(["gap", "data"]);
    seed.resolve([bar(T0 + 150 * SEC, 103)]);
    await settle();
    expect(feed.words(at)).toEqual(["gap", "data", "data"]);
    expect(feed.data(at).map((c) => [c.startMs, c.backfilled === true])).toEqual([
      [T0 + 30 * SEC, true],
      [T0 + 150 * SEC, false],
    ]);
  });

  it("a backfill that would wait for IB's budget is dropped: the GAP says what was not filled and why, before the live candle", async () => {
    const { feed, clock, emit, asked } = await liveThenLost();
    clock.now = T0 + 160 * SEC;
    const at = feed.open();
    rtBar(emit, T0 + 160 * SEC, 104);
    asked[0]!.onWait?.({ reason: "budget", untilMs: T0 + 600 * SEC, message: "waiting until about 14:10:30 for IB's historical pacing budget" });
    await settle();
    expect(feed.words(at)).toEqual(["gap", "data"]);
    expect(feed.gaps()).toEqual([
      "gap 14:00:35–14:03:10 UTC: the min1 candles of 14:00:00–14:03:00 UTC not filled from IB history: waiting until about 14:10:30 for IB's historical pacing budget; not waited for, so that live candles resume now; GetCandles can fetch them later",
    ]);
  });

  it("a backfill that fails or times out: the GAP says the candles were not filled, with the reason", async () => {
    const { feed, clock, asked } = await liveThenLost();
    clock.now = T0 + 160 * SEC;
    const at = feed.open();
    asked[0]!.answer.reject(new Error("historical bars timed out after 30000 ms"));
    await settle();
    expect(feed.words(at)).toEqual(["gap"]);
    expect(feed.gaps()[0]).toMatch(/^gap 14:00:35–14:03:10 UTC: the min1 candles of 14:00:00–14:03:00 UTC not filled from IB history: historical bars timed out after 30000 ms;/);
  });

  it("a second outage during the backfill withdraws it unsaid: the next reopen fills from the first loss and says one GAP", async () => {
    const { feed, clock, asked } = await liveThenLost();
    clock.now = T0 + 160 * SEC;
    const first = feed.open();
    clock.now = T0 + 170 * SEC;
    feed.close();
    await settle();
    expect(asked[0]!.signal?.aborted).toBe(true);
    expect(feed.words(first)).toEqual([]);
    clock.now = T0 + 280 * SEC; // 14:05:10
    const second = feed.open();
    expect(asked[1]).toMatchObject({ fromMs: T0 - 30 * SEC, toMs: T0 + 270 * SEC });
    asked[1]!.answer.resolve([0, 1, 2, 3, 4].map((k) => bar(T0 - 30 * SEC + k * 60 * SEC, 100 + k)));
    await settle();
    expect(feed.words(second)).toEqual(["gap", "data", "data", "data", "data", "data"]);
    expect(feed.gaps()).toEqual(["gap 14:00:35–14:05:10 UTC: 5 min1 candles backfilled from IB history (14:00, 14:01, 14:02, 14:03, 14:04 UTC)"]);
  });
});
