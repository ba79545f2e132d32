/**
 * The service in a process of its own, for tests that kill it (kill -9 in the middle of a backfill):
 * configured from its environment as src/main.ts is (STORE_PATH, IB_GATEWAY_URL, ports, …), plus IB's
 * historical pacing windows as JSON in argv[2] — the environment deliberately cannot scale IB's windows
 * (loadConfig), and a test cannot wait out IB's 10 minutes. Prints "grpc <port>" once serving; runs until
 * killed.
 */
import { createWriteStream } from "node:fs";
import { startApp } from "../app.js";
import { loadConfig } from "../config/loadConfig.js";
import { createLogger } from "../log/logger.js";

const pacing = JSON.parse(process.argv[2] ?? "{}") as NonNullable<ReturnType<typeof loadConfig>["historicalPacing"]>;
const config = loadConfig({ env: process.env });
// APP_TEST_LOG=<file>: the service's log (debug) there, for a test being diagnosed.
const logFile = process.env.APP_TEST_LOG;
const log = logFile === undefined ? createLogger("silent") : createLogger("debug", { destination: createWriteStream(logFile, { flags: "a" }), format: "json" });
const app = await startApp({ ...config, historicalPacing: { ...config.historicalPacing, ...pacing } }, log);
process.stdout.write(`grpc ${app.grpc.port}\n`);

// Not outliving the test run: should the test process die without killing this one (a crashed or killed
// vitest), this process is re-parented and ends itself.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1_000).unref();
