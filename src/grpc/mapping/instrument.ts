import { AssetClass, OptionRight, type Instrument } from "../../../gen/ibprovider/v1/types.js";
import { toWire } from "../../domain/decimal.js";
import type { AssetClass as DomainAssetClass } from "../../domain/instrumentSymbol.js";
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

const PROTO_CLASSES: Record<DomainAssetClass, AssetClass> = {
  stock: AssetClass.ASSET_CLASS_STOCK, index: AssetClass.ASSET_CLASS_INDEX, future: AssetClass.ASSET_CLASS_FUTURE, option: AssetClass.ASSET_CLASS_OPTION,
  "future-option": AssetClass.ASSET_CLASS_FUTURE_OPTION, forex: AssetClass.ASSET_CLASS_FOREX, crypto: AssetClass.ASSET_CLASS_CRYPTO, bond: AssetClass.ASSET_CLASS_BOND,
  fund: AssetClass.ASSET_CLASS_FUND, combo: AssetClass.ASSET_CLASS_COMBO,
};

export function assetClassToProto(assetClass: DomainAssetClass | undefined): AssetClass {
  return assetClass === undefined ? AssetClass.ASSET_CLASS_UNSPECIFIED : PROTO_CLASSES[assetClass];
}

const RIGHTS = { call: OptionRight.OPTION_RIGHT_CALL, put: OptionRight.OPTION_RIGHT_PUT, "": OptionRight.OPTION_RIGHT_UNSPECIFIED } as const;

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
    assetClass: assetClassToProto(r.assetClass),
    underlying: r.underlying,
    underlyingConId: String(r.underlyingConId),
    expiry: r.expiry,
    strike: r.strike,
    right: RIGHTS[r.right],
    cusip: r.cusip,
    isin: r.isin,
    legs: r.legs.map((l) => ({ symbol: l.symbol, ratio: l.ratio, conId: String(l.conId) })),
  };
}
