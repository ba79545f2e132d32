import { EventName } from "@stoqey/ib";
import { decimalFromIb } from "../../domain/decimal.js";
import type { Level1, TradePrint } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { routeMessages, type FeedContext } from "./feedContext.js";
import type { FeedSource } from "../../stream/sharedFeed.js";

/** A trade print with the quote that prevailed when it arrived (for aggressor-side inference). */
export interface TradeEvent {
  trade: TradePrint;
  /** Increasing per instrument while the service runs. */
  sequence: number;
  quote: Pick<Level1, "bid" | "ask"> | undefined;
}

/**
 * Tick-by-tick "AllLast" prints for one instrument (one IB tick-by-tick slot however many consumers).
 * IB reports trade time in whole seconds; prints within a second keep their arrival order.
 */
export function tradesSource(ctx: FeedContext, instrument: ResolvedInstrument, quote: () => Level1 | undefined): FeedSource<TradeEvent> {
  let sequence = 0;
  return {
    // Every print matters (volume, VWAP, signals): a client that cannot keep up is disconnected with
    // RESOURCE_EXHAUSTED rather than silently missing prints.
    overflow: "fail",
    open(sink) {
      ctx.budget.take("tickByTick");
      const reqId = ctx.router.allocateId();
      ctx.router.on(
        EventName.tickByTickAllLast,
        reqId,
        (_tickType: number, time: string | number, price: number, size: number, attribs: { pastLimit?: boolean; unreported?: boolean } | undefined, exchange: string, conditions: string) => {
          const p = decimalFromIb(price);
          const s = decimalFromIb(size);
          if (p === undefined || s === undefined) return;
          const q = quote();
          sink.data({
            trade: {
              timeMs: Number(time) * 1000,
              price: p,
              size: s,
              exchange: exchange ?? "",
              conditions: conditions ? conditions.split(/[;,]/).filter((c) => c !== "") : [],
              pastLimit: attribs?.pastLimit ?? false,
              unreported: attribs?.unreported ?? false,
            },
            sequence: ++sequence,
            quote: q === undefined ? undefined : { bid: q.bid, ask: q.ask },
          });
        },
      );
      routeMessages(ctx, reqId, sink, `trades for ${instrument.symbol}`);
      ctx.api.reqTickByTickData(reqId, instrument.requestContract, "AllLast" as never, 0, false);
      return {
        close() {
          if (ctx.isConnected()) ctx.api.cancelTickByTickData(reqId);
          ctx.router.release(reqId);
          ctx.budget.give("tickByTick");
        },
      };
    },
  };
}
