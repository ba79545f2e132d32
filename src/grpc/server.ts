import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Server, ServerCredentials, type UntypedHandleCall } from "@grpc/grpc-js";
import { HealthService } from "../../gen/grpc/health/v1/health.js";
import { AccountServiceService } from "../../gen/ibprovider/v1/account_service.js";
import { MarketDataServiceService } from "../../gen/ibprovider/v1/market_data_service.js";
import { RuntimeServiceService } from "../../gen/ibprovider/v1/runtime_service.js";
import { SymbolServiceService } from "../../gen/ibprovider/v1/symbol_service.js";
import type { Logger } from "../log/logger.js";
import type { TokenAuthenticator } from "./auth.js";
import { authInterceptor } from "./authInterceptor.js";
import { CallRegistry } from "./callContext.js";
import { serverStream, unary, unimplementedHandlers, type HandlerDeps } from "./handlers.js";
import { addReflection } from "./reflection.js";
import { acceptPreEncoded } from "./streamEncoding.js";
import { HealthChecks } from "./services/healthChecks.js";
import { RuntimeService, type RuntimeSources } from "./services/runtimeService.js";
import { SymbolService, type InstrumentSource } from "./services/symbolService.js";
import { MarketDataService, type MarketDataSource, type StreamSettings } from "./services/marketDataService.js";
import { AccountService, type AccountSource } from "./services/accountService.js";

export interface GrpcServerOptions {
  host: string;
  /** 0 = ephemeral (tests). */
  port: number;
  auth: TokenAuthenticator;
  log: Logger;
  runtime: RuntimeSources;
  /** The IB adapter (instruments, market data, account). */
  adapter: InstrumentSource & MarketDataSource & AccountSource;
  streams?: StreamSettings;
  tls?: { certFile: string; keyFile: string } | undefined;
  /** How long shutdown lets unary calls finish before cancelling everything. */
  shutdownGraceMs?: number;
}

export const SERVICE_NAMES = [
  "ibprovider.v1.MarketDataService",
  "ibprovider.v1.AccountService",
  "ibprovider.v1.SymbolService",
  "ibprovider.v1.RuntimeService",
];

/**
 * The gRPC host: auth interceptor, grpc.health.v1, reflection, our four services, and a shutdown that
 * actively ends open streams (grpc-js's tryShutdown would otherwise wait forever on live feeds).
 */
export class GrpcServer {
  readonly health = new HealthChecks(SERVICE_NAMES);
  private readonly server: Server;
  private readonly calls = new CallRegistry();
  private readonly deps: HandlerDeps;
  private boundPort: number | undefined;

  constructor(private readonly options: GrpcServerOptions) {
    this.server = new Server({ interceptors: [authInterceptor(options.auth)] });
    this.deps = { calls: this.calls, log: options.log };
    this.registerServices();
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error("server not started");
    return this.boundPort;
  }

  get address(): string {
    return `${this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host}:${this.port}`;
  }

  private registerServices(): void {
    const d = this.deps;
    const runtime = new RuntimeService(this.options.runtime);
    this.server.addService(acceptPreEncoded(RuntimeServiceService), {
      getRuntimeProof: unary("ibprovider.v1.RuntimeService.GetRuntimeProof", () => runtime.getRuntimeProof(), d),
      listConnectors: unary("ibprovider.v1.RuntimeService.ListConnectors", (req) => runtime.listConnectors(req), d),
      listSubscriptions: unary("ibprovider.v1.RuntimeService.ListSubscriptions", () => runtime.listSubscriptions(), d),
    });
    const marketData = new MarketDataService(this.options.adapter, this.options.streams);
    this.server.addService(
      acceptPreEncoded(MarketDataServiceService),
      unimplementedHandlers("ibprovider.v1.MarketDataService", MarketDataServiceService, {
        streamTicks: serverStream("ibprovider.v1.MarketDataService.StreamTicks", (req, ctx) => marketData.streamTicks(req, ctx), d),
        streamTrades: serverStream("ibprovider.v1.MarketDataService.StreamTrades", (req, ctx) => marketData.streamTrades(req, ctx), d),
        streamOrderBook: serverStream("ibprovider.v1.MarketDataService.StreamOrderBook", (req, ctx) => marketData.streamOrderBook(req, ctx), d),
        getOrderBook: unary("ibprovider.v1.MarketDataService.GetOrderBook", (req, ctx) => marketData.getOrderBook(req, ctx), d),
        streamCandles: serverStream("ibprovider.v1.MarketDataService.StreamCandles", (req, ctx) => marketData.streamCandles(req, ctx), d),
        getTrades: unary("ibprovider.v1.MarketDataService.GetTrades", (req, ctx) => marketData.getTrades(req, ctx), d),
        getCandles: unary("ibprovider.v1.MarketDataService.GetCandles", (req, ctx) => marketData.getCandles(req, ctx), d),
      }, d),
    );
    const account = new AccountService(this.options.runtime.provider, this.options.adapter, this.options.streams);
    this.server.addService(acceptPreEncoded(AccountServiceService), {
      listAccounts: unary("ibprovider.v1.AccountService.ListAccounts", () => account.listAccounts(), d),
      getAccount: unary("ibprovider.v1.AccountService.GetAccount", (req) => account.getAccount(req), d),
      listPositions: unary("ibprovider.v1.AccountService.ListPositions", (req) => account.listPositions(req), d),
      listAssets: unary("ibprovider.v1.AccountService.ListAssets", (req) => account.listAssets(req), d),
      streamAccount: serverStream("ibprovider.v1.AccountService.StreamAccount", (req, ctx) => account.streamAccount(req, ctx), d),
    });
    const symbols = new SymbolService(this.options.runtime.provider, this.options.adapter);
    this.server.addService(acceptPreEncoded(SymbolServiceService), {
      listSymbols: unary("ibprovider.v1.SymbolService.ListSymbols", (req) => symbols.listSymbols(req), d),
      getSymbol: unary("ibprovider.v1.SymbolService.GetSymbol", (req) => symbols.getSymbol(req), d),
    });
    const healthHandlers: Record<string, UntypedHandleCall> = {
      check: unary("grpc.health.v1.Health.Check", (req) => this.health.check(req), d),
      watch: serverStream("grpc.health.v1.Health.Watch", (req, ctx) => this.health.watch(req, ctx), d),
    };
    this.server.addService(acceptPreEncoded(HealthService), healthHandlers);
    addReflection(this.server);
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
