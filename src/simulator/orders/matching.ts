/**
 * The matching rules, pure: how much of an order the book at an instant fills, and whether a stop's trigger
 * price has been touched. The model's book is a function of time (market/depth.ts): an order takes what
 * the levels show at that instant, level by level (each level one execution), and what it could not take
 * waits for the book of a later instant.
 */
import { Decimal } from "decimal.js";
import type { DepthLevel, DepthSnapshot, Quote, Trade } from "../market/types.js";
import type { OrderAction, SimOrder } from "./orderTypes.js";

export interface Fill {
  price: Decimal;
  size: Decimal;
  /** 1 added liquidity (a limit that rested first), 2 removed it. */
  liquidity: 1 | 2;
}

/** The side an order takes: a buy lifts the asks, a sell hits the bids. */
export function oppositeSide(book: DepthSnapshot, action: OrderAction): readonly DepthLevel[] {
  return action === "BUY" ? book.asks : book.bids;
}

/** A price the order accepts: any for a market order, at or better than its limit otherwise. */
function acceptable(action: OrderAction, price: Decimal, limit: Decimal | undefined): boolean {
  if (!limit) return true;
  return action === "BUY" ? price.lte(limit) : price.gte(limit);
}

/**
 * Fills from the levels (best first), at each level's price, until `remaining` is done or the next level is
 * beyond the limit. Sizes are capped at the level's size.
 */
export function takeBook(levels: readonly DepthLevel[], action: OrderAction, remaining: Decimal, limit: Decimal | undefined, liquidity: 1 | 2): Fill[] {
  const fills: Fill[] = [];
  let left = remaining;
  for (const level of levels) {
    if (left.lte(0)) break;
    const price = new Decimal(level.price);
    if (!acceptable(action, price, limit)) break;
    const size = Decimal.min(left, new Decimal(level.size));
    if (size.lte(0)) continue;
    fills.push({ price, size, liquidity });
    left = left.sub(size);
  }
  return fills;
}

/**
 * A stop is triggered when the market touches its price: for a buy stop a trade at or above it or an ask
 * at or above it; for a sell stop a trade at or below it or a bid at or below it (IB's default trigger for
 * most products is last-or-quote based; one rule keeps the simulator predictable).
 */
export function stopTouched(action: OrderAction, stop: Decimal, quote: Quote, trades: readonly Trade[]): boolean {
  if (action === "BUY") {
    if (new Decimal(quote.ask).gte(stop)) return true;
    return trades.some((t) => new Decimal(t.price).gte(stop));
  }
  if (new Decimal(quote.bid).lte(stop)) return true;
  return trades.some((t) => new Decimal(t.price).lte(stop));
}

/** The limit an order works with now: its limit price for LMT and a triggered STP LMT, none for MKT and a triggered STP. */
export function workingLimit(o: SimOrder): Decimal | undefined {
  return o.orderType === "LMT" || o.orderType === "STP LMT" ? o.lmtPrice : undefined;
}

/** Is the price a whole multiple of the tick? (110 otherwise.) */
export function onTick(price: Decimal, minTick: string): boolean {
  const tick = new Decimal(minTick);
  if (tick.lte(0)) return true;
  return price.div(tick).isInteger();
}
