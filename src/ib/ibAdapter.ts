import type { MarketType, ProviderConfig } from "../config/providerConfig.js";
import { ContractResolver, type ResolvedInstrument } from "./contractResolver.js";
import { GatewayConnection, type GatewayConnectionOptions } from "./gatewayConnection.js";
import type { GatewayStatus } from "./gatewayStatus.js";
import { RequestRouter } from "./requestRouter.js";
import type { SubscriptionSnapshot } from "./subscriptionSnapshot.js";

export interface IbAdapterOptions extends GatewayConnectionOptions {
  provider: ProviderConfig;
  requestTimeoutMs?: number;
}

/**
 * The IB adapter's public face: one Gateway connection, instruments resolved and cached, and (as the
 * market data and account parts land) shared, paced subscriptions. Callers see typed values and
 * IbError kinds, never TWS message ids, request ids or IB codes.
 */
export class IbAdapter {
  readonly connection: GatewayConnection;
  private readonly router: RequestRouter;
  private readonly contracts: ContractResolver;

  constructor(options: IbAdapterOptions) {
    this.connection = new GatewayConnection(options);
    this.router = new RequestRouter(this.connection.api, options.log);
    const overrides = new Map<string, NonNullable<ProviderConfig["ib"]>["markets"][number]["symbols"][number]["ib"]>();
    for (const market of options.provider.ib?.markets ?? []) {
      for (const s of market.symbols) if (s.ib !== undefined) overrides.set(`${market.marketType}/${s.name.toUpperCase()}`, s.ib);
    }
    this.contracts = new ContractResolver({
      router: this.router,
      send: (reqId, contract) => this.connection.api.reqContractDetails(reqId, contract),
      override: (marketType, symbol) => overrides.get(`${marketType}/${symbol.toUpperCase()}`),
      timeoutMs: options.requestTimeoutMs,
    });
    // Futures roll and contract details may change across the Gateway's daily restart.
    this.connection.on("ready", ({ reconnected }) => {
      if (reconnected) this.contracts.clear();
    });
  }

  start(): Promise<void> {
    return this.connection.start();
  }

  stop(): void {
    this.connection.stop();
  }

  get status(): GatewayStatus {
    return this.connection.status;
  }

  subscriptions(): SubscriptionSnapshot[] {
    return [];
  }

  /** Resolves a Barfinex symbol in a market to its IB instrument (IbError "not-found" when IB has none). */
  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument> {
    return this.contracts.resolve(marketType, symbol);
  }
}
