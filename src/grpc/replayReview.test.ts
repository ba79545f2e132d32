import { describe, expect, it } from "vitest";
import { StreamAccountResponse } from "../../gen/ibprovider/v1/account_service.js";
import { StreamTicksResponse, type TickEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import { PositionSide } from "../../gen/ibprovider/v1/types.js";
import type { Candle, TextCandle } from "../domain/marketData.js";
import { dec } from "../domain/decimal.js";
import type { FeedEvent } from "../stream/feedEvents.js";
import type { FeedConsumer } from "../stream/feedCursor.js";
import { FeedRecorder, type FeedCodec } from "../stream/feedRecorder.js";
import { SharedFeed } from "../stream/sharedFeed.js";
import type { FeedSink, FeedSource } from "../stream/feedSource.js";
import { MemoryJournalStore } from "../stream/testing/memoryJournal.js";
import { candlesFromHistory } from "./candlesFromHistory.js";
import { encodeStream, type StreamRendering } from "./streamEncoding.js";
import { accountRendering } from "./streamRenderings.js";

// Review of issue 15's replay in the API layer (renderings of recorded bytes, StreamCandles from a time, the
// encoding loop). Each test was a bug found in review, fixed since.

describe("review: replayed account events", () => {
  // Found in review (fixed; high): a StreamAccount replay erases the symbol of every position and asset. The account feed is
  // recorded with symbol "" (accountFeeds.ts: descriptor symbol ""), and accountRendering(marketType) has an
  // `accepts` (the market filter), so every recorded row goes through streamEncoding.ts `rerender`, which sets
  // `symbol` on every event value that has one — meant for the instrument streams' aliases — here to "": the
  // position's symbol ("AAPL") and the asset's currency ("USD") become "". Fix: rerender must not rename
  // when the stream has no instrument symbol (numberedRendering option `renames: false` for the account, or
  // only rewrite when recordedFor !== symbol), and filter without touching the values.
  it("an account stream's replayed positions and assets keep their symbols", () => {
    const recorded = StreamAccountResponse.encode({
      events: [
        {
          sequence: "7",
          event: {
            $case: "position",
            value: {
              symbol: "AAPL",
              quantity: "10",
              entryPrice: "150",
              lastPrice: "151",
              side: PositionSide.POSITION_SIDE_LONG,
              marketValue: "1510",
              unrealizedPnl: "10",
              realizedPnl: "0",
              conId: "265598",
              secType: "STK",
              currency: "USD",
              accountId: "DU1",
            },
          },
        },
        { sequence: "8", event: { $case: "asset", value: { symbol: "USD", walletBalance: "1000", availableBalance: "900" } } },
      ],
    }).finish();
    const replayed = StreamAccountResponse.decode(accountRendering("spot").recorded(recorded, ""));
    const symbols = replayed.events.map((e) => (e.event as { value: { symbol: string } }).value.symbol);
    expect(symbols).toEqual(["AAPL", "USD"]); // got: ["", ""]
  });
});

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 3, 14, 0);

function liveCandle(startMs: number, complete: boolean): Candle {
  const p = dec(100);
  return { startMs, interval: "min1", open: p, high: p, low: p, close: p, volume: dec(1), tradeCount: 1, complete };
}

function historyCandle(startMs: number): TextCandle {
  return { startMs, interval: "min1", open: "100", high: "100", low: "100", close: "100", volume: "1", vwap: "100", tradeCount: 1, complete: true };
}

describe("review: StreamCandles from a time", () => {
  // Found in review (fixed; medium): a candle stream from a time can send the forming candle of a minute *after* the history
  // sent that minute complete. candlesFromHistory holds the live cursor's first batch (the forming candle of
  // minute M) while history is read; a history read that ends after M closed (IB's pacing, a long range)
  // returns M complete; then `fresh` (candlesFromHistory.ts) drops only live *complete* candles not after the
  // last history candle and lets the held incomplete M through — and every incomplete update of M queued
  // meanwhile: the client sees M complete, then M forming again. Fix: after history, drop every live candle
  // (complete or not) whose startMs <= lastStart.
  it("no candle of a minute history already sent complete comes after REPLAY_COMPLETE", async () => {
    const subscribed: FeedEvent<Candle> = { type: "status", status: { kind: "subscribed", atMs: T0, message: "opened", epoch: 1 } };
    const batches: FeedEvent<Candle>[][] = [
      [subscribed, { type: "data", value: liveCandle(T0, false), seq: 10 }], // M forming when the client joined
      [{ type: "data", value: liveCandle(T0, false), seq: 11 }], // another update of M while history was read
      [{ type: "data", value: liveCandle(T0, true), seq: 12 }], // M closes
      [{ type: "data", value: liveCandle(T0 + MIN, false), seq: 13 }], // M+1 forming
    ];
    const live: FeedConsumer<Candle> = {
      isShared: false,
      isClosed: false,
      async *[Symbol.asyncIterator]() {
        for (const b of batches) yield b;
      },
    };
    // History read after M closed: it has M complete.
    const history = async () =>
      (async function* () {
        yield [historyCandle(T0 - MIN), historyCandle(T0)];
      })();
    const out: FeedEvent<Candle>[] = [];
    for await (const batch of candlesFromHistory({ atMs: T0 - MIN, symbol: "SYM", history, live, now: () => T0 + MIN + 1_000 })) out.push(...batch);
    const complete = out.findIndex((e) => e.type === "status" && e.status.kind === "replay-complete");
    expect(complete).toBeGreaterThan(0);
    const liveStarts = out.slice(complete).flatMap((e) => (e.type === "data" ? [`${(e.value.startMs - T0) / MIN}${e.value.complete ? "c" : "f"}`] : []));
    expect(liveStarts).toEqual(["1f"]); // got: ["0f", "0f", "1f"] — minute 0 forming again after it was sent complete
  });
});

