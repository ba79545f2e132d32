import { describe, expect, it } from "vitest";
import { parseInterval } from "../../domain/intervals.js";
import { textCandleOf, type Candle } from "../../domain/marketData.js";
import type { FeedEvent } from "../../stream/feedEvents.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";
import type { TradeEvent } from "./tradesFeed.js";

// Simulator and adapter share a clock running 60 times faster than the wall clock (a minute lasts one
// second), starting 20 s before a minute boundary: a Gateway restart of 2.5 s misses two or three minutes
// of live data. IB's pacing windows stay in wall time on both sides, so the outage costs what it would.
const SPEED = 60;
const wallStart = Date.now();
const simStart = Math.floor(wallStart / 60_000) * 60_000 + 40_000;
const now = () => simStart + (Date.now() - wallStart) * SPEED;
// A time in a gap's text; a range over midnight UTC names its dates (the sped-up clock can cross one).
const AT = String.raw`(?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d`;
const MIN1 = parseInterval("min1")!;
const fx = useAdapterOnSimulator({
  simulator: { seed: 31, tickIntervalMs: 20, tickByTickIntervalMs: 10, now },
  adapter: { clientId: 12, now, backoff: { initialMs: 50, maxMs: 100, jitter: 0 }, historicalPacing: { settleAfterReconnectMs: 200, settleMaxMs: 400 } },
});

/** Every event of the cursor, in arrival order, until the signal aborts. */
function collect<T>(cursor: AsyncIterable<FeedEvent<T>[]>): { events: FeedEvent<T>[]; done: Promise<void> } {
  const events: FeedEvent<T>[] = [];
  const done = (async () => {
    for await (const batch of cursor) events.push(...batch);
  })();
  return { events, done };
}

const dataIndexes = <T>(events: FeedEvent<T>[], from = 0): number[] => events.flatMap((e, i) => (i >= from && e.type === "data" ? [i] : []));
const valueAt = <T>(events: FeedEvent<T>[], i: number): T => (events[i] as { value: T }).value;
const statusIndex = <T>(events: FeedEvent<T>[], test: (kind: string, message: string) => boolean, from = 0): number =>
  events.findIndex((e, i) => i >= from && e.type === "status" && test(e.status.kind, e.status.message));
const seqs = <T>(events: FeedEvent<T>[]): number[] => events.flatMap((e) => (e.type === "data" ? [e.seq] : []));
const gapMessages = <T>(events: FeedEvent<T>[]): string[] => events.flatMap((e) => (e.type === "status" && e.status.kind === "gap" ? [e.status.message] : []));
/** The data events after `from` not marked backfilled (live, or healed). */
const liveAfter = <T extends { backfilled?: boolean }>(events: FeedEvent<T>[], from: number): number[] => dataIndexes(events, from).filter((i) => valueAt(events, i).backfilled !== true);

/**
 * After an outage (a fault injected at event `faultAt`): one GAP (the source's, saying what was filled), then
 * the backfilled events, then live ones; no data between the loss (`lossKind`, when the outage has one) and
 * the GAP. Returns the GAP's index and the backfilled events' indexes.
 */
function expectGapThenBackfill<T extends { backfilled?: boolean }>(events: FeedEvent<T>[], faultAt: number, lossKind?: string): { gap: number; backfilled: number[] } {
  const gap = statusIndex(events, (kind) => kind === "gap", faultAt);
  expect(gapMessages(events)).toHaveLength(1);
  expect(dataIndexes(events, faultAt).filter((i) => i < gap && valueAt(events, i).backfilled === true)).toEqual([]);
  if (lossKind !== undefined) {
    const loss = statusIndex(events, (kind) => kind === lossKind, faultAt);
    expect(loss).toBeGreaterThanOrEqual(0);
    expect(dataIndexes(events, loss).filter((i) => i < gap)).toEqual([]);
  }
  const after = dataIndexes(events, gap);
  const backfilled = after.filter((i) => valueAt(events, i).backfilled === true);
  // Right after the GAP, before any live event.
  expect(backfilled).toEqual(after.slice(0, backfilled.length));
  return { gap, backfilled };
}

