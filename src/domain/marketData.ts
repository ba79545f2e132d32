/**
 * Market data domain types: produced by the IB adapter, consumed by the gRPC layer.
 * Prices and sizes are Decimal (see decimal.ts), times are epoch milliseconds (UTC).
 */
import { toWire, type Decimal } from "./decimal.js";
import type { IntervalName } from "./intervals.js";

/** One trade print (IB tick-by-tick "Last"/"AllLast"). */
export interface TradePrint {
  timeMs: number;
  price: Decimal;
  size: Decimal;
  exchange: string;
  /** IB "special conditions" codes, as sent. */
  conditions: string[];
  pastLimit: boolean;
  unreported: boolean;
}

export type MarketDataType = "live" | "frozen" | "delayed" | "delayed-frozen";

/** Top of book plus last trade; absent fields are unknown (not zero). */
export interface Level1 {
  timeMs: number;
  bid?: Decimal;
  bidSize?: Decimal;
  ask?: Decimal;
  askSize?: Decimal;
  last?: Decimal;
  lastSize?: Decimal;
  volume?: Decimal;
  dataType: MarketDataType;
  /** Options: IB's latest computation of each kind, in the order bid, ask, last, model; absent for other classes. */
  optionComputations?: OptionComputation[];
}

/** Which price IB computed an option's implied volatility and greeks from (tickOptionComputation 10–13). */
export type OptionComputationKind = "bid" | "ask" | "last" | "model";

/** IB's option computation; a field IB has not computed (it sends -1/-2 or Double.MAX) is absent. */
export interface OptionComputation {
  kind: OptionComputationKind;
  /** IB's tickAttrib: implied volatility from returns (false) or from the option's price (true). */
  priceBased: boolean;
  impliedVolatility?: Decimal;
  delta?: Decimal;
  gamma?: Decimal;
  /** Per 1 % change of implied volatility, as IB reports it. */
  vega?: Decimal;
  /** Per calendar day, as IB reports it. */
  theta?: Decimal;
  optionPrice?: Decimal;
  underlyingPrice?: Decimal;
  pvDividend?: Decimal;
}

/** An IB bar (historical or 5-second real-time). startMs is the bar's opening instant. */
export interface Bar {
  startMs: number;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  volume: Decimal;
  vwap?: Decimal;
  count?: number;
}

export interface Candle {
  startMs: number;
  interval: IntervalName;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  volume: Decimal;
  /** Volume-weighted average price, rounded half-even to at most 8 decimals; absent when volume is 0 or unknown. */
  vwap?: Decimal;
  tradeCount: number;
  complete: boolean;
  /** Set when a feed gap overlapped this candle: it may be missing trades. */
  afterGap?: true;
  /**
   * Fetched from IB's history after a Gateway outage (the live bars of its window were missed), not built
   * from live data: delivered late, before the feed's live data resumes.
   */
  backfilled?: true;
}

export type BookSide = "bid" | "ask";

export interface BookLevel {
  price: Decimal;
  size: Decimal;
  /** SMART depth: the market maker / exchange of the row; "" when unknown or when a level aggregates several. */
  marketMaker: string;
}

export type TradeSide = "buy" | "sell";

/**
 * Aggressor side from the prevailing quote: at/above the ask → buy, at/below the bid → sell, otherwise undefined.
 * Deliberately no tick-rule fallback inside the spread. A locked or crossed quote where the price satisfies both
 * tests is ambiguous → undefined.
 */
export function inferTradeSide(
  trade: Pick<TradePrint, "price">,
  quote: Pick<Level1, "bid" | "ask"> | undefined,
): TradeSide | undefined {
  if (quote === undefined) return undefined;
  const buy = quote.ask !== undefined && trade.price.gte(quote.ask);
  const sell = quote.bid !== undefined && trade.price.lte(quote.bid);
  if (buy === sell) return undefined;
  return buy ? "buy" : "sell";
}

/**
 * A candle whose prices and sizes are their canonical wire text (toWire: plain notation, no trailing zeros;
 * "" for an unknown vwap): bulk history as the store keeps it and the API sends it, without a Decimal per value.
 */
export interface TextCandle {
  startMs: number;
  interval: IntervalName;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  vwap: string;
  tradeCount: number;
  complete: boolean;
}

export function textCandleOf(c: Candle): TextCandle {
  return { startMs: c.startMs, interval: c.interval, open: toWire(c.open), high: toWire(c.high), low: toWire(c.low), close: toWire(c.close), volume: toWire(c.volume), vwap: toWire(c.vwap), tradeCount: c.tradeCount, complete: c.complete };
}

/** An IB bar of the interval's own size as a candle. */
export function candleFromBar(bar: Bar, interval: IntervalName, complete: boolean): Candle {
  const candle: Candle = { startMs: bar.startMs, interval, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume, tradeCount: bar.count ?? 0, complete };
  if (bar.vwap !== undefined) candle.vwap = bar.vwap;
  return candle;
}
