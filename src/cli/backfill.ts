/**
 * `npm run backfill -- --symbols AAPL,MSFT,BTCUSDT --interval min1 --days 30`: fills the store of a running
 * ib-provider with history, showing a progress bar (IB requests done / planned, bars stored, ETA from IB's
 * pacing), and prints a summary per symbol. A gRPC client of StoreService.Backfill, on purpose: the service
 * holds the one IB connection and the one pacing scheduler (IB paces per user: a second process pacing on
 * its own would earn pacing violations, error 162). Ctrl-C stops it; the same command resumes.
 *
 * Exit codes: 0 every symbol filled; 1 some symbol failed (the others are filled); 2 the backfill could not
 * run (bad arguments, service unreachable, refused); 130 stopped by Ctrl-C.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { Presets, SingleBar } from "cli-progress";
import { grpcDialOf, type GrpcDial } from "../rest/grpcDial.js";
import { parseCliTime } from "./cliTime.js";
import { Command, InvalidArgumentError } from "commander";
import type { Timestamp } from "../../gen/google/protobuf/timestamp.js";
import { StoreServiceClient, type BackfillProgress, type BackfillRequest, type BackfillResponse, type BackfillSummary } from "../../gen/ibprovider/v1/store_service.js";

interface CliOptions {
  symbols: string[];
  interval: string;
  days?: number;
  from?: Date;
  to?: Date;
  market: string;
  url: string;
  token?: string;
  allHours?: boolean;
}

// The service's own settings as `npm start` reads them (.env in the package root, where npm runs scripts):
// PROVIDER_API_TOKEN and where it listens (GRPC_HOST, GRPC_PORT), so a token kept in .env as .env.example
// says is the one sent. Variables already set win, as they do for the service.
if (existsSync(".env")) process.loadEnvFile(".env");

/** Where the service listens, as it reads GRPC_HOST/GRPC_PORT; a wildcard host is dialled on loopback. */
function serviceAddress(): string {
  return grpcDialOf(process.env.GRPC_HOST ?? "127.0.0.1", Number(process.env.GRPC_PORT ?? "50051"), undefined).target;
}

/**
 * How to reach the service at `url` ("host:port", "[::1]:port"): over TLS when it serves TLS, as the REST
 * bridge does (PROVIDER_TLS_CERT, or TLS_CERT_FILE, from the environment or .env: the certificate is trusted
 * besides the system roots, under the name it was issued for). A token never crosses in clear to a TLS service.
 */
function dialOf(url: string): GrpcDial {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(url);
  if (m === null) throw new InvalidArgumentError(`--url: expected host:port (got ${JSON.stringify(url.slice(0, 64))})`);
  const cert = process.env.PROVIDER_TLS_CERT ?? process.env.TLS_CERT_FILE;
  return grpcDialOf(m[1]!, Number(m[2]), cert === undefined || cert === "" ? undefined : { certFile: resolve(cert) });
}

const program = new Command()
  .name("npm run backfill --")
  .description("Fill ib-provider's store with historical candles (the service must be running: npm start).")
  .requiredOption("--symbols <list>", "comma-separated symbols, e.g. AAPL,MSFT,BTCUSDT", (v) => v.split(",").map((s) => s.trim()).filter((s) => s !== ""))
  .requiredOption("--interval <name>", "candle interval: min1, min5, min15, min30, h1, h2, h4, day, week, month (or an alias such as 1m, 1h)")
  .option("--days <n>", "window length in days, ending at --to (default 7; 6 hours for min1)", positiveInteger)
  .option("--from <time>", "window start: ISO 8601 or unix milliseconds (wins over --days)", time)
  .option("--to <time>", "window end (exclusive): ISO 8601 or unix milliseconds (default now)", time)
  .option("--market <type>", "spot, futures or margin", "spot")
  .option("--all-hours", "stocks: include pre- and after-market bars (default: regular trading hours, as GetCandles)")
  .option("--url <host:port>", "the service's gRPC address (default: GRPC_HOST:GRPC_PORT from the environment or .env, else 127.0.0.1:50051)", serviceAddress())
  .option("--token <token>", "API token (default: PROVIDER_API_TOKEN from the environment or .env, which other users cannot see in the process list)")
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("a whole number of days, at least 1");
  return n;
}

function time(value: string): Date {
  return new Date(parseCliTime(value));
}

const toTimestamp = (d: Date): Timestamp => ({ seconds: String(Math.floor(d.getTime() / 1000)), nanos: (d.getTime() % 1000) * 1e6 });
const msOf = (t: Timestamp | undefined) => (t === undefined ? undefined : Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6));

/** "3 min 20 s", "1 h 05 min", "12 s". */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** Progress on a terminal: one bar, redrawn in place. Elsewhere (a pipe, a file, CI): a plain line per change (at most every 2 s), and every 10 s while waiting. */
interface ProgressView {
  update(p: BackfillProgress): void;
  stop(): void;
}

