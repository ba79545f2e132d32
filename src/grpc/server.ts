import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Server, ServerCredentials, type ServerInterceptor, type ServiceDefinition } from "@grpc/grpc-js";
import { HealthService } from "../../gen/grpc/health/v1/health.js";
import { AccountServiceService } from "../../gen/ibprovider/v1/account_service.js";
import { MarketDataServiceService } from "../../gen/ibprovider/v1/market_data_service.js";
import { RuntimeServiceService } from "../../gen/ibprovider/v1/runtime_service.js";
import { SymbolServiceService } from "../../gen/ibprovider/v1/symbol_service.js";
import { StoreServiceService } from "../../gen/ibprovider/v1/store_service.js";
import { OrderServiceService } from "../../gen/ibprovider/v1/order_service.js";
import type { Logger } from "../log/logger.js";
import type { TokenAuthenticator } from "./auth.js";
import { AccessLog } from "./accessLog.js";
import { RecentErrors } from "./recentErrors.js";
import { authInterceptor } from "./authInterceptor.js";
import { deadlineInterceptor } from "./callDeadline.js";
import { CallRegistry } from "./callContext.js";
import { StreamQuotas } from "./streamQuotas.js";
import type { ClientConfig } from "../config/clientsFile.js";
import type { HandlerDeps } from "./handlers.js";
import { bindService, notBuilt, serviceName, type ServiceImplementation } from "./serviceBinding.js";
import { addReflection, type ReflectionLimits, type ReflectionStreams } from "./reflection.js";
import { HealthChecks, type HealthWatchLimits } from "./services/healthChecks.js";
import { RuntimeService, type RuntimeSources } from "./services/runtimeService.js";
import { SymbolService, type InstrumentSource } from "./services/symbolService.js";
import type { DiscoverySource } from "./services/discoverySource.js";
import { MarketDataService, type MarketDataSource } from "./services/marketDataService.js";
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from "../stream/streamSettings.js";
import { AccountService, type AccountSource } from "./services/accountService.js";
import { StoreService, type StoreSource } from "./services/storeService.js";
import { OrderService, type OrderSource } from "./services/orderService.js";
import type { OrderDesk } from "../ib/orders/orderDesk.js";
import { unimplemented } from "./apiError.js";

export interface GrpcServerOptions {
  host: string;
  /** 0 = ephemeral (tests). */
  port: number;
  auth: TokenAuthenticator;
  /** The named clients' quotas (those not named, e.g. `anonymous`, get DEFAULT_CLIENT_QUOTAS). */
  clients?: readonly ClientConfig[];
  log: Logger;
  runtime: RuntimeSources;
  /** The IB adapter (instruments, market data, account). */
  adapter: InstrumentSource & DiscoverySource & MarketDataSource & AccountSource;
  /** Backfills into the store (the adapter); without it StoreService answers UNIMPLEMENTED. */
  store?: StoreSource;
  streams?: StreamSettings;
  tls?: { certFile: string; keyFile: string } | undefined;
  /** How long shutdown lets unary calls finish before cancelling everything. */
  shutdownGraceMs?: number;
  /** Access log lines at info (ACCESS_LOG=on) instead of debug. */
  accessLog?: boolean;
  /** Open grpc.health.v1 Watch streams per connection and in total (default DEFAULT_HEALTH_WATCH_LIMITS). */
  healthWatchLimits?: HealthWatchLimits;
  /** Open reflection streams per connection and in total (default DEFAULT_REFLECTION_LIMITS). */
  reflectionLimits?: ReflectionLimits;
  /**
   * Interceptors run after authentication (a seam: tests add one that passes on a clone of the metadata,
   * as a future interceptor might, to prove that a call whose client is lost fails closed).
   */
  interceptorsAfterAuth?: ServerInterceptor[];
  /** Orders: the adapter's desk and its instruments; without them OrderService answers UNIMPLEMENTED. */
  orders?: { desk: OrderDesk; source: OrderSource };
  /** The provider role's lease secret (HandlerDeps.leaseSecret): streams its bus code opens for edges. */
  leaseSecret?: string;
}

const NO_STORE: StoreSource = {
  backfill: () => {
    throw unimplemented("StoreService.Backfill", "not available: this server has no store");
  },
};

/** Our built services, by the names health checks and reflection know them under. */
export const SERVICE_NAMES = [MarketDataServiceService, AccountServiceService, SymbolServiceService, RuntimeServiceService, StoreServiceService].map(serviceName);

