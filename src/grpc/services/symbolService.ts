import type {
  GetOptionChainRequest,
  GetOptionChainResponse,
  GetSymbolRequest,
  GetSymbolResponse,
  ListFuturesRequest,
  ListFuturesResponse,
  ListSymbolsRequest,
  ListSymbolsResponse,
  SearchSymbolsRequest,
  SearchSymbolsResponse,
} from "../../../gen/ibprovider/v1/symbol_service.js";
import type { ProviderConfig } from "../../config/providerConfig.js";
import { parseInstrumentSymbol } from "../../domain/instrumentSymbol.js";
import type { MarketType } from "../../domain/marketType.js";
import type { ResolvedInstrument } from "../../ib/contracts/contractResolver.js";
import { IbError } from "../../ib/ibErrors.js";
import type { CallContext } from "../callContext.js";
import { chainRowsToProto, futuresContractToProto, symbolMatchToProto } from "../mapping/discovery.js";
import { timestampFromMs } from "../mapping/protoTime.js";
import { checkFuturesRoot, checkSearchQuery, checkUnderlying } from "../requests/optionChainFields.js";
import type { DiscoverySource } from "./discoverySource.js";
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
    private readonly instruments: InstrumentSource & DiscoverySource,
    private readonly now: () => number = Date.now,
  ) {}

  async listSymbols(request: ListSymbolsRequest): Promise<ListSymbolsResponse> {
    checkConnector(request.connectorType);
    const marketType = checkMarketType(request.marketType);
    const names = this.provider.ib?.markets.find((m) => m.marketType === marketType)?.symbols.map((s) => s.name) ?? [];
    // Listed by the text their events carry (btc-usdt → BTCUSDT), so that a client can match one to the other;
    // resolved by the configured name (its config override is keyed by it).
    const shown = (name: string) => {
      const parsed = parseInstrumentSymbol(marketType, name);
      return "error" in parsed ? name : parsed.text;
    };
    if (!request.resolve) {
      // Without asking IB: what is known (configured symbols resolve in the background at every connect).
      const nowMs = this.now();
      return {
        symbols: names.map((name) => {
          const known = this.instruments.knownInstrument(marketType, name);
          return known === undefined ? { ...EMPTY_INSTRUMENT, name: shown(name) } : toInstrument(known, shown(name), nowMs);
        }),
        unresolved: [],
      };
    }
    const results = await Promise.allSettled(names.map((name) => this.instruments.resolve(marketType, name)));
    const response: ListSymbolsResponse = { symbols: [], unresolved: [] };
    results.forEach((r, i) => {
      if (r.status === "fulfilled") response.symbols.push(toInstrument(r.value, shown(names[i]!), this.now()));
      else response.unresolved.push({ name: shown(names[i]!), reason: r.reason instanceof IbError ? r.reason.message : "internal error" });
    });
    return response;
  }

  async getSymbol(request: GetSymbolRequest): Promise<GetSymbolResponse> {
    const { marketType, symbol } = checkInstrument(request);
    const resolved = await this.instruments.resolve(marketType, symbol);
    return { symbol: toInstrument(resolved, symbol, this.now()) };
  }

  async searchSymbols(request: SearchSymbolsRequest, ctx: CallContext): Promise<SearchSymbolsResponse> {
    checkConnector(request.connectorType);
    const query = checkSearchQuery(request.query);
    return { matches: (await this.instruments.searchSymbols(query, ctx.signal)).map(symbolMatchToProto) };
  }

  async getOptionChain(request: GetOptionChainRequest): Promise<GetOptionChainResponse> {
    const { marketType, symbol } = checkUnderlying(request);
    const chain = await this.instruments.optionChain(marketType, symbol);
    return {
      underlying: toInstrument(chain.underlying, symbol, this.now()),
      rows: chainRowsToProto(chain, { exchange: request.exchange.toUpperCase(), tradingClass: request.tradingClass.toUpperCase() }),
      fetchedAt: timestampFromMs(chain.fetchedAtMs),
    };
  }

  async listFutures(request: ListFuturesRequest): Promise<ListFuturesResponse> {
    checkConnector(request.connectorType);
    return { contracts: (await this.instruments.futuresExpiries(checkFuturesRoot(request.root))).map(futuresContractToProto) };
  }
}
