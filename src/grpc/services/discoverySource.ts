import type { AssetClass } from "../../domain/instrumentSymbol.js";
import type { Level1 } from "../../domain/marketData.js";
import type { MarketType } from "../../domain/marketType.js";
import type { ResolvedInstrument } from "../../ib/contracts/contractResolver.js";

/**
 * What discovery (SymbolService) and chain snapshots (MarketDataService) need from the adapter: IB's
 * matching symbols, security definition parameters, a root's futures and bounded-line quotes.
 */
export interface DiscoverySource {
  searchSymbols(pattern: string, signal?: AbortSignal): Promise<SymbolCandidate[]>;
  optionChain(marketType: MarketType, underlyingSymbol: string): Promise<ChainOfUnderlying>;
  futuresExpiries(root: string): Promise<ListedFuture[]>;
}

export interface QuoteSource {
  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument>;
  optionChain(marketType: MarketType, underlyingSymbol: string): Promise<ChainOfUnderlying>;
  optionQuotes(marketType: MarketType, symbols: string[], options: { maxLines?: number; timeoutMs?: number; signal?: AbortSignal; client?: string }): Promise<QuotedSet>;
}

export interface SymbolCandidate {
  conId: number;
  symbol: string;
  secType: string;
  assetClass: AssetClass | undefined;
  primaryExchange: string;
  currency: string;
  derivativeSecTypes: string[];
  description: string;
}

export interface ChainOfUnderlying {
  underlying: ResolvedInstrument;
  rows: { exchange: string; tradingClass: string; multiplier: string; expirations: string[]; strikes: string[] }[];
  fetchedAtMs: number;
}

export interface ListedFuture {
  symbol: string;
  localSymbol: string;
  lastTradeDate: string;
  conId: number;
  multiplier: string;
  exchange: string;
  front: boolean;
}

export interface QuotedSet {
  quotes: { symbol: string; instrument: ResolvedInstrument; level1: Level1 }[];
  missing: { symbol: string; reason: string }[];
  maxLinesOpen: number;
}
