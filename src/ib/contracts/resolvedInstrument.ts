import { OrderAction, type Contract, type ContractDetails } from "@stoqey/ib";
import { decimalFromIb, toWire, type Decimal } from "../../domain/decimal.js";
import type { AssetClass } from "../../domain/instrumentSymbol.js";
import type { MarketType } from "../../domain/marketType.js";
import type { ContractQuery } from "./symbolMapping.js";

/** A Barfinex symbol resolved to exactly one IB contract (no TWS ids beyond IB's own contract fields). */
export interface ResolvedInstrument {
  marketType: MarketType;
  /** Barfinex symbol as requested (upper case). */
  symbol: string;
  assetClass: AssetClass;
  baseAsset: string;
  quoteAsset: string;
  /** How the symbol was mapped, "" when it is the IB instrument itself. */
  note: string;
  /** IB's contract id; 0 for a combo (IB gives a BAG none: see instrumentKey). */
  conId: number;
  secType: string;
  exchange: string;
  primaryExchange: string;
  currency: string;
  localSymbol: string;
  tradingClass: string;
  /** Futures: YYYYMMDD; "" otherwise. */
  lastTradeDate: string;
  /** Futures, options and options on futures: YYYYMMDD; "" otherwise. */
  expiry: string;
  /** Options and options on futures: the underlying's symbol and conId ("" and 0 otherwise). */
  underlying: string;
  underlyingConId: number;
  /** Options: decimal text ("200", "102.5"); "" otherwise. */
  strike: string;
  right: "call" | "put" | "";
  /** Bonds: from IB's secIdList when it sends them, else as requested; "" otherwise. */
  cusip: string;
  isin: string;
  /** Combos: each leg's symbol, conId and signed ratio; [] otherwise. */
  legs: { symbol: string; conId: number; ratio: number }[];
  multiplier: string;
  longName: string;
  timeZoneId: string;
  /** IB format "20261125:0930-20261125:1600;20261126:CLOSED". */
  tradingHours: string;
  liquidHours: string;
  minTick: Decimal | undefined;
  sizeIncrement: Decimal | undefined;
  minSize: Decimal | undefined;
  /** The contract to send in market data / history requests: conId plus its exchange (a BAG: its legs). */
  requestContract: Contract;
}

const CLASS_OF_SECTYPE: Readonly<Record<string, AssetClass>> = {
  STK: "stock", IND: "index", FUT: "future", OPT: "option", FOP: "future-option", CASH: "forex", CRYPTO: "crypto", BOND: "bond", FUND: "fund", BAG: "combo",
};

/** The asset class of an IB security type (undefined for types we do not serve: CFD, WAR, ...). */
export function assetClassOfSecType(secType: string): AssetClass | undefined {
  return CLASS_OF_SECTYPE[secType];
}

/**
 * What keys an instrument's feeds, caches and pacing: its conId, or for a combo (conId 0) its legs, so two
 * different combos never share a feed. A BAG's price does not depend on the order of its legs: they are keyed in conId
 * order, so COMBO:A,-B and COMBO:-B,A share one IB line.
 */
export function instrumentKey(instrument: Pick<ResolvedInstrument, "conId" | "legs">): string {
  if (instrument.conId !== 0 || instrument.legs.length === 0) return String(instrument.conId);
  const legs = [...instrument.legs].sort((a, b) => a.conId - b.conId || a.ratio - b.ratio);
  return `bag:${legs.map((l) => `${l.ratio}*${l.conId}`).join(",")}`;
}

const text = (v: unknown) => (v === undefined || v === null ? "" : String(v));

