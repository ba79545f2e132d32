import { EventName } from "@stoqey/ib";
import { decimalFromIb, type Decimal } from "../../domain/decimal.js";
import type { AssetClass } from "../../domain/instrumentSymbol.js";
import type { Level1, MarketDataType } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { routeMessages, type FeedContext } from "./feedContext.js";
import type { FeedSource } from "../../stream/feedSource.js";
import { optionComputationOf, withComputation } from "./optionComputation.js";

// IB tick types (TWS API TickType): live and their delayed (+65) twins.
type PriceField = Exclude<keyof Level1, "timeMs" | "dataType" | "optionComputations">;

const FIELD_BY_TICK: Record<number, PriceField> = {
  0: "bidSize", 1: "bid", 2: "ask", 3: "askSize", 4: "last", 5: "lastSize", 8: "volume",
  69: "bidSize", 66: "bid", 67: "ask", 70: "askSize", 68: "last", 71: "lastSize", 74: "volume",
};

const DATA_TYPES: Record<number, MarketDataType> = { 1: "live", 2: "frozen", 3: "delayed", 4: "delayed-frozen" };

/** Told once per opening, for classes whose L1 differs from a stock's: what IB does not send for them. */
const CLASS_ADVISORY: Partial<Record<AssetClass, string>> = {
  index: "an index has no bid, ask or sizes: IB sends its value as last",
  fund: "a fund has one price a day (its NAV, sent as last and close)",
  bond: "bonds are quoted as a percent of par; IB sends no trade prints",
};

/**
 * L1 (reqMktData) for one instrument: keeps the top of book and last trade, emits the whole state after
 * each change, and reports IB's market data type (live/delayed/frozen) instead of hiding it. Options (and
 * anything IB computes greeks for) also carry IB's latest option computation of each kind; a combo is
 * quoted through its BAG contract like any other instrument.
 */
export function level1Source(ctx: FeedContext, instrument: ResolvedInstrument): FeedSource<Level1> {
  let state: Level1 | undefined;
  return {
    // Every event is the whole top of book: a consumer far behind the feed needs the newest one only.
    overflow: "latest",
    joinEvents: (): Level1[] => (state === undefined ? [] : [{ ...state }]),
    latest: () => state,
    open(sink) {
      ctx.budget.take("marketDataLines");
      const reqId = ctx.router.allocateId();
      let current: Level1 = { timeMs: ctx.now(), dataType: "live" };
      const emit = (next: Level1) => {
        current = next;
        state = current;
        sink.data(current);
      };
      const update = (field: PriceField, value: Decimal | undefined) => {
        if (value === undefined && current[field] === undefined) return;
        // Each event is an immutable state shared by every consumer: copy, then change one field.
        const next = copyLevel1(current, ctx.now());
        next[field] = value;
        emit(next);
      };
      ctx.router.on(EventName.tickPrice, reqId, (tickType: number, price: number) => {
        const field = FIELD_BY_TICK[tickType];
        // IB sends -1 for "no quote" (after hours, halts, no delayed data yet): the field is unknown, not -1.
        if (field !== undefined) update(field, price === -1 ? undefined : decimalFromIb(price));
      });
      // An index has no sizes: the 0 IB pairs with its value (a tickPrice carries a size) is not a size.
      const sized = instrument.assetClass !== "index";
      ctx.router.on(EventName.tickSize, reqId, (tickType: number, size: number) => {
        const field = FIELD_BY_TICK[tickType];
        if (field !== undefined && (sized || field === "volume")) update(field, decimalFromIb(size));
      });
      ctx.router.on(EventName.tickOptionComputation, reqId, (tickType: number, tickAttrib: number | undefined, iv?: number, delta?: number, optPrice?: number, pvDividend?: number, gamma?: number, vega?: number, theta?: number, undPrice?: number) => {
        const computation = optionComputationOf(tickType, tickAttrib, iv, delta, optPrice, pvDividend, gamma, vega, theta, undPrice);
        if (computation === undefined) return;
        const next = copyLevel1(current, ctx.now());
        next.optionComputations = withComputation(current.optionComputations, computation);
        emit(next);
      });
      ctx.router.on(EventName.marketDataType, reqId, (type: number) => {
        const dataType = DATA_TYPES[type] ?? "live";
        if (dataType === current.dataType && state !== undefined) return;
        current = { ...current, dataType };
        const kind = dataType === "live" ? "live" : dataType === "frozen" ? "frozen" : dataType === "delayed" ? "delayed" : "frozen";
        sink.status(kind, `IB market data type: ${dataType}`);
      });
      routeMessages(ctx, reqId, sink, `market data for ${instrument.symbol}`);
      ctx.api.reqMktData(reqId, instrument.requestContract, "", false, false);
      const advisory = CLASS_ADVISORY[instrument.assetClass];
      if (advisory !== undefined) sink.status("advisory", `${instrument.symbol}: ${advisory}`);
      return {
        close() {
          if (ctx.isConnected()) ctx.api.cancelMktData(reqId);
          ctx.router.release(reqId);
          ctx.budget.give("marketDataLines");
        },
      };
    },
  };
}

/** A fixed-shape copy (a literal, not a spread with a computed key: this runs for every tick). */
function copyLevel1(l: Level1, timeMs: number): Level1 {
  return { timeMs, bid: l.bid, bidSize: l.bidSize, ask: l.ask, askSize: l.askSize, last: l.last, lastSize: l.lastSize, volume: l.volume, dataType: l.dataType, optionComputations: l.optionComputations };
}
