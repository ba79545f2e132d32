import { readFileSync } from "node:fs";
import type { AppConfig } from "./config/loadConfig.js";
import { TokenAuthenticator } from "./grpc/auth.js";
import { GrpcServer } from "./grpc/server.js";
import { ConfiguredSubscriptions } from "./configuredSubscriptions.js";
import { ConfiguredBackfill } from "./configuredBackfill.js";
import { IbAdapter } from "./ib/ibAdapter.js";
import type { Logger } from "./log/logger.js";
import { isLoopbackHost } from "./config/gatewayUrl.js";
import { loadDescriptorSet } from "./grpc/descriptorImage.js";
import { watchAdapterMetrics } from "./metrics/adapterMetrics.js";
import { grpcDialOf } from "./rest/grpcDial.js";
import { RestServer } from "./rest/restServer.js";
import { MarketStore } from "./store/marketStore.js";
import { OrderStore } from "./store/orderStore.js";
import { IN_MEMORY } from "./store/storeSettings.js";
import { watchStoreMetrics } from "./metrics/storeMetrics.js";
import { recordingCodec } from "./grpc/streamRenderings.js";
import { DEFAULT_RECORDING_SETTINGS } from "./stream/feedRecorder.js";
import { tappedJournalStore } from "./stream/feedTap.js";
import type { BusDirectory } from "./bus/busPublisher.js";
import type { ProviderBus } from "./bus/providerBus.js";
import type { Leadership } from "./bus/leadership.js";

export { SERVICE_VERSION } from "./config/serviceVersion.js";
import { SERVICE_VERSION } from "./config/serviceVersion.js";
import { RpcChannel } from "./rest/rpcChannel.js";
import { providerCalls } from "./edge/providerCalls.js";
import { providerLeases } from "./edge/providerLeases.js";
import { randomBytes } from "node:crypto";
import { unaryMethodsOf } from "./edge/callableMethods.js";

/** The simulated Gateway as the app uses it (src/simulator). */
interface RunningSimulator {
  host: string;
  port: number;
  close(): Promise<void>;
}

export interface RunningApp {
  grpc: GrpcServer;
  rest: RestServer;
  adapter: IbAdapter;
  store: MarketStore;
  simulator: RunningSimulator | undefined;
  /** The provider role's bus (BUS_URL set); undefined in the all-in-one process. */
  bus: ProviderBus | undefined;
  stop(): Promise<void>;
}

/** How long stopping waits for queued events to reach the bus (at most SHUTDOWN_GRACE_MS). */
const BUS_FLUSH_ON_STOP_MS = 2_000;

/**
 * Wires the service: the Gateway (real at IB_GATEWAY_URL, or the embedded simulator when it is unset:
 * never a fallback from one to the other), the IB connection, the gRPC server and the REST bridge in
 * front of it (a gRPC client of it, so REST gets the same auth, validation and errors).
 */
