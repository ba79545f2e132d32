import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { StreamCandlesResponse } from "../../gen/ibprovider/v1/market_data_service.js";
import type { Candle as ProtoCandle } from "../../gen/ibprovider/v1/types.js";
import type { Candle, TextCandle } from "../domain/marketData.js";
import type { FeedEvent } from "../stream/feedEvents.js";
import type { FeedConsumer } from "../stream/feedCursor.js";
import { textCandleToProto } from "./mapping/marketData.js";

export interface CandlesFromHistoryOptions {
  atMs: number;
  /** The symbol as the client asked (history candles are rendered with it). */
  symbol: string;
  /** History pages of [fromMs, toMs) from the store or IB (GetCandles' path). */
  history: (fromMs: number, toMs: number) => Promise<AsyncIterable<TextCandle[]>>;
  /** The client's live consumer of the candle feed, opened before the history is read so nothing is missed. */
  live: FeedConsumer<Candle>;
  now: () => number;
}

/**
 * StreamCandles from a time: the complete candles of history from `atMs` (the store first, IB for what it
 * lacks, as GetCandles), a REPLAY_COMPLETE, then the live feed — whose first events (the subscription and
 * the forming candle) were taken before the history was read. A candle that completed live while history
 * was read comes once: live complete candles not after the last history candle are skipped. History candles
 * carry sequence 0 (they are not events of the feed).
 */
export function candlesFromHistory(options: CandlesFromHistoryOptions): FeedConsumer<Candle> {
  let replaying = true;
  const { live } = options;
  return {
    get isShared() {
      return !replaying && live.isShared;
    },
    get isClosed() {
      return live.isClosed;
    },
    async *[Symbol.asyncIterator]() {
      const iterator = live[Symbol.asyncIterator]();
      /** Live events read while history loads: heartbeats go out at once (the client hears the stream is alive), the rest waits. */
      const held: FeedEvent<Candle>[] = [];
      let liveNext: Promise<IteratorResult<FeedEvent<Candle>[]>> | undefined = iterator.next();
      /** Waits for `work` while reading the live cursor: its heartbeats pass, its other events are held. */
      async function* during<X>(work: Promise<X>): AsyncGenerator<FeedEvent<Candle>[], X> {
        for (;;) {
          const next = liveNext;
          const r = next === undefined ? { work: await work } : await Promise.race([work.then((w) => ({ work: w })), next.then((l) => ({ live: l }))]);
          if ("work" in r) return r.work;
          if (r.live.done === true) {
            liveNext = undefined;
            continue;
          }
          liveNext = iterator.next();
          held.push(...r.live.value.filter((e) => e.type !== "heartbeat"));
          const beats = r.live.value.filter((e) => e.type === "heartbeat");
          if (beats.length > 0) yield beats;
        }
      }
      try {
        // The subscription status (with the feed's epoch) first; the forming candle after the history.
        yield* during(Promise.resolve());
        while (liveNext !== undefined && !held.some(isSubscribed)) yield* during(liveNext.then(() => undefined));
        const subscribed = held.filter(isSubscribed);
        held.splice(0, held.length, ...held.filter((e) => !isSubscribed(e)));
        if (subscribed.length > 0) yield subscribed;
        const epoch = subscribed.map((e) => (e.type === "status" ? e.status.epoch : undefined)).find((x) => x !== undefined);
        let lastStart = Number.NEGATIVE_INFINITY;
        let sent = 0;
        const pages = (yield* during(options.history(options.atMs, options.now())))[Symbol.asyncIterator]();
        for (;;) {
          const page = yield* during(pages.next());
          if (page.done === true) break;
          const complete = page.value.filter((c) => c.complete);
          if (complete.length === 0) continue;
          lastStart = complete[complete.length - 1]!.startMs;
          sent += complete.length;
          yield [historyCandles(complete, options.symbol)];
        }
        replaying = false;
        const message = candleReplayMessage(sent, options.atMs);
        yield [{ type: "status", status: { kind: "replay-complete", atMs: options.now(), message, ...(epoch === undefined ? {} : { epoch }) } }];
        // History has the candles up to lastStart complete: a live update of one of them (forming or complete) is older news.
        const fresh = (batch: FeedEvent<Candle>[]) => batch.filter((e) => e.type !== "data" || e.value.startMs > lastStart);
        const rest = fresh(held);
        if (rest.length > 0) yield rest;
        while (liveNext !== undefined) {
          const next = await liveNext;
          if (next.done === true) return;
          liveNext = iterator.next();
          const batch = fresh(next.value);
          if (batch.length > 0) yield batch;
        }
      } finally {
        await iterator.return?.();
      }
    },
  };
}

const isSubscribed = (e: FeedEvent<Candle>) => e.type === "status" && e.status.kind === "subscribed";

function historyCandles(candles: readonly TextCandle[], symbol: string): FeedEvent<Candle> {
  return historyCandlesEvent(
    candles.map((c) => textCandleToProto(c, symbol)),
    symbol,
  );
}

/** History candles as one replayed event: their stream events' bytes (framed `events` entries, sequence 0) for the client's symbol. */
export function historyCandlesEvent(candles: readonly ProtoCandle[], symbol: string): FeedEvent<never> {
  const events = candles.map((c) => ({ event: { $case: "candle" as const, value: c }, sequence: "0", backfilled: false }));
  return { type: "recorded", seq: 0, data: true, bytes: StreamCandlesResponse.encode({ events }, new BinaryWriter()).finish(), symbol };
}

/** The message of the REPLAY_COMPLETE after a replay of candles from history. */
export function candleReplayMessage(sent: number, atMs: number): string {
  return `replayed ${sent} complete candles from history since ${new Date(atMs).toISOString()}; live from here`;
}
