/**
 * The simulated market's public interface, shared by the market model (src/simulator/market/) and the
 * TWS protocol server (src/simulator/). Everything here is a pure function of (seed, instrument, time):
 * the same seed gives the same trades, quotes, depth and bars across restarts, and a 1-minute bar built
 * from the trades of a minute equals the historical 1-minute bar of that minute.
 *
 * Prices and sizes are decimal strings (exact multiples of minTick / sizeIncrement), never floats.
 * Times: epoch milliseconds (number) unless the name says seconds.
 */

export type SecType = "STK" | "CRYPTO" | "FUT" | "CASH" | "OPT" | "FOP" | "IND" | "BOND" | "FUND";

/** Which hours an instrument trades. */
export type SessionKind =
  | "us-equity" // regular 09:30–16:00 America/New_York Mon–Fri; extended 04:00–20:00 (outside RTH)
  | "crypto-24x7"
  | "cme-globex" // Sun 18:00 – Fri 17:00 America/New_York, daily break 17:00–18:00
  | "fx-24x5" // Sun 17:00 – Fri 17:00 America/New_York
  | "us-rth"; // 09:30–16:00 America/New_York Mon–Fri only (listed options, indices, funds, bonds)

/** What the simulated account is entitled to see for an instrument (drives 354 / 10089 / 10167 paths). */
export type Entitlement = "live" | "delayed-only" | "none";

export interface InstrumentSpec {
  conId: number;
  symbol: string;
  secType: SecType;
  /** FUT only: YYYYMMDD of the last trade date; "" otherwise. */
  lastTradeDateOrContractMonth: string;
  /** FUT only: YYYYMM. */
  contractMonth: string;
  multiplier: string;
  exchange: string;
  primaryExch: string;
  currency: string;
  localSymbol: string;
  tradingClass: string;
  marketName: string;
  longName: string;
  minTick: string;
  minSize: string;
  sizeIncrement: string;
  suggestedSizeIncrement: string;
  orderTypes: string;
  validExchanges: string;
  marketRuleIds: string;
  timeZoneId: string;
  /** IB format, e.g. "20261125:0930-20261125:1600;20261126:CLOSED" for the next days. */
  tradingHours: string;
  liquidHours: string;
  industry: string;
  category: string;
  subcategory: string;
  stockType: string;
  session: SessionKind;
  entitlement: Entitlement;
  /** Historical whatToShow for trades: "TRADES" for most, "AGGTRADES" for crypto (TRADES → rejected). */
  tradesWhatToShow: "TRADES" | "AGGTRADES";
  /** OPT / FOP: strike (integer text) and right. */
  strike?: string;
  right?: "C" | "P";
  /** Derivatives: the underlying's conId, symbol and secType (STK, IND, FUT). */
  underConId?: number;
  underSymbol?: string;
  underSecType?: string;
  /** BOND: CUSIP and ISIN (contract details' secIdList). */
  secIds?: readonly { tag: string; value: string }[];
  /** BOND: coupon (percent), maturity YYYYMMDD, issue date YYYYMMDD. */
  bond?: { cusip: string; coupon: string; maturity: string; issueDate: string; bondType: string; couponType: string };
}

/** IB's tickOptionComputation values (per share; vega per vol point, theta per calendar day). */
export interface OptionComputation {
  /** undefined when the price implies no volatility (e.g. a zero bid). */
  impliedVol: number | undefined;
  delta: number | undefined;
  optPrice: number;
  gamma: number | undefined;
  vega: number | undefined;
  theta: number | undefined;
  undPrice: number;
}

/** One reqSecDefOptParams row: an exchange × trading class of an underlying's options. */
export interface OptionChain {
  exchange: string;
  underlyingConId: number;
  tradingClass: string;
  multiplier: string;
  expirations: string[];
  strikes: number[];
}

export interface Trade {
  timeMs: number;
  price: string;
  size: string;
  exchange: string;
}

export interface Quote {
  timeMs: number;
  bid: string;
  ask: string;
  bidSize: string;
  askSize: string;
}

export interface DepthLevel {
  price: string;
  size: string;
  marketMaker: string;
}

export interface DepthSnapshot {
  timeMs: number;
  /** Best first. */
  bids: DepthLevel[];
  /** Best first. */
  asks: DepthLevel[];
}

export interface Bar {
  /** Bar start, epoch seconds. */
  startSec: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  wap: string;
  count: number;
}