export async function startApp(config: AppConfig, log: Logger, onFatal: (message: string) => void = () => undefined): Promise<RunningApp> {
  const startedAt = new Date();
  // The provider role (BUS_URL): the bus first, so that an unreachable one stops start-up before anything
  // else runs. Without BUS_URL no NATS module is even loaded.
  let adapterOfBus: IbAdapter | undefined;
  const directory: BusDirectory = {
    account: () => adapterOfBus?.status.activeAccount,
    feed: (key) => {
      const found = adapterOfBus?.subscriptions().find((s) => s.key === key);
      return found === undefined ? undefined : { market: found.marketType, symbol: found.symbol };
    },
  };
  const bus = config.bus === undefined ? undefined : await (await import("./bus/providerBus.js")).startProviderBus(config.bus, directory, log.child({ component: "bus" }));
  // Then: a store that cannot be opened (permissions, a newer schema) stops start-up before anything listens.
  const storeLog = log.child({ component: "store" });
  let store: MarketStore;
  try {
    store = MarketStore.open(config.store.path, (err) => storeLog.error({ err }, "a store write failed; the service keeps serving, what it fetched will be asked of IB again"));
    // The provider role's recorders flush every BUS_FLUSH_MS for the bus; the store keeps its own pace.
    if (config.bus !== undefined) store.events.sendEveryMs = DEFAULT_RECORDING_SETTINGS.flushEveryMs;
  } catch (err) {
    await bus?.close(0);
    throw err;
  }
  // The provider role: one provider per prefix (one IB account). A standby waits here for the leader lease
  // (src/bus/leadership.ts) with no IB connection, no simulator and no port; the store is opened first so that
  // a standby with an unusable one stops at start, not at its takeover.
  let leadership: Leadership | undefined;
  let leadershipLost: string | undefined;
  if (bus !== undefined) {
    try {
      leadership = await bus.lead({
        onLost: (reason) => {
          leadershipLost = reason;
          // At once, not after the graceful stop: a standby may connect to the same IB account within a renewal.
          log.fatal({ reason, subjectPrefix: config.bus!.subjectPrefix }, "the leader lease is lost: the IB connection is stopped and the provider exits (code 1), so that two providers never hold one IB account");
          adapterOfBus?.stop();
          onFatal(`the leader lease is lost: ${reason}`);
        },
      });
    } catch (err) {
      store.close();
      await bus.close(0);
      throw err;
    }
  }
  let simulator: RunningSimulator | undefined;
  let target = config.gateway;
  if (target === undefined) {
    const { startSimulator } = await import("./simulator/index.js");
    simulator = await startSimulator({
      host: "127.0.0.1",
      port: config.env.SIMULATOR_PORT,
      seed: config.env.SIMULATOR_SEED,
      frozenWhenClosed: config.env.SIMULATOR_CLOSED_MARKETS === "frozen",
    }).catch(async (err: unknown) => {
      // SIMULATOR_PORT in use: nothing else was started; the store file is closed before the error surfaces.
      store.close();
      await leadership?.release();
      await bus?.close(0);
      throw err;
    });
    target = { host: simulator.host, port: simulator.port };
    log.warn({ gateway: `${simulator.host}:${simulator.port}`, seed: config.env.SIMULATOR_SEED }, "IB_GATEWAY_URL is not set: serving the embedded simulated IB Gateway (synthetic data)");
  }

  const adapter = new IbAdapter({
    mode: simulator === undefined ? "real" : "simulator",
    host: target.host,
    port: target.port,
    clientId: config.env.IB_CLIENT_ID,
    accountId: config.env.IB_ACCOUNT_ID,
    log: log.child({ component: "ib" }),
    provider: config.provider,
    marketDataType: config.env.IB_MARKET_DATA_TYPE,
    historicalPacing: config.historicalPacing,
    historyRequestQuotas: new Map(config.clients.map((c) => [c.name, c.quotas.historyRequests])),
    clientLines: config.ibLines,
    store: { candles: store.candles, settings: config.store, contracts: store.contracts },
    // Every shared feed is recorded as its stream sends it (replay, resume), old events deleted per kind in the
    // background; STORE_RECORDING=off records nothing (a stream asking for the past: REPLAY_UNAVAILABLE).
    // In the provider role the bus gets each recorded batch too: the same bytes, encoded once (stream/feedTap.ts).
    recording: config.store.recording
      ? { store: bus === undefined ? store.events : tappedJournalStore(store.events, bus.taps), codec: recordingCodec, settings: { ...DEFAULT_RECORDING_SETTINGS, snapshotEveryMs: config.store.snapshotEveryMs, ...(config.bus === undefined ? {} : { flushEveryMs: config.bus.flushEveryMs }) } }
      : undefined,
  });
  adapterOfBus = adapter;
  store.startRetention(config.store.retention);

  // Orders: claimed in the store's file (its own connection, fsynced) before IB is told; the rails from ORDERS_*.
  const orderStore = OrderStore.open(config.store.path);
  if (config.orderRails.enabled && config.store.path === IN_MEMORY) log.warn("orders are enabled with STORE_PATH=:memory:: a client order id is remembered until the process stops only (a retry after a restart would place the order again)");
  const orderDesk = adapter.orderDesk({ store: orderStore, rails: config.orderRails });

  const auth = new TokenAuthenticator(config.clients);
  // The provider's own lease streams (an edge's clients' streams held here, served there from the bus) carry it.
  const leaseSecret = bus === undefined ? undefined : randomBytes(24).toString("base64url");
  const grpc = new GrpcServer({
    ...(leaseSecret === undefined ? {} : { leaseSecret }),
    host: config.env.GRPC_HOST,
    port: config.env.GRPC_PORT,
    auth,
    clients: config.clients,
    log: log.child({ component: "grpc" }),
    tls: config.tls,
    shutdownGraceMs: config.env.SHUTDOWN_GRACE_MS,
    streams: config.streams,
    accessLog: config.env.ACCESS_LOG,
    runtime: {
      provider: config.provider,
      startedAt,
      serviceVersion: SERVICE_VERSION,
      gateway: () => adapter.status,
      subscriptions: () => adapter.subscriptions(),
      bus:
        bus === undefined || config.bus === undefined
          ? undefined
          : () => {
              const stats = bus.stats();
              return { address: config.bus!.url, subjectPrefix: config.bus!.subjectPrefix, connected: bus.isConnected(), published: stats.published, queued: stats.queued, shed: stats.shed + stats.unroutable + stats.tooLarge };
            },
    },
    adapter,
    store: adapter,
    orders: { desk: orderDesk, source: adapter },
  });

  // Health follows the Gateway: the services are NOT_SERVING while it is away, so orchestrators and load
  // balancers see what clients would; a fatal loss (account no longer managed) stops the process.
  adapter.connection.on("state", (state) => grpc.health.setServicesServing(state === "connected"));
  adapter.connection.on("fatal", ({ message }) => {
    log.fatal({ reason: message }, "the Gateway connection cannot be used any more; stopping");
    grpc.health.setServicesServing(false);
    onFatal(message);
  });

  const configured = new ConfiguredSubscriptions(config.provider, adapter, log.child({ component: "subscriptions" }));
  const configuredBackfill = new ConfiguredBackfill(config.provider, adapter, log.child({ component: "backfill" }));
  let rest: RestServer | undefined;
  let edgeCalls: RpcChannel | undefined;
  let grpcStarted = false;
  try {
    if (leadershipLost !== undefined) throw new Error(`the leader lease is lost: ${leadershipLost}`);
    await adapter.start();
    await configured.start();
    await grpc.start();
    grpcStarted = true;
    rest = new RestServer({
      host: config.env.REST_HOST,
      port: config.env.REST_PORT,
      log: log.child({ component: "rest" }),
      descriptors: loadDescriptorSet(),
      grpc: grpcDialOf(config.env.GRPC_HOST, grpc.port, config.tls),
      auth,
      readiness: () => {
        const gateway = adapter.status;
        // Ready follows the gRPC health status (connected); IB's own link (1100/1102) is shown beside it.
        // The bus is shown, not required: while it is away the provider still serves its own clients.
        return {
          ready: gateway.state === "connected",
          detail: { gateway: { mode: gateway.mode, state: gateway.state, ibConnectivity: gateway.ibConnectivity }, ...(bus === undefined ? {} : { bus: { connected: bus.isConnected() } }) },
        };
      },
      tls: config.tls,
      corsOrigins: config.corsOrigins,
      streams: config.streams,
      accessLog: config.env.ACCESS_LOG,
      serviceVersion: SERVICE_VERSION,
      startedAt,
    });
    await rest.start();
    // The provider role answers the edges' unary calls on its own gRPC server, as the REST bridge does.
    if (bus !== undefined) {
      const dial = grpcDialOf(config.env.GRPC_HOST, grpc.port, config.tls);
      edgeCalls = new RpcChannel(dial.target, dial.credentials, dial.channelOptions);
      bus.answerCalls(providerCalls(edgeCalls, unaryMethodsOf(loadDescriptorSet())));
      const leasing = bus;
      bus.answerLeases(providerLeases(edgeCalls, leaseSecret!, (key) => leasing.addressOf(key)));
    }
  } catch (err) {
    await rest?.stop(0);
    if (grpcStarted) await grpc.shutdown();
    configured.stop();
    configuredBackfill.stop();
    adapter.stop();
    await simulator?.close();
    await leadership?.release();
    await bus?.close(0);
    orderStore.close();
    store.close();
    throw err;
  }
  const unwatchMetrics = watchAdapterMetrics(adapter);
  const unwatchStoreMetrics = watchStoreMetrics({ store, cache: () => adapter.candleCacheStats() });
  if (config.clients.length === 0) {
    log.warn({ grpc: grpc.address, rest: rest.url }, "PROVIDER_API_TOKEN is not set: authentication is off and the service listens on loopback only");
  }
  if (config.tls === undefined && !(isLoopbackHost(config.env.REST_HOST) && isLoopbackHost(config.env.GRPC_HOST))) {
    log.warn("serving beyond loopback without TLS: the API token crosses the network in clear; set PROVIDER_TLS_CERT/PROVIDER_TLS_KEY or terminate TLS in front");
  }
  log.info({ grpc: grpc.address, rest: `${rest.url}/api`, tls: config.tls !== undefined, auth: config.clients.length > 0, clients: config.clients.map((c) => c.name), store: config.store.path, bus: config.bus?.url, version: SERVICE_VERSION }, "ib-provider is serving");
  // config.provider.json's backfill: in the background once the service serves, a client of the pacing queue like any other.
  void configuredBackfill.start();

  const restServer = rest;
  return {
    grpc,
    rest: restServer,
    adapter,
    store,
    simulator,
    bus,
    async stop() {
      // REST stops accepting first; its open streams end when the gRPC shutdown ends their calls.
      const restStopped = restServer.stop(config.env.SHUTDOWN_GRACE_MS);
      await grpc.shutdown();
      await restStopped;
      unwatchMetrics();
      unwatchStoreMetrics();
      configured.stop();
      configuredBackfill.stop();
      adapter.stop();
      await simulator?.close();
      // The IB connection is closed: a standby may take over at once (its lease released, not left to lapse).
      // What the feeds recorded until they closed goes to the bus (briefly: the rest is shed, and counted), then
      // the leader lease is released: a standby's rows come after this provider's last.
      await bus?.close(Math.min(BUS_FLUSH_ON_STOP_MS, config.env.SHUTDOWN_GRACE_MS), async () => leadership?.release());
      edgeCalls?.close();
      orderStore.close();
      // Last: what IB sent until the adapter stopped is committed.
      store.close();
    },
  };
}