/**
 * OrderService: built over an order desk (GrpcServerOptions.orders) and then reported by health checks like
 * the others; a server without one (tests of other services) registers its contract with every method
 * UNIMPLEMENTED (NOT_IMPLEMENTED), and health checks do not report it (Check says NOT_FOUND).
 */
export const ORDER_SERVICE_NAME = serviceName(OrderServiceService);

/**
 * The gRPC host: auth interceptor, grpc.health.v1, reflection, our services, and a shutdown that
 * actively ends open streams (grpc-js's tryShutdown would otherwise wait forever on live feeds).
 */
export class GrpcServer {
  readonly health: HealthChecks;
  private readonly server: Server;
  private readonly calls = new CallRegistry();
  /** Open streams per client (tests read it to see places given back). */
  readonly quotas: StreamQuotas;
  private readonly deps: HandlerDeps;
  /** The last failed calls with their reasons (RuntimeService.ListRecentErrors, the console's overview). */
  readonly recentErrors = new RecentErrors();
  private readonly streams: StreamSettings;
  private boundPort: number | undefined;
  private reflection: ReflectionStreams | undefined;

  constructor(private readonly options: GrpcServerOptions) {
    this.health = new HealthChecks(options.orders === undefined ? SERVICE_NAMES : [...SERVICE_NAMES, ORDER_SERVICE_NAME], options.healthWatchLimits);
    this.quotas = new StreamQuotas(options.clients);
    const accessLog = new AccessLog(options.log, options.accessLog);
    this.server = new Server({ interceptors: [authInterceptor(options.auth, accessLog), deadlineInterceptor(), ...(options.interceptorsAfterAuth ?? [])] });
    this.streams = options.streams ?? DEFAULT_STREAM_SETTINGS;
    this.deps = { calls: this.calls, log: options.log, streams: this.streams, accessLog, quotas: this.quotas, authenticated: options.auth.enabled, recentErrors: this.recentErrors, ...(options.leaseSecret === undefined ? {} : { leaseSecret: options.leaseSecret }) };
    this.registerServices();
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error("server not started");
    return this.boundPort;
  }

  /** Open reflection streams: in total, and on the busiest connection. */
  get openReflections(): { total: number; maxPerConnection: number } {
    return this.reflection?.open ?? { total: 0, maxPerConnection: 0 };
  }

  get address(): string {
    return `${this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host}:${this.port}`;
  }

  private registerServices(): void {
    const { adapter, runtime } = this.options;
    const add = <D extends ServiceDefinition>(definition: D, service: ServiceImplementation<D>) => this.server.addService(...bindService(definition, service, this.deps));
    add(RuntimeServiceService, new RuntimeService(runtime, this.recentErrors));
    add(MarketDataServiceService, new MarketDataService(adapter, this.streams));
    add(AccountServiceService, new AccountService(runtime.provider, adapter, this.streams));
    add(SymbolServiceService, new SymbolService(runtime.provider, adapter));
    add(StoreServiceService, new StoreService(this.options.store ?? NO_STORE));
    const { orders } = this.options;
    add(OrderServiceService, orders === undefined ? notBuilt(OrderServiceService) : new OrderService(orders.desk, orders.source, this.options.log.child({ component: "orders" }), this.streams));
    add(HealthService, this.health);
    this.reflection = addReflection(this.server, this.options.reflectionLimits);
  }

  async start(): Promise<number> {
    const credentials =
      this.options.tls === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(null, [
            { private_key: readFileSync(this.options.tls.keyFile), cert_chain: readFileSync(this.options.tls.certFile) },
          ]);
    const target = `${this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host}:${this.options.port}`;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(target, credentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
    return this.boundPort;
  }

  /**
   * Graceful shutdown: health turns NOT_SERVING, every open stream ends with UNAVAILABLE "server is
   * shutting down" (handlers' finally blocks release their subscriptions), unary calls get the grace
   * period to finish, then anything left is cancelled.
   */
  async shutdown(): Promise<void> {
    this.health.setAllNotServing();
    await sleep(10); // let Watch streams flush NOT_SERVING before they end
    this.calls.abortAll("stream");
    const grace = this.options.shutdownGraceMs ?? 5_000;
    const drained = new Promise<boolean>((resolve) => this.server.tryShutdown(() => resolve(true)));
    const timedOut = sleep(grace, false, { ref: false });
    if (!(await Promise.race([drained, timedOut]))) {
      this.options.log.warn({ openCalls: this.calls.size }, "shutdown grace period over: cancelling remaining calls");
      this.calls.abortAll();
      await sleep(10);
      this.server.forceShutdown();
    }
  }
}
