import { EventName } from "@stoqey/ib";
import { decimalFromIb } from "../../domain/decimal.js";
import { OrderBook, type PriceSize } from "../../domain/orderBook.js";
import type { BookLevel } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { routeMessages, type FeedContext } from "./feedContext.js";
import type { FeedSource } from "../../stream/feedSource.js";

/** An order book event: a snapshot to replace the local book with, or price-level deltas to apply. */
/** Resubscriptions to rebuild a book that went out of sync happen at most this often. */
const RESYNC_INTERVAL_MS = 10_000;

export interface BookUpdate {
  /** Per feed, +1 per update and never reset: a jump means a missed update. */
  sequence: number;
  timeMs: number;
  snapshot: boolean;
  bids: (PriceSize | BookLevel)[];
  asks: (PriceSize | BookLevel)[];
  consistent: boolean;
}

/**
 * L2 depth for one instrument and row count, maintained as an OrderBook from IB's position-based
 * insert/update/delete operations. The first consumer gets an (empty) snapshot and then deltas; a joining
 * consumer gets the current book as a snapshot; IB's 317 reset empties the book and says so; an
 * operation the book cannot apply (a missed message) triggers a resubscription rather than a wrong book.
 */
export function depthSource(ctx: FeedContext, instrument: ResolvedInstrument, rows: number): FeedSource<BookUpdate> {
  const book = new OrderBook({ maxRows: rows });
  let sequence = 0;
  /** A snapshot replacing the book is a change (+1); a joiner's copy of the current book is not. */
  const snapshotEvent = (consistent: boolean, isChange = true): BookUpdate => {
    const snap = book.snapshot();
    return { sequence: isChange ? ++sequence : sequence, timeMs: ctx.now(), snapshot: true, bids: snap.bids, asks: snap.asks, consistent };
  };
  // SMART depth aggregates several exchanges (msg 13 with market makers); single-exchange depth is msg 12.
  const isSmartDepth = instrument.exchange === "SMART";
  return {
    // A consumer far behind gets the current book instead of the deltas it could not read in time.
    overflow: "snapshot",
    joinEvents: (): BookUpdate[] => [snapshotEvent(book.consistent, false)],
    open(sink) {
      ctx.budget.take("depth");
      let reqId = 0;
      let lastResync = Number.NEGATIVE_INFINITY;
      let outOfSync = false;
      let deferred: NodeJS.Timeout | undefined;
      const subscribe = () => {
        reqId = ctx.router.allocateId();
        const apply = (position: number, marketMaker: string, operation: number, side: number, price: number, size: number) => {
          const delta = book.apply({ position, operation, side, price: decimalFromIb(price), size: decimalFromIb(size), marketMaker });
          if (delta.error !== undefined) {
            // A message was missed (or IB sent an impossible op): rebuild from a fresh subscription, at most
            // once per RESYNC_INTERVAL_MS so a Gateway that keeps sending such ops cannot cause a request storm.
            if (ctx.now() - lastResync < RESYNC_INTERVAL_MS) {
              if (!outOfSync) {
                sink.status("gap", `order book out of sync (${delta.error}); resubscribing in ${Math.ceil((lastResync + RESYNC_INTERVAL_MS - ctx.now()) / 1000)} s`);
                outOfSync = true;
                deferred = setTimeout(() => {
                  deferred = undefined;
                  lastResync = ctx.now();
                  outOfSync = false;
                  resubscribe();
                }, lastResync + RESYNC_INTERVAL_MS - ctx.now());
                deferred.unref();
              }
              return;
            }
            lastResync = ctx.now();
            outOfSync = false;
            sink.status("gap", `order book out of sync (${delta.error}); resubscribing`);
            resubscribe();
            return;
          }
          if (delta.bids.length === 0 && delta.asks.length === 0) return;
          sink.data({ sequence: ++sequence, timeMs: ctx.now(), snapshot: false, bids: delta.bids, asks: delta.asks, consistent: delta.consistent });
        };
        ctx.router.on(EventName.updateMktDepth, reqId, (position: number, operation: number, side: number, price: number, size: number) =>
          apply(position, "", operation, side, price, size),
        );
        ctx.router.on(EventName.updateMktDepthL2, reqId, (position: number, marketMaker: string, operation: number, side: number, price: number, size: number) =>
          apply(position, marketMaker, operation, side, price, size),
        );
        routeMessages(ctx, reqId, sink, `order book for ${instrument.symbol}`, () => {
          book.clear();
          sink.data(snapshotEvent(false));
        });
        ctx.api.reqMktDepth(reqId, instrument.requestContract, rows, isSmartDepth, []);
      };
      const cancel = () => {
        if (ctx.isConnected()) ctx.api.cancelMktDepth(reqId, isSmartDepth);
        ctx.router.release(reqId);
      };
      const resubscribe = () => {
        cancel();
        book.clear();
        sink.data(snapshotEvent(false));
        subscribe();
      };
      book.clear();
      sink.data(snapshotEvent(false));
      subscribe();
      return {
        close() {
          clearTimeout(deferred);
          cancel();
          ctx.budget.give("depth");
        },
      };
    },
  };
}
