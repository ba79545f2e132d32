import { SERVICE_VERSION } from "../config/serviceVersion.js";
import { BusUnavailableError } from "../bus/busUnavailableError.js";
import { loadConfigOrExit } from "../config/loadConfigOrExit.js";
import { createLogger } from "../log/logger.js";
import { startEdge, type RunningEdge } from "./edgeApp.js";

/** `npm run edge`: the edge role (docs/deploy.md). Reads .env like `npm start`; BUS_URL is required. */
async function main(): Promise<void> {
  const config = loadConfigOrExit("ib-provider edge");
  if (config.bus === undefined) {
    process.stderr.write("ib-provider edge: BUS_URL is not set: an edge serves what its provider publishes on the bus (npm start runs the all-in-one process)\n");
    process.exit(2);
  }
  const log = createLogger(config.env.LOG_LEVEL, { format: config.env.LOG_FORMAT });
  for (const warning of config.warnings) log.warn(warning);
  let edge: RunningEdge;
  try {
    edge = await startEdge(config, SERVICE_VERSION, log);
  } catch (err) {
    if (err instanceof BusUnavailableError) {
      process.stderr.write(`ib-provider edge: ${err.message}\n`);
      process.exit(1);
    }
    log.fatal({ err }, err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, "shutting down");
    edge.stop().then(
      () => process.exit(0),
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
