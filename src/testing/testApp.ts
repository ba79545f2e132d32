import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type RunningApp } from "../app.js";
import { loadConfig, type AppConfig } from "../config/loadConfig.js";
import { createLogger, type Logger } from "../log/logger.js";
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from "../simulator/index.js";

export interface TestAppOptions {
  /** PROVIDER_API_TOKEN; without one, authentication is off (and the app serves loopback only). */
  token?: string;
  /** More environment variables, as an operator would set them (STREAM_*, IB_MARKET_DATA_TYPE, …). */
  env?: Record<string, string>;
  /** A clients file's content (PROVIDER_CLIENTS_FILE: names, token digests, quotas), written to a temporary file. */
  clients?: unknown;
  /** A provider config (config.provider.json's content), written to a temporary file; default: the repository's. */
  provider?: unknown;
  /**
   * A simulated Gateway of the test's own, reached through IB_GATEWAY_URL like a real one (the app then
   * says its Gateway is real). Without it the app starts its embedded simulator, as `npm start` does.
   */
  simulator?: SimulatorOptions;
  /** IB's historical pacing windows over IB's own (AppConfig.historicalPacing); scale the simulator's limits to match. */
  historicalPacing?: AppConfig["historicalPacing"];
  /** Default: silent. */
  log?: Logger;
}

export interface TestApp {
  app: RunningApp;
  /** The test's own simulator (options.simulator), undefined when the app runs its embedded one. */
  simulator: SimulatorHandle | undefined;
  /** host:port of the gRPC server. */
  grpcAddress: string;
  /** Stops the app, the simulator and removes the temporary files. */
  stop(): Promise<void>;
}

/**
 * The whole service (src/app.ts startApp: adapter, gRPC server, REST bridge) on ephemeral loopback ports
 * against a simulated Gateway, configured through loadConfig like the real one, from an environment of
 * its own (never the test process's).
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  // Stock books and quotes keep moving outside market hours, so that tests pass at any hour of the week.
  const env: Record<string, string> = { GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", REST_HOST: "127.0.0.1", REST_PORT: "0", SIMULATOR_PORT: "0", SIMULATOR_CLOSED_MARKETS: "live", STORE_PATH: ":memory:" };
  if (options.token !== undefined) env.PROVIDER_API_TOKEN = options.token;
  let configDir: string | undefined;
  let simulator: SimulatorHandle | undefined;
  const cleanUp = async () => {
    await simulator?.close();
    if (configDir !== undefined) rmSync(configDir, { recursive: true, force: true });
  };
  try {
    if (options.provider !== undefined || options.clients !== undefined) configDir = mkdtempSync(join(tmpdir(), "ibp-test-app-"));
    if (options.clients !== undefined) {
      env.PROVIDER_CLIENTS_FILE = join(configDir!, "clients.json");
      writeFileSync(env.PROVIDER_CLIENTS_FILE, JSON.stringify(options.clients));
    }
    if (options.provider !== undefined) {
      env.PROVIDER_CONFIG_FILE = join(configDir!, "config.provider.json");
      writeFileSync(env.PROVIDER_CONFIG_FILE, JSON.stringify(options.provider));
    }
    if (options.simulator !== undefined) {
      simulator = await startSimulator({ ...options.simulator, host: "127.0.0.1", port: 0 });
      env.IB_GATEWAY_URL = `127.0.0.1:${simulator.port}`;
    }
    const loaded = loadConfig({ env: { ...env, ...options.env } });
    const config: AppConfig = { ...loaded, historicalPacing: { ...loaded.historicalPacing, ...options.historicalPacing } };
    const app = await startApp(config, options.log ?? createLogger("silent"));
    return {
      app,
      simulator,
      grpcAddress: `127.0.0.1:${app.grpc.port}`,
      stop: async () => {
        await app.stop();
        await cleanUp();
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
