/**
 * CLI: `npm run simulator -- --port 4002 [--host 127.0.0.1] [--seed 42] [--tick-interval-ms 250] [--flood]
 *   [--accounts DU1234567,DU7654321] [--market-data-lines 100] [--delayed AAPL,MSFT] [--no-permission SPY] [--no-option-data]
 *   [--restart-after 60 --restart-downtime 10] [--connectivity-loss-after 30 --connectivity-loss-ms 5000 --data-lost]
 *   [--drop-every S] [--stall-every S --stall-ms N] [--depth-reset-every S] [--competing-session-every S]
 *   [--log-level info]`
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { DEFAULT_ACCOUNTS, type AccountConfig } from "./account.js";
import type { Entitlement } from "./market/types.js";
import { startSimulator } from "./index.js";
import { DEFAULT_SEED } from "./options.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "4002" },
    host: { type: "string", default: "127.0.0.1" },
    seed: { type: "string", default: String(DEFAULT_SEED) },
    "tick-interval-ms": { type: "string", default: "250" },
    flood: { type: "boolean", default: false },
    "live-when-closed": { type: "boolean", default: false },
    accounts: { type: "string" },
    "market-data-lines": { type: "string" },
    "max-depth": { type: "string" },
    "max-tick-by-tick": { type: "string" },
    "max-messages-per-sec": { type: "string" },
    delayed: { type: "string" },
    "no-permission": { type: "string" },
    "no-option-data": { type: "boolean", default: false },
    "historical-latency-ms": { type: "string" },
    "restart-after": { type: "string" },
    "restart-downtime": { type: "string", default: "10" },
    "connectivity-loss-after": { type: "string" },
    "connectivity-loss-ms": { type: "string", default: "5000" },
    "data-lost": { type: "boolean", default: false },
    "drop-every": { type: "string" },
    "stall-every": { type: "string" },
    "stall-ms": { type: "string", default: "3000" },
    "depth-reset-every": { type: "string" },
    "competing-session-every": { type: "string" },
    "competing-session-ms": { type: "string", default: "5000" },
    "log-level": { type: "string", default: "info" },
    help: { type: "boolean", default: false },
  },
  strict: true,
});

if (values.help) {
  process.stdout.write(
    [
      "Simulated IB Gateway (TWS API server version 176)",
      "  --port N                      listen port (default 4002; 0 = ephemeral)",
      "  --host H                      bind address (default 127.0.0.1)",
      `  --seed N                      market seed (same seed, same market; default ${DEFAULT_SEED})`,
      "  --tick-interval-ms N          L1 conflation / stream cadence (default 250)",
      "  --flood                       write L1 ticks as fast as the socket accepts",
      "  --live-when-closed            keep sizes and depth moving while a market is closed (default: frozen, as IB)",
      "  --accounts A,B                account ids (the first keeps the default positions)",
      "  --market-data-lines N         market data lines (default 100)",
      "  --max-depth N / --max-tick-by-tick N / --max-messages-per-sec N",
      "  --delayed SYM,SYM             delayed-only entitlement for these symbols",
      "  --no-permission SYM,SYM       no market data permission for these symbols",
      "  --no-option-data              no option market data permission (reqMktData on OPT/FOP → 354)",
      "  --historical-latency-ms N     answer historical requests after N ms",
      "  --restart-after S             simulate a Gateway restart every S seconds",
      "  --restart-downtime S          seconds the port stays closed (default 10)",
      "  --connectivity-loss-after S   send 1100 every S seconds, then 1101/1102",
      "  --connectivity-loss-ms N      outage length (default 5000); --data-lost → 1101",
      "  --drop-every S                drop every client connection every S seconds",
      "  --stall-every S --stall-ms N  stall every stream for N ms every S seconds",
      "  --depth-reset-every S         error 317 + fresh book on every depth subscription",
      "  --competing-session-every S   error 10197 and an L1 pause (--competing-session-ms)",
      "",
    ].join("\n"),
  );
  process.exit(0);
}

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
const logger = pino({ level: values["log-level"] });

const accounts: AccountConfig[] | undefined = values.accounts
  ? values.accounts
      .split(",")
      .filter(Boolean)
      .map((id, i) => (i === 0 ? { ...DEFAULT_ACCOUNTS[0]!, id } : { id }))
  : undefined;
const entitlements: Record<string, Entitlement> = {};
for (const s of (values.delayed ?? "").split(",").filter(Boolean)) entitlements[s.toUpperCase()] = "delayed-only";
for (const s of (values["no-permission"] ?? "").split(",").filter(Boolean)) entitlements[s.toUpperCase()] = "none";

const limits: Record<string, number> = {};
const setLimit = (k: string, v: string | undefined) => {
  const n = num(v);
  if (n !== undefined && Number.isFinite(n)) limits[k] = n;
};
setLimit("marketDataLines", values["market-data-lines"]);
setLimit("maxDepth", values["max-depth"]);
setLimit("maxTickByTick", values["max-tick-by-tick"]);
setLimit("maxMessagesPerSec", values["max-messages-per-sec"]);

const sim = await startSimulator({
  host: values.host,
  port: Number(values.port),
  seed: Number(values.seed),
  tickIntervalMs: Number(values["tick-interval-ms"]),
  flood: values.flood,
  frozenWhenClosed: !values["live-when-closed"],
  ...(accounts ? { accounts } : {}),
  entitlements,
  optionDataPermission: !values["no-option-data"],
  limits,
  historicalLatencyMs: num(values["historical-latency-ms"]) ?? 0,
  logger,
});

const timers: NodeJS.Timeout[] = [];
const restartAfter = num(values["restart-after"]);
if (restartAfter && restartAfter > 0) {
  timers.push(
    setInterval(() => {
      void sim.faults.restart(Number(values["restart-downtime"]) * 1000);
    }, restartAfter * 1000),
  );
}
const lossAfter = num(values["connectivity-loss-after"]);
if (lossAfter && lossAfter > 0) {
  timers.push(
    setInterval(() => {
      void sim.faults.connectivityFlap(Number(values["connectivity-loss-ms"]), values["data-lost"]);
    }, lossAfter * 1000),
  );
}

const every = (flag: string | undefined, fn: () => void) => {
  const sec = num(flag);
  if (sec && sec > 0) timers.push(setInterval(fn, sec * 1000));
};
every(values["drop-every"], () => sim.faults.dropAll());
every(values["stall-every"], () => void sim.faults.stall(Number(values["stall-ms"])));
every(values["depth-reset-every"], () => sim.faults.depthReset());
every(values["competing-session-every"], () => sim.faults.competingSession(Number(values["competing-session-ms"])));

const shutdown = async (signal: string) => {
  logger.info({ signal }, "shutting down");
  for (const t of timers) clearInterval(t);
  await sim.close();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
