import { startApp, type RunningApp } from "../app.js";
import { loadConfig } from "../config/loadConfig.js";
import { createLogger } from "../log/logger.js";

/**
 * The whole service as `npm start` runs it (repository config, embedded simulated Gateway) on ephemeral
 * loopback ports, with an API token so that SDKs prove they send it.
 */
export function startSimulatedService(token: string): Promise<RunningApp> {
  const config = loadConfig({ env: { PROVIDER_API_TOKEN: token, GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", REST_PORT: "0", SIMULATOR_PORT: "0" } });
  return startApp(config, createLogger("silent"));
}
