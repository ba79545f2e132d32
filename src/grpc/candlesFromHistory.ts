import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { StreamCandlesResponse } from "../../gen/ibprovider/v1/market_data_service.js";
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
      try {
        // The subscription status (with the feed's epoch) first; the forming candle after the history.
        const first = await iterator.next();
        if (first.done === true) return;
        const subscribed = first.value.filter((e) => e.type === "status" && e.status.kind === "subscribed");
        const held = first.value.filter((e) => !subscribed.includes(e));
        if (subscribed.length > 0) yield subscribed;
        const epoch = subscribed.map((e) => (e.type === "status" ? e.status.epoch : undefined)).find((x) => x !== undefined);
        let lastStart = Number.NEGATIVE_INFINITY;
        let sent = 0;
        for await (const page of await options.history(options.atMs, options.now())) {
          const complete = page.filter((c) => c.complete);
          if (complete.length === 0) continue;
          lastStart = complete[complete.length - 1]!.startMs;
          sent += complete.length;
          yield complete.map((c) => historyCandle(c, options.symbol));
        }
        replaying = false;
        const message = `replayed ${sent} complete candles from history since ${new Date(options.atMs).toISOString()}; live from here`;
        yield [{ type: "status", status: { kind: "replay-complete", atMs: options.now(), message, ...(epoch === undefined ? {} : { epoch }) } }];
        const fresh = (batch: FeedEvent<Candle>[]) => batch.filter((e) => e.type !== "data" || !e.value.complete || e.value.startMs > lastStart);
        const rest = fresh(held);
        if (rest.length > 0) yield rest;
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) return;
          const batch = fresh(next.value);
          if (batch.length > 0) yield batch;
        }
      } finally {
        await iterator.return?.();
      }
    },
  };
}

/** A history candle as a stream event's bytes (one framed `events` entry), for the client's symbol. */
function historyCandle(c: TextCandle, symbol: string): FeedEvent<Candle> {
  const bytes = StreamCandlesResponse.encode({ events: [{ event: { $case: "candle", value: textCandleToProto(c, symbol) }, sequence: "0", backfilled: false }] }, new BinaryWriter()).finish();
  return { type: "recorded", seq: 0, data: true, bytes, symbol };
}
