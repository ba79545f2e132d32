/**
 * The edge role in a process of its own, for tests that kill it (kill -9 in the middle of its clients'
 * streams): configured from its environment as src/edge/main.ts is (BUS_URL, ports, token). Prints
 * "grpc <port>" once serving; runs until killed.
 */
import { createWriteStream } from "node:fs";
import { loadConfig } from "../config/loadConfig.js";
import { SERVICE_VERSION } from "../config/serviceVersion.js";
import { startEdge } from "../edge/edgeApp.js";
import { createLogger } from "../log/logger.js";

// EDGE_TEST_LOG=<file>: the edge's log (debug) there, for a test being diagnosed.
const logFile = process.env.EDGE_TEST_LOG;
const log = logFile === undefined ? createLogger("silent") : createLogger("debug", { destination: createWriteStream(logFile), format: "json" });
const edge = await startEdge(loadConfig({ env: process.env }), SERVICE_VERSION, log);
process.stdout.write(`grpc ${edge.grpc.port}\n`);

// Not outliving the test run (see appProcess.ts).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1_000).unref();
