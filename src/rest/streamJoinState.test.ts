import { describe, expect, it } from "vitest";
import { JOIN_TRADES, StreamJoinState } from "./streamJoinState.js";

const level = (price: string, volume: string) => ({ price, volume });

describe("the state a late joiner of a shared stream gets", () => {
  it("is nothing before the stream said anything, and skips heartbeats", () => {
    const state = new StreamJoinState();
    expect(state.snapshot()).toBeUndefined();
    state.add({ events: [{ sequence: "0", heartbeat: { time: "2026-12-03T00:00:00Z" } }] });
    expect(state.snapshot()).toBeUndefined();
  });

  it("is the book as one snapshot: the last snapshot with every later delta applied, levels sorted from the best", () => {
    const state = new StreamJoinState();
    state.add({ events: [{ sequence: "1", status: { kind: "STREAM_STATUS_KIND_SUBSCRIBED" } }] });
    state.add({ events: [{ sequence: "2", update: { symbol: "BTCUSDT", sequence: "2", isSnapshot: true, isConsistent: true, bids: [level("99", "1"), level("98", "2")], asks: [level("101", "1")] } }] });
    state.add({ events: [{ sequence: "3", update: { symbol: "BTCUSDT", sequence: "3", isSnapshot: false, isConsistent: true, bids: [level("99", "0"), level("100", "5")], asks: [level("102", "4")] } }] });
    expect(state.snapshot()).toEqual({
      events: [
        { sequence: "1", status: { kind: "STREAM_STATUS_KIND_SUBSCRIBED" } },
        { sequence: "3", update: { symbol: "BTCUSDT", sequence: "3", isSnapshot: true, isConsistent: true, bids: [level("100", "5"), level("98", "2")], asks: [level("101", "1"), level("102", "4")] } },
      ],
    });
    // A new snapshot replaces the book.
    state.add({ events: [{ sequence: "4", update: { symbol: "BTCUSDT", sequence: "4", isSnapshot: true, isConsistent: false, bids: [level("97", "1")], asks: [] } }] });
    expect((state.snapshot() as { events: { update?: unknown }[] }).events[1]!.update).toMatchObject({ isConsistent: false, bids: [level("97", "1")], asks: [] });
  });

  it(`is the last ${JOIN_TRADES} trades in order, the last status, and the two last candles (the one that completed and the forming one)`, () => {
    const state = new StreamJoinState();
    for (let i = 1; i <= JOIN_TRADES + 10; i++) state.add({ events: [{ sequence: String(i), trade: { price: String(i) } }] });
    state.add({ events: [{ sequence: "0", status: { kind: "STREAM_STATUS_KIND_LIVE" } }] });
    const trades = (state.snapshot() as { events: { trade?: { price: string }; status?: unknown }[] }).events;
    expect(trades[0]!.status).toEqual({ kind: "STREAM_STATUS_KIND_LIVE" });
    expect(trades.slice(1).map((e) => e.trade!.price)).toEqual(Array.from({ length: JOIN_TRADES }, (_, i) => String(i + 11)));

    const candles = new StreamJoinState();
    const candle = (time: string, close: string) => ({ events: [{ sequence: close, candle: { time, close } }] });
    candles.add(candle("2026-12-03T10:00:00Z", "1"));
    candles.add(candle("2026-12-03T10:01:00Z", "2"));
    candles.add(candle("2026-12-03T10:01:00Z", "3"));
    candles.add(candle("2026-12-03T10:02:00Z", "4"));
    candles.add(candle("2026-12-03T10:02:00Z", "5"));
    expect((candles.snapshot() as { events: { candle: unknown }[] }).events.map((e) => e.candle)).toEqual([
      { time: "2026-12-03T10:01:00Z", close: "3" },
      { time: "2026-12-03T10:02:00Z", close: "5" },
    ]);
  });

  it("is the last message itself for a stream whose messages are not event batches", () => {
    const state = new StreamJoinState();
    state.add({ status: "SERVING" });
    state.add({ status: "NOT_SERVING" });
    expect(state.snapshot()).toEqual({ status: "NOT_SERVING" });
  });

  const kinds = (state: StreamJoinState) =>
    ((state.snapshot() ?? { events: [] }) as { events: Record<string, { kind?: string; price?: string }>[] }).events.map((e) =>
      e.status !== undefined ? e.status.kind!.replace("STREAM_STATUS_KIND_", "") : e.trade !== undefined ? `trade ${e.trade.price}` : e.update !== undefined ? "book" : Object.keys(e).join(),
    );
  const status = (kind: string) => ({ events: [{ sequence: "0", status: { kind: `STREAM_STATUS_KIND_${kind}` } }] });
  const trade = (price: string) => ({ events: [{ sequence: price, trade: { price } }] });

  it("does not replay a status that data has since made moot (an old GAP, REPLAY_COMPLETE, STALE), and says a current trouble after the data it follows", () => {
    const state = new StreamJoinState();
    state.add(status("SUBSCRIBED"));
    state.add(status("DELAYED"));
    state.add(trade("1"));
    state.add(status("GAP"));
    state.add(trade("2"));
    state.add(status("REPLAY_COMPLETE"));
    state.add(trade("3"));
    // The subscription (its epoch) and the kind of data first, as the feed tells its own joiners; the GAP
    // and REPLAY_COMPLETE happened before data that followed them: not news to a joiner.
    expect(kinds(state)).toEqual(["SUBSCRIBED", "DELAYED", "trade 1", "trade 2", "trade 3"]);
    // A trouble still current is said after the data it came after (never before it: a GAP said first
    // would glue the data before it to the data after it in silence).
    state.add(status("RECONNECTING"));
    expect(kinds(state)).toEqual(["SUBSCRIBED", "DELAYED", "trade 1", "trade 2", "trade 3", "RECONNECTING"]);
    state.add(status("GAP"));
    expect(kinds(state)).toEqual(["SUBSCRIBED", "DELAYED", "trade 1", "trade 2", "trade 3", "GAP"]);
    state.add(trade("4"));
    expect(kinds(state)).toEqual(["SUBSCRIBED", "DELAYED", "trade 1", "trade 2", "trade 3", "trade 4"]);
  });

  it("forgets the book on BOOK_RESET (a joiner must not get the discarded book as a snapshot) until the next snapshot", () => {
    const state = new StreamJoinState();
    state.add(status("SUBSCRIBED"));
    state.add({ events: [{ sequence: "1", update: { symbol: "X", sequence: "1", isSnapshot: true, isConsistent: true, bids: [level("99", "1")], asks: [level("101", "1")] } }] });
    state.add(status("BOOK_RESET"));
    expect(kinds(state)).toEqual(["SUBSCRIBED", "BOOK_RESET"]);
    state.add({ events: [{ sequence: "2", update: { symbol: "X", sequence: "2", isSnapshot: false, isConsistent: true, bids: [level("98", "1")], asks: [] } }] });
    // A delta after the reset is no book by itself: the snapshot that follows the reset is awaited.
    expect(kinds(state)).toEqual(["SUBSCRIBED", "BOOK_RESET"]);
    state.add({ events: [{ sequence: "3", update: { symbol: "X", sequence: "3", isSnapshot: true, isConsistent: true, bids: [level("97", "2")], asks: [level("102", "2")] } }] });
    expect(kinds(state)).toEqual(["SUBSCRIBED", "book"]);
    expect((state.snapshot() as { events: { update?: { bids: unknown[] } }[] }).events[1]!.update!.bids).toEqual([level("97", "2")]);
  });

  it("keeps the two newest candles in time order when a candle's final (healed) form arrives after the next one started", () => {
    const state = new StreamJoinState();
    const candle = (time: string, close: string, isComplete = false) => ({ events: [{ sequence: close, candle: { time, close, isComplete } }] });
    state.add(candle("2026-12-03T10:01:00Z", "1"));
    state.add(candle("2026-12-03T10:02:00Z", "2"));
    // candleFeed.ts: the final bar of 10:01 comes from IB's history a few seconds into 10:02.
    state.add(candle("2026-12-03T10:01:00Z", "1.5", true));
    expect((state.snapshot() as { events: { candle: unknown }[] }).events.map((e) => e.candle)).toEqual([
      { time: "2026-12-03T10:01:00Z", close: "1.5", isComplete: true },
      { time: "2026-12-03T10:02:00Z", close: "2", isComplete: false },
    ]);
    state.add(candle("2026-12-03T10:02:00.500Z", "3"));
    state.add(candle("2026-12-03T10:00:00Z", "0", true));
    // An older candle than both kept is no part of what a joiner needs; a later one pushes out the oldest.
    expect((state.snapshot() as { events: { candle: { time: string } }[] }).events.map((e) => e.candle.time)).toEqual(["2026-12-03T10:02:00Z", "2026-12-03T10:02:00.500Z"]);
  });

  it("is every open position and every balance of an account stream (the last of each), not only the last event of each kind", () => {
    const state = new StreamJoinState();
    const position = (symbol: string, conId: string, quantity: string) => ({ sequence: "1", position: { symbol, conId, quantity, accountId: "DU***567" } });
    const asset = (symbol: string, walletBalance: string) => ({ sequence: "1", asset: { symbol, walletBalance } });
    state.add({ events: [{ sequence: "0", status: { kind: "STREAM_STATUS_KIND_SUBSCRIBED" } }, { sequence: "1", summary: { currency: "USD", netLiquidation: "100" } }, asset("USD", "10"), asset("EUR", "5")] });
    state.add({ events: [position("AAPL", "265598", "100"), position("MSFT", "272093", "50"), position("IBM", "8314", "7")] });
    state.add({ events: [position("AAPL", "265598", "120"), position("IBM", "8314", "0"), asset("USD", "11"), { sequence: "2", pnl: { dailyPnl: "3" } }, { sequence: "3", pnl: { dailyPnl: "4" } }] });
    const events = (state.snapshot() as { events: Record<string, Record<string, string>>[] }).events;
    expect(events.filter((e) => e.position !== undefined).map((e) => [e.position!.symbol, e.position!.quantity])).toEqual([
      ["AAPL", "120"],
      ["MSFT", "50"],
    ]);
    expect(events.filter((e) => e.asset !== undefined).map((e) => [e.asset!.symbol, e.asset!.walletBalance])).toEqual([
      ["USD", "11"],
      ["EUR", "5"],
    ]);
    expect(events.filter((e) => e.pnl !== undefined).map((e) => e.pnl!.dailyPnl)).toEqual(["4"]);
    expect(events.filter((e) => e.summary !== undefined)).toHaveLength(1);
  });
});