describe("backfill after a Gateway outage", () => {
  it("a candle stream across a Gateway restart gets the missed minutes as backfilled complete candles equal to IB's history, before the next live candle", async () => {
    const controller = new AbortController();
    const cursor = await fx.adapter.streamCandles("spot", "BTCUSDT", MIN1, { signal: controller.signal, heartbeatMs: 500 });
    const { events, done } = collect(cursor);
    try {
      const candles = () => dataIndexes(events).map((i) => valueAt(events, i));
      await until(() => candles().some((c) => c.complete), { what: "a complete candle delivered live", timeoutMs: 10_000 });
      const completeBefore = candles().filter((c) => c.complete).map((c) => c.startMs);
      const sentBefore = fx.adapter.historicalPacing().requests;

      const restartAt = events.length;
      await fx.sim.faults.restart(2_500);
      const gapAt = () => statusIndex(events, (kind) => kind === "gap", restartAt);
      await until(() => gapAt() >= 0 && liveAfter(events, gapAt()).length > 0, { what: "the GAP saying what was backfilled, the backfilled candles, then live candles", timeoutMs: 15_000 });
      const sentAfter = fx.adapter.historicalPacing().requests;

      // One GAP, then the backfilled candles, then live data.
      const { gap, backfilled } = expectGapThenBackfill(events, restartAt, "reconnecting");
      expect(backfilled.length).toBeGreaterThanOrEqual(2);
      const filled = backfilled.map((i) => valueAt(events, i));
      expect(filled.every((c) => c.complete)).toBe(true);
      // In time order, none delivered complete before the loss, and together with those no minute missing
      // (the first, seeded candle may still have been waiting for its final bar: then it comes here too).
      const starts = filled.map((c) => c.startMs);
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
      expect(starts.filter((s) => completeBefore.includes(s))).toEqual([]);
      const all = [...completeBefore, ...starts].sort((a, b) => a - b);
      expect(all).toEqual(all.map((_, k) => all[0]! + k * 60_000));
      expect(starts.at(-1)!).toBeGreaterThan(Math.max(...completeBefore));
      // Equal to IB's (the simulator's) history of those minutes (asked for a wider window: the same
      // request again would wait out IB's 15 s rule for identical requests).
      const history = await fx.adapter.candles("spot", "BTCUSDT", { interval: MIN1, fromMs: starts[0]! - 60_000, toMs: starts.at(-1)! + 120_000, regularHoursOnly: false });
      expect(filled.map(textCandleOf)).toEqual(history.candles.filter((c) => starts.includes(c.startMs)));
      // The GAP says what was filled; every data event keeps the feed's numbering.
      const text = (events[gap] as { status: { message: string } }).status.message;
      expect(text).toMatch(new RegExp(`^gap ${AT}–${AT} UTC: ${filled.length} min1 candles backfilled from IB history \\(`));
      const numbers = seqs(events);
      expect(numbers).toEqual(numbers.map((_, k) => numbers[0]! + k));
      // No complete candle twice.
      const completes = candles().filter((c) => c.complete).map((c) => c.startMs);
      expect(new Set(completes).size).toBe(completes.length);
      // What the outage cost at IB: one request of minutes for the window and one for the seed of the
      // candle in progress, and the real-time bars again.
      console.log(`candle outage: ${filled.length} candles backfilled; IB requests after the reconnect: bars ${sentAfter.bars.ok - sentBefore.bars.ok}, real-time bars ${sentAfter.realtime_bars.ok - sentBefore.realtime_bars.ok}; ${text}`);
      expect(sentAfter.bars.ok - sentBefore.bars.ok).toBeLessThanOrEqual(2);
    } finally {
      controller.abort();
      await done;
    }
  }, 30_000);

  it("a trades stream across a Gateway restart gets the missed prints from IB's historical ticks, none twice, before live prints resume", async () => {
    const controller = new AbortController();
    const cursor = await fx.adapter.streamTrades("spot", "ETHUSDT", { signal: controller.signal, heartbeatMs: 500 });
    const { events, done } = collect(cursor);
    try {
      await until(() => dataIndexes(events).length >= 30, { what: "30 live prints", timeoutMs: 10_000 });
      const sentBefore = fx.adapter.historicalPacing().requests;

      const restartAt = events.length;
      await fx.sim.faults.restart(1_500);
      const gapAt = () => statusIndex(events, (kind) => kind === "gap", restartAt);
      await until(() => gapAt() >= 0 && liveAfter(events, gapAt()).length >= 30, { what: "the GAP saying what was backfilled, the backfilled prints, then 30 live prints", timeoutMs: 15_000 });
      const sentAfter = fx.adapter.historicalPacing().requests;

      const { gap, backfilled } = expectGapThenBackfill(events, restartAt, "reconnecting");
      expect(backfilled.length).toBeGreaterThan(0);
      expect(backfilled.every((i) => valueAt(events, i).quote === undefined)).toBe(true);
      const text = (events[gap] as { status: { message: string } }).status.message;
      expect(text).toMatch(new RegExp(`^gap ${AT}–${AT} UTC: ${backfilled.length} trades backfilled from IB historical ticks for ${AT}–${AT} UTC \\(1 historical-tick request\\)$`));
      const numbers = seqs(events);
      expect(numbers).toEqual(numbers.map((_, k) => numbers[0]! + k));

      // The whole series delivered (live, backfilled, live) is IB's: the simulator's historical ticks of
      // the same seconds, print for print (the first and last seconds may be partial in either).
      const prints = dataIndexes(events).map((i) => valueAt<TradeEvent>(events, i).trade);
      const key = (t: { timeMs: number; price: { toString(): string }; size: { toString(): string } }) => `${t.timeMs / 1000}|${t.price.toString()}|${t.size.toString()}`;
      const firstSec = prints[0]!.timeMs / 1000;
      const lastSec = prints.at(-1)!.timeMs / 1000;
      const history = await fx.adapter.recentTrades("spot", "ETHUSDT", { fromMs: (firstSec + 1) * 1000, toMs: lastSec * 1000, limit: 1000 });
      expect(history.length).toBeLessThan(1000);
      const inner = (t: { timeMs: number }) => t.timeMs > firstSec * 1000 && t.timeMs < lastSec * 1000;
      expect(prints.filter(inner).map(key)).toEqual(history.map(key));
      expect(prints.filter((t, k) => k > 0 && t.timeMs < prints[k - 1]!.timeMs)).toEqual([]);
      console.log(`trade outage: ${backfilled.length} prints backfilled; IB requests after the reconnect: ticks ${sentAfter.ticks.ok - sentBefore.ticks.ok}; ${text}`);
    } finally {
      controller.abort();
      await done;
    }
  }, 30_000);

  it("IB's 1101 (connectivity restored, data lost) backfills a trades stream the same way", async () => {
    const controller = new AbortController();
    const cursor = await fx.adapter.streamTrades("spot", "BTCUSDT", { signal: controller.signal, heartbeatMs: 500 });
    const { events, done } = collect(cursor);
    try {
      await until(() => dataIndexes(events).length >= 20, { what: "20 live prints", timeoutMs: 10_000 });
      const flapAt = events.length;
      await fx.sim.faults.connectivityFlap(1_000, true);
      // No reconnect: IB's 1101 reopens the feed, whose GAP says what was filled.
      const gapAt = () => statusIndex(events, (kind) => kind === "gap", flapAt);
      await until(() => gapAt() >= 0 && liveAfter(events, gapAt()).length >= 10, { what: "the GAP after 1101, the backfilled prints, then live prints", timeoutMs: 15_000 });
      const { gap, backfilled } = expectGapThenBackfill(events, flapAt);
      expect(backfilled.length).toBeGreaterThan(0);
      expect((events[gap] as { status: { message: string } }).status.message).toMatch(/^gap .* UTC: \d+ trades? backfilled from IB historical ticks/);
      expect(events.slice(flapAt).some((e) => e.type === "status" && e.status.kind === "reconnecting")).toBe(false);
      const prints = dataIndexes(events).map((i) => valueAt(events, i).trade);
      const key = (t: TradeEvent["trade"]) => `${t.timeMs}|${t.price.toString()}|${t.size.toString()}`;
      const firstSec = prints[0]!.timeMs;
      const lastSec = prints.at(-1)!.timeMs;
      const history = await fx.adapter.recentTrades("spot", "BTCUSDT", { fromMs: firstSec + 1000, toMs: lastSec, limit: 1000 });
      expect(prints.filter((t) => t.timeMs > firstSec && t.timeMs < lastSec).map(key)).toEqual(history.map(key));
    } finally {
      controller.abort();
      await done;
    }
  }, 30_000);
});
