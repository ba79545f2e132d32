import { AssetClass, OptionRight, type Instrument } from "../../../gen/ibprovider/v1/types.js";
import { toWire } from "../../domain/decimal.js";
import { parseTradingHours } from "../../domain/tradingHours.js";
import type { ResolvedInstrument } from "../../ib/contracts/contractResolver.js";
import { timestampFromMs } from "./protoTime.js";

/** Resolved IB instruments → the proto Instrument. */

export const EMPTY_INSTRUMENT: Instrument = {
  name: "", baseAsset: "", quoteAsset: "", status: "", tickSize: "", stepSize: "", minQuantity: "", conId: "0", secType: "", exchange: "",
  primaryExchange: "", currency: "", localSymbol: "", tradingClass: "", lastTradeDate: "", multiplier: "", longName: "", timeZone: "",
  tradingHours: [], liquidHours: [], mappingNote: "", assetClass: AssetClass.ASSET_CLASS_UNSPECIFIED, underlying: "", underlyingConId: "0", expiry: "",
  strike: "", right: OptionRight.OPTION_RIGHT_UNSPECIFIED, cusip: "", isin: "", legs: [],
};

const CLASS_BY_SEC_TYPE: Record<string, AssetClass> = {
  STK: AssetClass.ASSET_CLASS_STOCK, IND: AssetClass.ASSET_CLASS_INDEX, FUT: AssetClass.ASSET_CLASS_FUTURE, OPT: AssetClass.ASSET_CLASS_OPTION,
  FOP: AssetClass.ASSET_CLASS_FUTURE_OPTION, CASH: AssetClass.ASSET_CLASS_FOREX, CRYPTO: AssetClass.ASSET_CLASS_CRYPTO, BOND: AssetClass.ASSET_CLASS_BOND,
  FUND: AssetClass.ASSET_CLASS_FUND, BAG: AssetClass.ASSET_CLASS_COMBO,
};

/** IB's security type → the asset class (UNSPECIFIED for one this service does not know). */
export function assetClassOfSecType(secType: string): AssetClass {
  return CLASS_BY_SEC_TYPE[secType] ?? AssetClass.ASSET_CLASS_UNSPECIFIED;
}

const EMPTY_OPTION_FIELDS = { underlying: "", underlyingConId: "0", expiry: "", strike: "", right: OptionRight.OPTION_RIGHT_UNSPECIFIED, cusip: "", isin: "", legs: [] };

export function toInstrument(r: ResolvedInstrument, requestedName: string, nowMs: number): Instrument {
  const sessions = (text: string) =>
    parseTradingHours(text, r.timeZoneId || "UTC").map((s) => ({ start: timestampFromMs(s.startMs), end: timestampFromMs(s.endMs) }));
  const trading = parseTradingHours(r.tradingHours, r.timeZoneId || "UTC");
  const open = trading.some((s) => s.startMs <= nowMs && nowMs < s.endMs);
  return {
    name: requestedName,
    baseAsset: r.baseAsset,
    quoteAsset: r.quoteAsset,
    status: open ? "TRADING" : "CLOSED",
    tickSize: toWire(r.minTick),
    stepSize: toWire(r.sizeIncrement),
    minQuantity: toWire(r.minSize),
    conId: String(r.conId),
    secType: r.secType,
    exchange: r.exchange,
    primaryExchange: r.primaryExchange,
    currency: r.currency,
    localSymbol: r.localSymbol,
    tradingClass: r.tradingClass,
    lastTradeDate: r.lastTradeDate,
    multiplier: r.multiplier,
    longName: r.longName,
    timeZone: r.timeZoneId,
    tradingHours: sessions(r.tradingHours),
    liquidHours: sessions(r.liquidHours),
    mappingNote: r.note,
    ...EMPTY_OPTION_FIELDS,
    assetClass: assetClassOfSecType(r.secType),
  };
}
