import { status } from "@grpc/grpc-js";
import {
  ConnectionState,
  GatewayMode,
  SubscriptionKind,
  type BusStatus,
  type Connector,
  type GetRuntimeProofResponse,
  type ListConnectorsRequest,
  type ListConnectorsResponse,
  type ListRecentErrorsResponse,
  type ListSubscriptionsResponse,
  type SubscriptionStatus,
} from "../../../gen/ibprovider/v1/runtime_service.js";
import type { ProviderConfig, SubscriptionType } from "../../config/providerConfig.js";
import type { GatewayStatus } from "../../ib/connection/gatewayStatus.js";
import type { SubscriptionSnapshot } from "../../ib/feeds/subscriptionSnapshot.js";
import { durationFromMs, timestampFromMs } from "../mapping/protoTime.js";
import type { RecentErrors } from "../recentErrors.js";

/** What the runtime service reads: configuration, the Gateway connection and the live subscriptions. */
export interface RuntimeSources {
  provider: ProviderConfig;
  startedAt: Date;
  serviceVersion: string;
  gateway(): GatewayStatus | undefined;
  subscriptions(): SubscriptionSnapshot[];
  /** The bus the provider role publishes on (BUS_URL set); undefined in the all-in-one process. */
  bus?: () => { address: string; subjectPrefix: string; connected: boolean; published: number; queued: number; shed: number } | undefined;
  now?: () => number;
}

const CONNECTION_STATES: Record<GatewayStatus["state"], ConnectionState> = {
  connecting: ConnectionState.CONNECTION_STATE_CONNECTING,
  connected: ConnectionState.CONNECTION_STATE_CONNECTED,
  lost: ConnectionState.CONNECTION_STATE_LOST,
  reconnecting: ConnectionState.CONNECTION_STATE_RECONNECTING,
  disconnected: ConnectionState.CONNECTION_STATE_DISCONNECTED,
};

const SUBSCRIPTION_KINDS: Record<SubscriptionSnapshot["kind"], SubscriptionKind> = {
  candle: SubscriptionKind.SUBSCRIPTION_KIND_CANDLE,
  trade: SubscriptionKind.SUBSCRIPTION_KIND_TRADE,
  orderBook: SubscriptionKind.SUBSCRIPTION_KIND_ORDER_BOOK,
  tick: SubscriptionKind.SUBSCRIPTION_KIND_TICK,
  account: SubscriptionKind.SUBSCRIPTION_KIND_ACCOUNT,
  orders: SubscriptionKind.SUBSCRIPTION_KIND_ORDERS,
};

const CONFIG_SUBSCRIPTION_KINDS: Record<SubscriptionType, SubscriptionKind> = {
  PROVIDER_MARKETDATA_CANDLE: SubscriptionKind.SUBSCRIPTION_KIND_CANDLE,
  PROVIDER_MARKETDATA_TRADE: SubscriptionKind.SUBSCRIPTION_KIND_TRADE,
  PROVIDER_MARKETDATA_ORDERBOOK: SubscriptionKind.SUBSCRIPTION_KIND_ORDER_BOOK,
};

/** RuntimeService: fully served from configuration, connection state and the calls' outcomes. */
export class RuntimeService {
  constructor(
    private readonly sources: RuntimeSources,
    private readonly recentErrors?: Pick<RecentErrors, "list">,
  ) {}

  private now(): number {
    return this.sources.now?.() ?? Date.now();
  }

