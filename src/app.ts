import { readFileSync } from "node:fs";
import type { AppConfig } from "./config/loadConfig.js";
import { TokenAuthenticator } from "./grpc/auth.js";
import { GrpcServer } from "./grpc/server.js";
import { ConfiguredSubscriptions } from "./configuredSubscriptions.js";
import { IbAdapter } from "./ib/ibAdapter.js";
import type { Logger } from "./log/logger.js";

export const SERVICE_VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** The simulated Gateway as the app uses it (src/simulator). */
interface RunningSimulator {
  host: string;
  port: number;
  close(): Promise<void>;
}

export interface RunningApp {
  grpc: GrpcServer;
  adapter: IbAdapter;
  simulator: RunningSimulator | undefined;
  stop(): Promise<void>;
}

/**
 * Wires the service: the Gateway (real at IB_GATEWAY_URL, or the embedded simulator when it is unset:
 * never a fallback from one to the other), the IB connection and the gRPC server.
 */
export async function startApp(config: AppConfig, log: Logger, onFatal: (message: string) => void = () => undefined): Promise<RunningApp> {
  const startedAt = new Date();
  let simulator: RunningSimulator | undefined;
  let target = config.gateway;
  if (target === undefined) {
    const { startSimulator } = await import("./simulator/index.js");
    simulator = await startSimulator({ host: "127.0.0.1", port: config.env.SIMULATOR_PORT, seed: config.env.SIMULATOR_SEED });
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
  });

  const grpc = new GrpcServer({
    host: config.env.GRPC_HOST,
    port: config.env.GRPC_PORT,
    auth: new TokenAuthenticator(config.apiToken),
    log: log.child({ component: "grpc" }),
    tls: config.tls,
    shutdownGraceMs: config.env.SHUTDOWN_GRACE_MS,
    runtime: {
      provider: config.provider,
      startedAt,
      serviceVersion: SERVICE_VERSION,
      gateway: () => adapter.status,
      subscriptions: () => adapter.subscriptions(),
    },
    adapter,
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
  try {
    await adapter.start();
    await configured.start();
    await grpc.start();
  } catch (err) {
    configured.stop();
    adapter.stop();
    await simulator?.close();
    throw err;
  }
  if (config.apiToken === undefined) {
    log.warn({ grpc: grpc.address }, "PROVIDER_API_TOKEN is not set: authentication is off and the service listens on loopback only");
  }
  log.info({ grpc: grpc.address, tls: config.tls !== undefined, auth: config.apiToken !== undefined, version: SERVICE_VERSION }, "ib-provider is serving");

  return {
    grpc,
    adapter,
    simulator,
    async stop() {
      await grpc.shutdown();
      configured.stop();
      adapter.stop();
      await simulator?.close();
    },
  };
}
