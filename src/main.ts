import { existsSync } from "node:fs";
import { startApp, type RunningApp } from "./app.js";
import { ConfigError } from "./config/configError.js";
import { loadConfig } from "./config/loadConfig.js";
import { GatewayFatalError } from "./ib/connection/gatewayConnection.js";
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
  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  /** One shutdown, whichever asks first (a signal or a fatal Gateway loss); the worst exit code wins. */
  const shutdown = (reason: string, code: number) => {
    exitCode = Math.max(exitCode, code);
    if (stopping !== undefined) return;
    log.info({ reason }, "shutting down");
    stopping = (app?.stop() ?? Promise.resolve()).then(
      () => {
        log.info("stopped");
        process.exit(exitCode);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    if (stopping !== undefined) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    shutdown(signal, 0);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  try {
    // A fatal loss (e.g. the account is no longer managed) exits non-zero so that a supervisor restarts
    // the service once the Gateway is fixed, also when it happens while the service is still starting.
    app = await startApp(config, log, () => shutdown("the Gateway connection cannot be used any more", 1));
  } catch (err) {
    log.fatal({ err: err instanceof GatewayFatalError ? undefined : err }, err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
  if (stopping !== undefined) {
    // Asked to stop while starting: the app did not exist yet, stop it now.
    await app.stop();
    process.exit(exitCode);
  }
}

void main();
