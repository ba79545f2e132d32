import { describe, expect, it } from "vitest";
import { BookMirror } from "../../domain/bookMirror.js";
import type { FeedEvent } from "../../stream/feedEvents.js";
import type { BookUpdate } from "../ibAdapter.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";

// The real adapter over @stoqey/ib against the simulated Gateway on loopback.
const fx = useAdapterOnSimulator({ simulator: { seed: 5, tickIntervalMs: 20 }, adapter: { clientId: 2 } });

async function take<T>(iterator: AsyncIterator<FeedEvent<T>[]>, until: (seen: FeedEvent<T>[]) => boolean, timeoutMs = 8_000): Promise<FeedEvent<T>[]> {
  const seen: FeedEvent<T>[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!until(seen)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seen.length} events`);
    const next = await iterator.next();
    if (next.done) throw new Error("stream ended");
    seen.push(...next.value);
  }
  return seen;
}

const dataOf = <T>(events: FeedEvent<T>[]): T[] => events.flatMap((e) => (e.type === "data" ? [e.value] : []));

describe("trades", () => {
  it("stream tick-by-tick prints as exact decimals, with increasing ids and the aggressor side where the quote tells it", async () => {
    const c = new AbortController();
    await fx.adapter.streamTicks("spot", "BTCUSDT", { signal: c.signal }); // a quote for side inference
    const it = (await fx.adapter.streamTrades("spot", "BTCUSDT", { signal: c.signal }))[Symbol.asyncIterator]();
    // The simulated market trades BTC about 1-3 times a second, varying with its (seeded) activity.
    const trades = dataOf(await take(it, (seen) => dataOf(seen).length >= 6, 15_000));
    c.abort();
    for (const t of trades) {
      expect(t.trade.price.mod(0.25).isZero()).toBe(true);
      expect(t.trade.size.gt(0)).toBe(true);
      expect(t.trade.timeMs).toBeGreaterThan(Date.now() - 120_000);
    }
    expect(trades.map((t) => t.sequence)).toEqual(trades.map((_, i) => trades[0]!.sequence + i));
    expect(trades.some((t) => t.quote !== undefined)).toBe(true);
  });
});

describe("order book", () => {
  it("a snapshot then contiguous deltas rebuild exactly the book a joining consumer gets as its snapshot", async () => {
    const c = new AbortController();
    try {
      const first = (await fx.adapter.streamOrderBook("spot", "BTCUSDT", 5, { signal: c.signal }))[Symbol.asyncIterator]();
      const updates = dataOf(await take(first, (seen) => dataOf(seen).filter((u) => !u.snapshot).length >= 30));
      expect(updates[0]!.snapshot).toBe(true);

      const joiner = (await fx.adapter.streamOrderBook("spot", "BTCUSDT", 5, { signal: c.signal }))[Symbol.asyncIterator]();
      const joined = dataOf(await take(joiner, (seen) => dataOf(seen).length >= 1))[0]!;
      expect(joined).toMatchObject({ snapshot: true, consistent: true });
      expect(fx.adapter.subscriptions().filter((s) => s.kind === "orderBook")).toHaveLength(1);

      // The first consumer, replaying its own stream up to the joiner's sequence, has the same book.
      while (updates.at(-1)!.sequence < joined.sequence) updates.push(...dataOf(await take(first, (seen) => dataOf(seen).length >= 1)));
      const mirror = new BookMirror();
      for (const u of updates) if (u.sequence <= joined.sequence) mirror.apply(u);
      expect(mirror.inSync).toBe(true);
      const wire = (levels: { price: { toString(): string }; size: { toString(): string } }[]) => levels.map((l) => `${l.price.toString()}x${l.size.toString()}`);
      const { bids, asks } = mirror.levels();
      expect(wire(bids)).toEqual(wire(joined.bids));
      expect(wire(asks)).toEqual(wire(joined.asks));
      expect(bids.length).toBeGreaterThan(0);
      expect(bids.length).toBeLessThanOrEqual(5);
      if (asks.length > 0) expect(bids[0]!.price.lt(asks[0]!.price)).toBe(true);
      for (let i = 1; i < bids.length; i++) expect(bids[i]!.price.lt(bids[i - 1]!.price)).toBe(true);
      for (let i = 1; i < asks.length; i++) expect(asks[i]!.price.gt(asks[i - 1]!.price)).toBe(true);
    } finally {
      c.abort();
    }
  });

  it("empties the book on IB's depth reset (317), says so, and rebuilds it", async () => {
    const c = new AbortController();
    const it = (await fx.adapter.streamOrderBook("spot", "ETHUSDT", 5, { signal: c.signal }))[Symbol.asyncIterator]();
    await take(it, (seen) => dataOf(seen).filter((u) => !u.snapshot).length >= 10);
    fx.sim.faults.depthReset();
    const after = await take(it, (seen) => seen.some((e) => e.type === "status" && e.status.kind === "book-reset") && dataOf(seen).filter((u) => !u.snapshot).length >= 10);
    const resetAt = after.findIndex((e) => e.type === "data" && e.value.snapshot);
    expect(resetAt).toBeGreaterThanOrEqual(0);
    expect((after[resetAt] as { value: BookUpdate }).value).toMatchObject({ snapshot: true, consistent: false, bids: [], asks: [] });
    const mirror = new BookMirror();
    for (const u of dataOf(after.slice(resetAt))) mirror.apply(u);
    expect(mirror.levels().bids.length).toBe(5);
    c.abort();
  });

  it("GetOrderBook-style snapshots come from a short-lived subscription when none is running", async () => {
    const started = Date.now();
    const snap = await fx.adapter.orderBookSnapshot("spot", "AAPL", 10);
    expect(Date.now() - started).toBeLessThan(2_000); // not the 3 s deadline: the book filled
    expect(snap.book.levels().bids.length).toBe(10);
    expect(snap.book.levels().asks.length).toBe(10);
    expect(snap.consistent).toBe(true);
    expect(fx.adapter.subscriptions().filter((s) => s.kind === "orderBook")).toHaveLength(0);
  });
});

describe("limits", () => {
  it("refuses a 4th depth subscription before IB would (309), naming the limit", async () => {
    const c = new AbortController();
    await fx.adapter.streamOrderBook("spot", "BTCUSDT", 5, { signal: c.signal });
    await fx.adapter.streamOrderBook("spot", "ETHUSDT", 5, { signal: c.signal });
    await fx.adapter.streamOrderBook("spot", "AAPL", 5, { signal: c.signal });
    await expect(fx.adapter.streamOrderBook("spot", "MSFT", 5, { signal: c.signal })).rejects.toMatchObject({ kind: "limit", message: expect.stringContaining("depth") });
    // The same book again joins the existing subscription.
    await expect(fx.adapter.streamOrderBook("spot", "AAPL", 5, { signal: c.signal })).resolves.toBeDefined();
    c.abort();
  });

  it("refuses tick-by-tick beyond the limit", async () => {
    const c = new AbortController();
    for (const s of ["BTCUSDT", "ETHUSDT", "AAPL"]) await fx.adapter.streamTrades("spot", s, { signal: c.signal });
    await expect(fx.adapter.streamTrades("spot", "MSFT", { signal: c.signal })).rejects.toMatchObject({ kind: "limit" });
    c.abort();
  });
});