function progressView(tty: boolean): ProgressView {
  const etaOf = (p: BackfillProgress) => {
    const finish = msOf(p.estimatedFinish);
    return finish === undefined ? "…" : duration(finish - Date.now());
  };
  const waitOf = (p: BackfillProgress) => (p.waitingFor === "" ? "" : ` | waiting for ${p.waitingFor}${p.waitingUntil === undefined ? "" : ` (${duration(msOf(p.waitingUntil)! - Date.now())})`}`);
  if (tty) {
    const bar = new SingleBar({ format: "{bar} {value}/{total} requests | {bars} bars | ETA {etaText}{wait}", hideCursor: true, stream: process.stderr }, Presets.shades_classic);
    let started = false;
    return {
      update: (p) => {
        const payload = { bars: p.barsStored, etaText: etaOf(p), wait: waitOf(p) };
        if (!started) bar.start(p.requestsPlanned, p.requestsDone, payload);
        else {
          bar.setTotal(p.requestsPlanned);
          bar.update(p.requestsDone, payload);
        }
        started = true;
      },
      stop: () => bar.stop(),
    };
  }
  let last = "";
  let lastAt = 0;
  return {
    update: (p) => {
      const line = `${p.requestsDone}/${p.requestsPlanned} requests, ${p.barsStored} bars stored`;
      const now = Date.now();
      // A line when the counts change (at most every 2 s, the last always), and every 10 s while nothing moves: logs stay readable.
      if (line === last && now - lastAt < 10_000) return;
      if (line !== last && now - lastAt < 2_000 && p.requestsDone !== p.requestsPlanned) return;
      last = line;
      lastAt = now;
      process.stderr.write(`backfill: ${line}, ETA ${etaOf(p)}${waitOf(p)}\n`);
    },
    stop: () => undefined,
  };
}

function printSummary(summary: BackfillSummary): void {
  const rows = summary.symbols.map((s) => [s.symbol, s.bars, String(s.requestsSent), String(s.rangesInStore), s.failure === undefined ? "ok" : `FAILED ${s.failure.code} ${s.failure.reason}: ${s.failure.message}`]);
  const header = ["symbol", "bars", "IB requests", "ranges already stored", "result"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  process.stdout.write(`${line(header)}\n${rows.map(line).join("\n")}\n`);
  process.stdout.write(`${summary.barsStored} bars stored from ${summary.requestsSent} IB requests; ${summary.failedSymbols === 0 ? "every symbol done" : `${summary.failedSymbols} of ${summary.symbols.length} symbols failed`}\n`);
}

function failureMessage(err: ServiceError, url: string): string {
  if (err.code === status.UNAVAILABLE && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|No connection established/.test(err.details)) {
    const why = /ECONNREFUSED/.test(err.details) ? "connection refused" : /ENOTFOUND/.test(err.details) ? "host not found" : "no connection";
    return `ib-provider is not reachable at ${url} (${why}): start it with npm start, or point --url at it`;
  }
  if (err.code === status.UNAUTHENTICATED) return `the service refused the token (${err.details}): set PROVIDER_API_TOKEN (or --token) to the service's token`;
  return `${status[err.code] ?? err.code}: ${err.details}`;
}

async function main(): Promise<number> {
  const options = program.parse().opts<CliOptions>();
  const token = options.token ?? process.env.PROVIDER_API_TOKEN;
  const request: BackfillRequest = {
    connectorType: "ib",
    marketType: options.market,
    symbols: options.symbols,
    interval: options.interval,
    from: options.from === undefined ? undefined : toTimestamp(options.from),
    to: options.to === undefined ? undefined : toTimestamp(options.to),
    days: options.days,
    regularHoursOnly: options.allHours === true ? false : undefined,
  };
  const metadata = new Metadata();
  if (token !== undefined && token !== "") metadata.set("authorization", `Bearer ${token}`);
  const dial = dialOf(options.url);
  const client = new StoreServiceClient(dial.target, dial.credentials, dial.channelOptions);
  const view = progressView(process.stderr.isTTY === true);
  const call = client.backfill(request, metadata);
  let summary: BackfillSummary | undefined;
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    call.cancel();
  });
  try {
    for await (const message of call as AsyncIterable<BackfillResponse>) {
      if (message.event?.$case === "progress") view.update(message.event.value);
      else if (message.event?.$case === "summary") summary = message.event.value;
    }
  } catch (err) {
    view.stop();
    if (interrupted) {
      process.stderr.write("\nbackfill stopped: what was fetched is stored; run the same command again to resume\n");
      return 130;
    }
    process.stderr.write(`backfill: ${failureMessage(err as ServiceError, options.url)}\n`);
    return 2;
  } finally {
    client.close();
  }
  view.stop();
  if (summary === undefined) {
    process.stderr.write("backfill: the service ended the call without a summary\n");
    return 2;
  }
  printSummary(summary);
  return summary.failedSymbols === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`backfill: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
