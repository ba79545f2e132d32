import { existsSync } from "node:fs";
import { startApp, type RunningApp } from "./app.js";
import { ConfigError } from "./config/configError.js";
import { loadConfig } from "./config/loadConfig.js";
import { GatewayFatalError } from "./ib/gatewayConnection.js";
import { createLogger } from "./log/logger.js";

/** `npm start`: reads .env (real environment variables win), validates config, serves until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ib-provider: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.env.LOG_LEVEL);
  if (config.provider.ignoredConnectors.length > 0) {
    log.info({ connectors: config.provider.ignoredConnectors }, "config lists other connectors; this service serves only \"ib\"");
  }

  let app: RunningApp | undefined;
  try {
    app = await startApp(config, log, () => {
      // Exit non-zero so that a supervisor restarts the service once the Gateway is fixed.
      void app?.stop().finally(() => process.exit(1));
    });
  } catch (err) {
    log.fatal({ err: err instanceof GatewayFatalError ? undefined : err }, err instanceof Error ? err.message : String(err));
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    app.stop().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

void main();