  async getRuntimeProof(): Promise<GetRuntimeProofResponse> {
    const gateway = this.sources.gateway();
    const now = this.now();
    return {
      connectorType: "ib",
      gatewayMode: gateway === undefined ? GatewayMode.GATEWAY_MODE_UNSPECIFIED : gateway.mode === "real" ? GatewayMode.GATEWAY_MODE_REAL : GatewayMode.GATEWAY_MODE_SIMULATOR,
      gatewayAddress: gateway === undefined ? "" : formatAddress(gateway.host, gateway.port),
      connectionState: gateway === undefined ? ConnectionState.CONNECTION_STATE_DISCONNECTED : CONNECTION_STATES[gateway.state],
      serverVersion: gateway?.state === "connected" ? gateway.serverVersion : 0,
      managedAccounts: gateway?.managedAccounts ?? [],
      activeAccount: gateway?.activeAccount ?? "",
      isPaper: gateway?.isPaper ?? false,
      clientId: gateway?.clientId ?? 0,
      startedAt: timestampFromMs(this.sources.startedAt.getTime()),
      uptime: durationFromMs(now - this.sources.startedAt.getTime()),
      connectedSince: gateway?.connectedSince === undefined ? undefined : timestampFromMs(gateway.connectedSince.getTime()),
      reconnectCount: gateway?.reconnectCount ?? 0,
      lastError: gateway?.lastError ?? "",
      subscriptions: this.subscriptionStatuses(now),
      serviceVersion: this.sources.serviceVersion,
      gatewayConnectionTime: gateway?.connectionTime ?? "",
      bus: busStatusOf(this.sources.bus?.()),
    };
  }

  async listConnectors(request: ListConnectorsRequest): Promise<ListConnectorsResponse> {
    const ib = this.sources.provider.ib;
    if (ib === undefined || (request.connectorType !== "" && request.connectorType !== "ib")) return { connectors: [] };
    const markets = ib.markets
      .filter((m) => request.marketType === "" || m.marketType === request.marketType)
      .map((m) => ({ marketType: m.marketType, symbols: m.symbols.map((s) => s.name) }));
    const connector: Connector = {
      connectorType: "ib",
      enabled: ib.enabled,
      markets,
      subscriptions: ib.subscriptions.map((s) => ({
        type: s.type,
        kind: CONFIG_SUBSCRIPTION_KINDS[s.type],
        symbols: s.symbols,
        intervals: s.intervals ?? [],
        active: s.active,
      })),
    };
    return { connectors: request.marketType !== "" && markets.length === 0 ? [] : [connector] };
  }

  async listSubscriptions(): Promise<ListSubscriptionsResponse> {
    return { subscriptions: this.subscriptionStatuses(this.now()) };
  }

  async listRecentErrors(): Promise<ListRecentErrorsResponse> {
    return {
      errors: (this.recentErrors?.list() ?? []).map((e) => ({ time: timestampFromMs(e.atMs), method: e.method, client: e.client, code: status[e.code] ?? String(e.code), reason: e.reason, message: e.message })),
    };
  }

  private subscriptionStatuses(now: number): SubscriptionStatus[] {
    return this.sources.subscriptions().map((s) => ({
      key: s.key,
      kind: SUBSCRIPTION_KINDS[s.kind],
      marketType: s.marketType,
      symbol: s.symbol,
      interval: s.interval,
      consumers: s.consumers,
      configured: s.configured,
      lastMessageTime: s.lastMessageAt === undefined ? undefined : timestampFromMs(s.lastMessageAt.getTime()),
      lastMessageAge: s.lastMessageAt === undefined ? undefined : durationFromMs(Math.max(0, now - s.lastMessageAt.getTime())),
      state: s.state,
      requestedAtIb: s.requestedAtIb,
      waitingFor: s.waiting?.message ?? "",
      waitingUntil: s.waiting?.untilMs === undefined ? undefined : timestampFromMs(s.waiting.untilMs),
      lastSequence: String(s.lastSequence),
      epoch: String(s.epoch),
    }));
  }
}

function busStatusOf(bus: ReturnType<NonNullable<RuntimeSources["bus"]>>): BusStatus | undefined {
  if (bus === undefined) return undefined;
  return { address: bus.address, connected: bus.connected, subjectPrefix: bus.subjectPrefix, published: String(bus.published), queued: String(bus.queued), shed: String(bus.shed) };
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
