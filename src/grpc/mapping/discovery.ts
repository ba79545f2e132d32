import type { FuturesContract, OptionChainRow, SymbolMatch } from "../../../gen/ibprovider/v1/symbol_service.js";
import { bondIds, formatInstrumentSymbol, parseInstrumentSymbol, type InstrumentSpec } from "../../domain/instrumentSymbol.js";
import type { MarketType } from "../../domain/marketType.js";
// IB's answers, named apart from the proto messages of the same names.
import type { FutureContract as ListedFuture, OptionChain as ChainOfUnderlying, SymbolMatch as SymbolCandidate } from "../../ib/ibAdapter.js";
import { assetClassToProto } from "./instrument.js";

/** Discovery answers (IB's matching symbols, chains, a root's futures) → proto. */

export function symbolMatchToProto(c: SymbolCandidate): SymbolMatch {
  const ours = serviceSymbol(c);
  return {
    symbol: ours?.symbol ?? "",
    marketType: ours?.marketType ?? "",
    assetClass: assetClassToProto(c.assetClass),
    conId: String(c.conId),
    ibSymbol: c.symbol,
    secType: c.secType,
    primaryExchange: c.primaryExchange,
    currency: c.currency,
    derivativeSecTypes: c.derivativeSecTypes,
    description: c.description,
  };
}

/**
 * The text a client uses with this service for IB's candidate; undefined for a class it does not serve, and for
 * a candidate the text would not name: a stock or fund listed in another currency than USD (the text means
 * the USD listing: SAP is SAP's NYSE ADR, not its IBIS share), or a name that reads back as another class
 * (a coin IB has but the syntax does not know would read as a stock).
 */
function serviceSymbol(c: SymbolCandidate): { symbol: string; marketType: MarketType } | undefined {
  const candidate = textOf(c);
  if (candidate === undefined) return undefined;
  const back = parseInstrumentSymbol(candidate.marketType, candidate.symbol);
  return "error" in back || back.spec.assetClass !== c.assetClass ? undefined : candidate;
}

function textOf(c: SymbolCandidate): { symbol: string; marketType: MarketType } | undefined {
  const spot = (spec: InstrumentSpec) => ({ symbol: formatInstrumentSymbol(spec), marketType: "spot" as const });
  const name = c.symbol.toUpperCase();
  const inUsd = c.currency.toUpperCase() === "USD";
  switch (c.secType) {
    case "STK":
      return inUsd ? spot({ assetClass: "stock", symbol: name.replace(" ", ".") }) : undefined;
    case "IND":
      return spot({ assetClass: "index", symbol: name });
    case "FUND":
      return inUsd ? spot({ assetClass: "fund", symbol: name }) : undefined;
    case "BOND": {
      const ids = bondIds(name);
      return ids === undefined ? undefined : spot(ids);
    }
    case "CASH":
      return spot({ assetClass: "forex", base: name, quote: c.currency.toUpperCase() });
    case "CRYPTO":
      return spot({ assetClass: "crypto", coin: name, quote: "" });
    case "FUT":
      return { symbol: name, marketType: "futures" };
    default:
      return undefined;
  }
}

export function chainRowsToProto(chain: ChainOfUnderlying, filter: { exchange: string; tradingClass: string }): OptionChainRow[] {
  return chain.rows
    .filter((r) => (filter.exchange === "" || r.exchange === filter.exchange) && (filter.tradingClass === "" || r.tradingClass === filter.tradingClass))
    .map((r) => ({ exchange: r.exchange, tradingClass: r.tradingClass, multiplier: r.multiplier, expirations: r.expirations, strikes: r.strikes }));
}

export function futuresContractToProto(f: ListedFuture): FuturesContract {
  return { symbol: f.symbol, localSymbol: f.localSymbol, lastTradeDate: f.lastTradeDate, conId: String(f.conId), multiplier: f.multiplier, exchange: f.exchange, front: f.front };
}

