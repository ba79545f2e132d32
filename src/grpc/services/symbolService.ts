import type { GetSymbolRequest, GetSymbolResponse, ListSymbolsRequest, ListSymbolsResponse } from "../../../gen/ibprovider/v1/symbol_service.js";
import type { ProviderConfig } from "../../config/providerConfig.js";
import type { MarketType } from "../../domain/marketType.js";
import type { ResolvedInstrument } from "../../ib/contracts/contractResolver.js";
import { IbError } from "../../ib/ibErrors.js";
import { unimplemented } from "../apiError.js";
import { checkConnector, checkInstrument, checkMarketType } from "../requests/instrumentFields.js";
import { EMPTY_INSTRUMENT, toInstrument } from "../mapping/instrument.js";

/** What the symbol service needs from the adapter. */
export interface InstrumentSource {
  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument>;
  /** Known without asking IB (resolved earlier, or kept by the store). */
  knownInstrument(marketType: MarketType, symbol: string): ResolvedInstrument | undefined;
}

/** SymbolService: configured symbols, and any symbol resolved to its IB contract. */
export class SymbolService {
  constructor(
    private readonly provider: ProviderConfig,
    private readonly instruments: InstrumentSource,
    private readonly now: () => number = Date.now,
  ) {}

  async listSymbols(request: ListSymbolsRequest): Promise<ListSymbolsResponse> {
    checkConnector(request.connectorType);
    const marketType = checkMarketType(request.marketType);
    const names = this.provider.ib?.markets.find((m) => m.marketType === marketType)?.symbols.map((s) => s.name) ?? [];
    if (!request.resolve) {
      // Without asking IB: what is known (configured symbols resolve in the background at every connect).
      const nowMs = this.now();
      return {
        symbols: names.map((name) => {
          const known = this.instruments.knownInstrument(marketType, name);
          return known === undefined ? { ...EMPTY_INSTRUMENT, name } : toInstrument(known, name, nowMs);
        }),
        unresolved: [],
      };
    }
    const results = await Promise.allSettled(names.map((name) => this.instruments.resolve(marketType, name)));
    const response: ListSymbolsResponse = { symbols: [], unresolved: [] };
    results.forEach((r, i) => {
      if (r.status === "fulfilled") response.symbols.push(toInstrument(r.value, names[i]!, this.now()));
      else response.unresolved.push({ name: names[i]!, reason: r.reason instanceof IbError ? r.reason.message : "internal error" });
    });
    return response;
  }

  async getSymbol(request: GetSymbolRequest): Promise<GetSymbolResponse> {
    const { marketType, symbol } = checkInstrument(request);
    const resolved = await this.instruments.resolve(marketType, symbol);
    return { symbol: toInstrument(resolved, request.symbol, this.now()) };
  }

  searchSymbols(): Promise<never> {
    return Promise.reject(unimplemented("SearchSymbols"));
  }

  getOptionChain(): Promise<never> {
    return Promise.reject(unimplemented("GetOptionChain"));
  }

  listFutures(): Promise<never> {
    return Promise.reject(unimplemented("ListFutures"));
  }
}