describe("review: StreamCandles from a time, while history is read", () => {
  // Found in review (fixed; low-medium): while candlesFromHistory waits for history (the store, else IB under its pacing: seconds
  // to minutes for a long range), the client hears nothing — the live cursor, the one producer of heartbeats,
  // is not read until the history is done. A client's or a proxy's idle timeout (REST behind a load balancer,
  // the TS client's stale detection) drops the stream, and the resume starts the history over. Fix: race the
  // history's pages against heartbeats (or read the live cursor's heartbeats meanwhile, holding its data).
  it("a client hears heartbeats while the history of a StreamCandles from a time is being fetched", async () => {
    const source: FeedSource<Candle> = { overflow: "fail", open: () => ({ close: () => undefined }) };
    const feed = new SharedFeed<Candle>("c", source, { now: Date.now, onIdle: () => undefined, isConnected: () => true });
    const stop = new AbortController();
    const live = feed.subscribe({ signal: stop.signal, heartbeatMs: 20, staleAfterMs: 0, maxQueued: 100 });
    const history = async () => {
      await new Promise((r) => setTimeout(r, 300)); // IB's pacing
      return (async function* () {
        yield [historyCandle(T0)];
      })();
    };
    const kinds: string[] = [];
    for await (const batch of candlesFromHistory({ atMs: T0, symbol: "SYM", history, live, now: Date.now })) {
      kinds.push(...batch.map((e) => (e.type === "status" ? e.status.kind : e.type)));
      if (kinds.includes("replay-complete")) break;
    }
    stop.abort();
    expect(kinds.slice(0, kinds.indexOf("recorded"))).toContain("heartbeat"); // got: ["subscribed"] — 300 ms of silence
  });
});

class PlayedSource implements FeedSource<number> {
  sink: FeedSink<number> | undefined;
  readonly overflow = "fail" as const;
  open(sink: FeedSink<number>) {
    this.sink = sink;
    return { close: () => (this.sink = undefined) };
  }
}

describe("review: a replay and the event loop", () => {
  // Found in review (fixed; medium): a replay none of whose recorded rows the client wants (StreamAccount for "futures" over a day
  // of spot position updates; StreamCandles complete_only over 5-s bar updates, mostly; rows the core skips:
  // snapshots on a resume, rows before a time) runs through the whole journal in one macrotask. ReplayCursor
  // pages with `yield` only (microtasks), encodeBatch returns no message for a filtered page, and the gRPC
  // handler only waits on a write that was refused or bytes in flight — no message, no wait. Page after page
  // is read (synchronous SQLite) and decoded (rerender) without the event loop turning: live streams stall
  // and a cancel is not even seen until the end. Fix: in ReplayCursor.replay, let the loop turn between pages
  // (await setImmediate every page, or when a page gave no event / every few ms).
  it("a replay whose rows are all filtered out lets the event loop turn between pages", async () => {
    const store = new MemoryJournalStore();
    const source = new PlayedSource();
    const codec: FeedCodec<number> = (events) => events.map(() => Buffer.from([0x0a, 0x00]));
    const recorder = new FeedRecorder<number>(store.openFeed("k", "trade", "SYM", 1_000), codec, { flushEveryMs: 1, batchEvents: 1_000, snapshotEveryMs: 60_000 });
    const feed = new SharedFeed<number>("k", source, { now: () => 1_000, onIdle: () => undefined, isConnected: () => true }, recorder);
    const keep = new AbortController();
    feed.subscribe({ signal: keep.signal, heartbeatMs: 60_000, staleAfterMs: 0, maxQueued: 1_000_000 });
    for (let v = 1; v <= 20_000; v++) source.sink!.data(v);
    await new Promise((r) => setTimeout(r, 50)); // every row committed
    // A rendering that wants none of the recorded rows (as the account market filter, complete_only).
    const rendering: StreamRendering<number, TickEvent> = {
      key: "review",
      encode: (events, writer) => StreamTicksResponse.encode({ events }, writer),
      data: () => [],
      control: (event) => ({ event: event.event, sequence: "0" }) as TickEvent,
      recorded: () => Buffer.alloc(0),
    };
    const stop = new AbortController();
    const replay = feed.subscribe({ signal: stop.signal, heartbeatMs: 60_000, staleAfterMs: 0, maxQueued: 50, start: { afterSeq: 0, epoch: feed.epoch } });
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    let turnsAtFirstMessage: number | undefined;
    let turnsAtSwitch: number | undefined;
    for await (const message of encodeStream(replay, rendering)) {
      if (turnsAtFirstMessage === undefined) {
        turnsAtFirstMessage = turns;
        setImmediate(tick);
        continue;
      }
      if (StreamTicksResponse.decode(message).events.some((e) => e.event?.$case === "status" && e.event.value.message.startsWith("replayed"))) {
        turnsAtSwitch = turns;
        break;
      }
    }
    ticking = false;
    stop.abort();
    keep.abort();
    expect(turnsAtSwitch! - turnsAtFirstMessage!).toBeGreaterThan(0); // got: 0 — 20 pages read in one macrotask
  });
});