/** An instrument from the one contract IB's details name for a query. */
export function toResolved(marketType: MarketType, symbol: string, mapped: ContractQuery, d: ContractDetails): ResolvedInstrument {
  const c = d.contract;
  const secType = text(c.secType);
  const derivative = secType === "OPT" || secType === "FOP";
  const dated = derivative || secType === "FUT";
  const secId = (type: "CUSIP" | "ISIN") => d.secIdList?.find((t) => t.tag === type)?.value || (type === "CUSIP" ? text(d.cusip) || mapped.bondIds?.cusip : mapped.bondIds?.isin) || "";
  const exchange = text(mapped.contract.exchange) || text(c.exchange);
  const right = text(c.right).toUpperCase();
  return {
    marketType,
    symbol,
    assetClass: assetClassOfSecType(secType) ?? mapped.assetClass,
    baseAsset: mapped.baseAsset,
    quoteAsset: text(c.currency) || mapped.quoteAsset,
    note: mapped.note,
    conId: c.conId ?? 0,
    secType,
    exchange,
    primaryExchange: text(c.primaryExch),
    currency: text(c.currency),
    localSymbol: text(c.localSymbol),
    tradingClass: text(c.tradingClass),
    lastTradeDate: secType === "FUT" ? text(c.lastTradeDateOrContractMonth).slice(0, 8) : "",
    expiry: dated ? text(c.lastTradeDateOrContractMonth).slice(0, 8) : "",
    underlying: derivative ? text(d.underSymbol) || text(c.symbol) : "",
    underlyingConId: derivative ? (d.underConId ?? 0) : 0,
    strike: derivative && c.strike !== undefined ? toWire(decimalFromIb(c.strike)) : "",
    right: !derivative ? "" : right.startsWith("C") ? "call" : right.startsWith("P") ? "put" : "",
    cusip: secType === "BOND" ? secId("CUSIP") : "",
    isin: secType === "BOND" ? secId("ISIN") : "",
    legs: [],
    multiplier: text(c.multiplier) === "0" ? "" : text(c.multiplier),
    longName: text(d.longName),
    timeZoneId: text(d.timeZoneId),
    tradingHours: text(d.tradingHours),
    liquidHours: text(d.liquidHours),
    minTick: decimalFromIb(d.minTick),
    sizeIncrement: decimalFromIb(d.sizeIncrement),
    minSize: decimalFromIb(d.minSize),
    requestContract: { conId: c.conId, exchange, secType: c.secType, symbol: c.symbol, currency: c.currency },
  };
}

/**
 * A combo from its resolved legs: IB has no contract details for a BAG, so it is built here. Its symbol is the
 * first leg's underlying (or symbol); futures legs trade on their exchange, everything else through SMART.
 */
export function comboOf(marketType: MarketType, symbol: string, mapped: ContractQuery, legs: { instrument: ResolvedInstrument; ratio: number }[]): ResolvedInstrument {
  const first = legs[0]!.instrument;
  const onExchange = first.secType === "FUT" || first.secType === "FOP";
  const exchange = onExchange ? first.exchange : "SMART";
  const bagSymbol = text(first.requestContract.symbol) || first.underlying;
  const requestContract: Contract = {
    symbol: bagSymbol,
    secType: "BAG" as Contract["secType"],
    exchange,
    currency: "USD",
    comboLegs: legs.map(({ instrument, ratio }) => ({ conId: instrument.conId, ratio: Math.abs(ratio), action: ratio < 0 ? OrderAction.SELL : OrderAction.BUY, exchange: onExchange ? instrument.exchange : "SMART" })),
  };
  return {
    marketType,
    symbol,
    assetClass: "combo",
    baseAsset: mapped.baseAsset,
    quoteAsset: "USD",
    note: mapped.note,
    conId: 0,
    secType: "BAG",
    exchange,
    primaryExchange: "",
    currency: "USD",
    localSymbol: "",
    tradingClass: "",
    lastTradeDate: "",
    expiry: "",
    underlying: "",
    underlyingConId: 0,
    strike: "",
    right: "",
    cusip: "",
    isin: "",
    legs: legs.map(({ instrument, ratio }) => ({ symbol: instrument.symbol, conId: instrument.conId, ratio })),
    multiplier: "",
    longName: symbol,
    // The combo trades when its first leg does (candles are bucketed in its zone).
    timeZoneId: first.timeZoneId,
    tradingHours: first.tradingHours,
    liquidHours: first.liquidHours,
    minTick: undefined,
    sizeIncrement: undefined,
    minSize: undefined,
    requestContract,
  };
}

const DECIMAL_FIELDS = ["minTick", "sizeIncrement", "minSize"] as const;
/** v2: the multi-asset fields (assetClass, expiry, legs, ...); a v1 row is fetched again. */
const RECORD_VERSION = 2;

/** JSON with the decimals as their text, read back by deserialize (a version tag guards the shape). */
export function serializeInstrument(r: ResolvedInstrument): string {
  return JSON.stringify({ v: RECORD_VERSION, ...r, minTick: r.minTick?.toString(), sizeIncrement: r.sizeIncrement?.toString(), minSize: r.minSize?.toString() });
}

export function deserializeInstrument(serialized: string): ResolvedInstrument {
  const o = JSON.parse(serialized) as Record<string, unknown> & { v?: number };
  if (o.v !== RECORD_VERSION || typeof o.conId !== "number" || typeof o.symbol !== "string") throw new Error("unknown contract record");
  const { v: _version, ...rest } = o;
  const r = rest as unknown as ResolvedInstrument;
  for (const f of DECIMAL_FIELDS) (r as unknown as Record<string, unknown>)[f] = decimalFromIb(o[f] as string | undefined);
  return r;
}