export type WhatToShow = "TRADES" | "AGGTRADES" | "MIDPOINT" | "BID" | "ASK" | "BID_ASK" | "ADJUSTED_LAST";

export interface BarQuery {
  /** Bar size in seconds (1 .. 86400), or "week" / "month" calendar bars. */
  barSize: number | "week" | "month";
  /** Half-open window [fromSec, toSec) of bar starts, epoch seconds. */
  fromSec: number;
  toSec: number;
  /** true: only regular-session bars (us-equity 09:30–16:00 ET); false: all trading hours. */
  useRTH: boolean;
  whatToShow: WhatToShow;
}

export interface Market {
  readonly seed: number;
  instruments(): readonly InstrumentSpec[];
  /** Contracts matching an IB contract query (conId, or symbol+secType+exchange+currency+expiry, "" = any). */
  findContracts(query: ContractQuery): InstrumentSpec[];
  /** Is the instrument trading at this instant (useRTH=false: any session hours)? */
  isOpen(instrument: InstrumentSpec, timeMs: number, useRTH: boolean): boolean;
  /** All trades with fromMs <= timeMs < toMs, in time order. Empty while the market is closed. */
  trades(instrument: InstrumentSpec, fromMs: number, toMs: number): Trade[];
  /** Top of book at an instant (consistent with the trades around it). */
  quote(instrument: InstrumentSpec, timeMs: number): Quote;
  /** Depth at an instant: `rows` levels per side, bid < ask, sizes > 0. */
  depth(instrument: InstrumentSpec, timeMs: number, rows: number): DepthSnapshot;
  /** Historical bars; a bar is omitted when it holds no trading time. */
  bars(instrument: InstrumentSpec, query: BarQuery): Bar[];
  /** Earliest time data exists for, epoch seconds. */
  headTimestampSec(instrument: InstrumentSpec, whatToShow: WhatToShow, useRTH: boolean): number;
  /**
   * OPT / FOP (optional, multi-asset): option computation at an instant for a given option price (bid,
   * ask, last; implied volatility from it) or, without one, for the model price.
   */
  optionComputation?(instrument: InstrumentSpec, timeMs: number, price?: number): OptionComputation | undefined;
  /** reqSecDefOptParams rows for an underlying (optional). */
  optionChains?(underlyingSymbol: string, underlyingSecType: string, underlyingConId: number, futFopExchange: string): OptionChain[];
  /** The model price at an instant (options: theoretical price; others: last trade): combo legs' last (optional). */
  modelPrice?(instrument: InstrumentSpec, timeMs: number): number;
}

export interface ContractQuery {
  conId?: number;
  symbol?: string;
  secType?: string;
  exchange?: string;
  currency?: string;
  lastTradeDateOrContractMonth?: string;
  localSymbol?: string;
  /** Include contracts whose last trade date has passed. */
  includeExpired?: boolean;
  /** Derivatives: "" / "0" = any strike; right "C"/"P"/"CALL"/"PUT". */
  strike?: string;
  right?: string;
  tradingClass?: string;
  multiplier?: string;
  /** Lookup by security id (CUSIP, ISIN). */
  secIdType?: string;
  secId?: string;
}

export interface MarketOptions {
  seed: number;
  /** Multiplies every instrument's trade rate (1 = realistic; 0.1 = calm). */
  tradeRateScale?: number;
  /**
   * Clock for the date-dependent parts only (which ES contracts are live, tradingHours/liquidHours).
   * Defaults to Date.now. Prices never depend on it. Optional addition, backward compatible.
   */
  now?: () => number;
  /**
   * While an instrument does not trade, show the book of its last trading instant (quotes, sizes and depth
   * frozen, as IB's data looks). Default false: sizes and depth levels keep flickering around the last
   * price, which tests of a stream at any hour rely on (stocks are closed ~60% of a week).
   */
  freezeWhenClosed?: boolean;
}

/**
 * One IB market-depth operation (updateMktDepth / updateMktDepthL2), as produced by `diffDepth` in
 * ./index.ts: applied in order to the previous snapshot they yield the next one. Added for the
 * protocol server; purely additive.
 */
export interface DepthOperation {
  /** Row index on that side at the time the operation is applied. */
  position: number;
  /** 0 insert, 1 update, 2 delete. */
  operation: 0 | 1 | 2;
  /** 0 ask, 1 bid. */
  side: 0 | 1;
  price: string;
  size: string;
  marketMaker: string;
}
