import type { BusSettings } from "../bus/busSettings.js";
import type { EdgeBus } from "../bus/edgeBus.js";
import type { AppConfig } from "../config/loadConfig.js";
import { TokenAuthenticator } from "../grpc/auth.js";
import { loadDescriptorSet } from "../grpc/descriptorImage.js";
import type { Logger } from "../log/logger.js";
import { grpcDialOf } from "../rest/grpcDial.js";
import { RestServer } from "../rest/restServer.js";
import { isLoopbackHost } from "../config/gatewayUrl.js";
import { apiMethods } from "./callableMethods.js";
import { EdgeGrpcServer } from "./edgeGrpcServer.js";
import { watchEdgeLeases } from "./edgeMetrics.js";

export interface RunningEdge {
  grpc: EdgeGrpcServer;
  rest: RestServer;
  bus: EdgeBus;
  stop(): Promise<void>;
}

/**
 * The edge role (`npm run edge`, BUS_URL required): the whole gRPC API and REST bridge with no IB
 * connection; unary calls answered by the provider over the bus. The same variables as the service for
 * ports, tokens, TLS and CORS; many edges, one provider per IB account (per BUS_SUBJECT_PREFIX).
 */
export async function startEdge(config: AppConfig, serviceVersion: string, log: Logger): Promise<RunningEdge> {
  if (config.bus === undefined) throw new Error("the edge role needs BUS_URL (the bus its provider publishes on)");
  const settings: BusSettings = config.bus;
  const { connectEdgeBus } = await import("../bus/edgeBus.js");
  let grpcOfBus: EdgeGrpcServer | undefined;
  const bus = await connectEdgeBus(settings, log.child({ component: "bus" }), (up) => {
    grpcOfBus?.health.setServicesServing(up);
    grpcOfBus?.busConnection(up);
  });
  const startedAt = new Date();
  const auth = new TokenAuthenticator(config.clients);
  const descriptors = loadDescriptorSet();
  const grpc = new EdgeGrpcServer({
    host: config.env.GRPC_HOST,
    port: config.env.GRPC_PORT,
    auth,
    log: log.child({ component: "grpc" }),
    tls: config.tls,
    accessLog: config.env.ACCESS_LOG,
    methods: apiMethods(descriptors),
    forward: (call, cancelled) => bus.call(call, cancelled),
    feeds: bus,
    streamSettings: { heartbeatMs: config.streams.heartbeatMs, staleAfterMs: config.streams.staleAfterMs, maxDrainWaitMs: config.streams.maxDrainWaitMs, snapshotEveryMs: config.store.snapshotEveryMs },
  });
  grpcOfBus = grpc;
  const unwatchLeases = watchEdgeLeases(() => bus.leases());
  let rest: RestServer | undefined;
  try {
    await grpc.start();
    rest = new RestServer({
      host: config.env.REST_HOST,
      port: config.env.REST_PORT,
      log: log.child({ component: "rest" }),
      descriptors,
      grpc: grpcDialOf(config.env.GRPC_HOST, grpc.port, config.tls),
      auth,
      // An edge is ready while its bus is: the provider's own readiness is the provider's.
      readiness: () => ({ ready: bus.isConnected(), detail: { role: "edge", bus: { connected: bus.isConnected() } } }),
      tls: config.tls,
      corsOrigins: config.corsOrigins,
      streams: config.streams,
      accessLog: config.env.ACCESS_LOG,
      serviceVersion,
      startedAt,
    });
    await rest.start();
  } catch (err) {
    await rest?.stop(0);
    await grpc.stop(0);
    await bus.close();
    unwatchLeases();
    throw err;
  }
  if (config.clients.length === 0) log.warn({ rest: rest.url }, "PROVIDER_API_TOKEN is not set: authentication is off and the edge listens on loopback only");
  if (config.tls === undefined && !(isLoopbackHost(config.env.REST_HOST) && isLoopbackHost(config.env.GRPC_HOST))) {
    log.warn("serving beyond loopback without TLS: the API token crosses the network in clear");
  }
  log.info({ grpc: `${config.env.GRPC_HOST}:${grpc.port}`, rest: `${rest.url}/api`, bus: settings.url, version: serviceVersion }, "ib-provider edge is serving");
  const running = rest;
  return {
    grpc,
    rest: running,
    bus,
    stop: async () => {
      await running.stop(config.env.SHUTDOWN_GRACE_MS);
      await grpc.stop(config.env.SHUTDOWN_GRACE_MS);
      await bus.close();
      unwatchLeases();
    },
  };
}
