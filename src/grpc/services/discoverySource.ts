import type { MarketType } from "../../domain/marketType.js";
import type { ResolvedInstrument } from "../../ib/contracts/contractResolver.js";
import type { FutureContract, OptionChain, OptionQuotes, OptionQuotesOptions, SymbolMatch } from "../../ib/ibAdapter.js";

/**
 * What discovery (SymbolService) and chain snapshots (MarketDataService) need from the adapter: IB's
 * matching symbols, security definition parameters, a root's futures and bounded-line quotes.
 */
export interface DiscoverySource {
  searchSymbols(pattern: string, signal?: AbortSignal): Promise<SymbolMatch[]>;
  optionChain(marketType: MarketType, underlyingSymbol: string): Promise<OptionChain>;
  futuresExpiries(root: string): Promise<FutureContract[]>;
}

export interface QuoteSource {
  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument>;
  optionChain(marketType: MarketType, underlyingSymbol: string): Promise<OptionChain>;
  optionQuotes(marketType: MarketType, symbols: string[], options: OptionQuotesOptions): Promise<OptionQuotes>;
}
