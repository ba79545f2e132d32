import { setLogger } from "@grpc/grpc-js";
import { startApp, type RunningApp } from "./app.js";
import { BusUnavailableError } from "./bus/busUnavailableError.js";
import { listenProblemOf } from "./config/listenProblem.js";
import { loadConfigOrExit } from "./config/loadConfigOrExit.js";
import { GatewayFatalError } from "./ib/connection/gatewayConnection.js";
import { createLogger, type Logger } from "./log/logger.js";

/** `npm start`: reads .env (real environment variables win), validates config, serves until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfigOrExit("ib-provider");
  const log = createLogger(config.env.LOG_LEVEL, { format: config.env.LOG_FORMAT });
  routeGrpcJsLogs(log);
  for (const warning of config.warnings) log.warn(warning);
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
    app = await startApp(config, log, (reason) => shutdown(reason, 1));
  } catch (err) {
    // A port in use (or a host not of this machine) is a setting to change, not a bug: one line naming
    // the variable, on stderr like the config errors, no stack.
    const listenProblem = listenProblemOf(err, config.env, config.gateway === undefined);
    if (listenProblem !== undefined) {
      process.stderr.write(`ib-provider: ${listenProblem}\n`);
      process.exit(2);
    }
    // The bus is away or has no JetStream: one line naming BUS_URL and the address; exit 1 (a supervisor retries).
    if (err instanceof BusUnavailableError) {
      process.stderr.write(`ib-provider: ${err.message}\n`);
      process.exit(1);
    }
    log.fatal({ err: err instanceof GatewayFatalError ? undefined : err }, err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
  if (stopping !== undefined) {
    // Asked to stop while starting: the app did not exist yet, stop it now.
    await app.stop();
    process.exit(exitCode);
  }
}

/**
 * grpc-js writes its own errors to stderr as bare "E …" lines; they go to our log instead (one format,
 * redaction). Its "No address added" line only announces the bind error main reports itself. Its info and
 * debug lines (GRPC_VERBOSITY / GRPC_TRACE, asked for explicitly) stay on stderr as grpc-js writes them.
 */
function routeGrpcJsLogs(log: Logger): void {
  const grpcLog = log.child({ component: "grpc-js" });
  const text = (message: unknown, rest: unknown[]) => [message, ...rest].map(String).join(" ");
  setLogger({
    error: (message?: unknown, ...rest: unknown[]) => {
      const line = text(message, rest);
      if (line.startsWith("No address added")) grpcLog.debug(line);
      else grpcLog.error(line);
    },
    info: (message?: unknown, ...rest: unknown[]) => console.error(`I ${String(message)}`, ...rest),
    debug: (message?: unknown, ...rest: unknown[]) => console.error(`D ${String(message)}`, ...rest),
  } as Partial<Console> as Console);
}

void main();
