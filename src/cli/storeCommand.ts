/**
 * `npm run store -- stats|delete|vacuum|export`: the operator's tool for the market-data store file. It opens
 * the file directly (never through the service), and never creates one: a missing file is an error.
 */
import { once } from "node:events";
import { createWriteStream, existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { parseCliTime } from "./cliTime.js";
import { Command, InvalidArgumentError } from "commander";
import { ConfigError } from "../config/configError.js";
import { loadConfig } from "../config/loadConfig.js";
import { CANDLE_CSV_HEADER, candleCsvLine, candleCsvRowOf, csvTime } from "../domain/candleCsv.js";
import { parseInterval, type Interval } from "../domain/intervals.js";
import type { CandleSeriesInfo } from "../store/candleStore.js";
import { openDatabase } from "../store/database.js";
import { MarketStore } from "../store/marketStore.js";
import { checkStoreFile, deleteCandles, NotAStoreError, StoreBusyError, vacuumStore } from "../store/storeMaintenance.js";
import { IN_MEMORY } from "../store/storeSettings.js";

/** An operator's mistake or a refusal: its message is all there is to say (no stack). */
class CommandError extends Error {}

/** Where the operator ran npm from (npm runs scripts in the package root): their relative paths mean it. */
const callerDir = () => process.env.INIT_CWD ?? process.cwd();

/**
 * The store file: --path (relative to where the command was run), else STORE_PATH as the service resolves
 * it (loadConfig, after .env as `npm start` reads it), else the service's default.
 */
function storePath(pathOption: string | undefined): string {
  let path: string;
  if (pathOption !== undefined) path = resolve(callerDir(), pathOption);
  else {
    if (existsSync(".env")) process.loadEnvFile(".env");
    path = loadConfig().store.path;
  }
  if (path === IN_MEMORY) throw new CommandError(`STORE_PATH is ${IN_MEMORY}: that store lives and dies with its process; name a file with --path`);
  if (!existsSync(path)) throw new CommandError(`no store at ${path} (STORE_PATH, or --path): the service creates it when it starts; nothing is created here`);
  checkStoreFile(path);
  return path;
}

/** ISO 8601 ("2026-11-02", "2026-11-02T14:30:00Z") or unix milliseconds, as the REST route takes them. */
const parseTime = parseCliTime;

function parseIntervalOption(text: string): Interval {
  const interval = parseInterval(text);
  if (interval === undefined) throw new InvalidArgumentError("expected min1, min5, min15, min30, h1, h2, h4, day, week or month");
  return interval;
}

const count = (n: number) => n.toLocaleString("en-US");
const time = (ms: number | undefined) => (ms === undefined ? "-" : csvTime(ms));
const hours = (rth: boolean) => (rth ? "RTH" : "all hours");

function bytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]} (${count(n)} bytes)`;
}

/** Rows padded into columns, the first line a header. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

function stats(path: string, json: boolean, out: (text: string) => void): void {
  const store = MarketStore.open(path, undefined, { busyTimeoutMs: 5_000 });
  try {
    const s = store.stats();
    const series = store.candles.series();
    const feeds = store.events.feedInfos();
    if (json) {
      const seriesJson = series.map((x) => ({ symbol: x.symbol, interval: x.interval, whatToShow: x.whatToShow, rth: x.rth, conId: x.conId, timeZone: x.timeZone, bars: x.bars, first: x.firstStartMs === undefined ? null : csvTime(x.firstStartMs), last: x.lastStartMs === undefined ? null : csvTime(x.lastStartMs) }));
      const feedsJson = feeds.map((f) => ({ key: f.key, kind: f.kind, symbol: f.symbol, epoch: f.epoch, lastSeq: f.lastSeq, open: f.open, broken: f.broken, oldest: f.oldestMs === undefined ? null : csvTime(f.oldestMs), newest: f.newestMs === undefined ? null : csvTime(f.newestMs) }));
      out(`${JSON.stringify({ path: s.path, schemaVersion: s.schemaVersion, sizeBytes: s.sizeBytes, rows: s.rows, series: seriesJson, feeds: feedsJson }, null, 2)}\n`);
      return;
    }
    // open: an instance is recording (or the last one never closed); broken: a write failed. Either way the next instance starts a new epoch.
    const state = (f: { open: boolean; broken: boolean }) => (f.broken ? "broken" : f.open ? "open" : "closed");
    const lines = [
      `store    ${s.path}`,
      `schema   version ${s.schemaVersion}`,
      `size     ${bytes(s.sizeBytes)}, write-ahead log included`,
      `rows     ${Object.entries(s.rows).map(([table, n]) => `${table} ${count(n)}`).join(", ")}`,
      "",
      series.length === 0
        ? "no candle series yet"
        : table([["symbol", "interval", "what to show", "hours", "bars", "first", "last"], ...series.map((x) => [x.symbol, x.interval, x.whatToShow, hours(x.rth), count(x.bars), time(x.firstStartMs), time(x.lastStartMs)])]),
      "",
      feeds.length === 0
        ? "no recorded feeds yet"
        : table([["feed", "kind", "symbol", "epoch", "last seq", "state", "oldest", "newest"], ...feeds.map((f) => [f.key, f.kind, f.symbol, String(f.epoch), count(f.lastSeq), state(f), time(f.oldestMs), time(f.newestMs)])]),
    ];
    out(`${lines.join("\n")}\n`);
  } finally {
    store.close();
  }
}

interface DeleteOptions {
  symbol: string;
  interval?: Interval;
  from?: number;
  to?: number;
}

function deleteCommand(path: string, o: DeleteOptions, out: (text: string) => void): void {
  const db = openDatabase(path);
  let deleted;
  try {
    deleted = deleteCandles(db, { symbol: o.symbol.toUpperCase(), interval: o.interval?.name, fromMs: o.from, toMs: o.to });
  } finally {
    db.close();
  }
  const range = `${o.from === undefined ? "the first bar" : csvTime(o.from)} to ${o.to === undefined ? "the last" : csvTime(o.to)}`;
  if (deleted.length === 0) {
    out(`nothing stored for ${o.symbol.toUpperCase()}${o.interval === undefined ? "" : ` ${o.interval.name}`} in ${path}\n`);
    return;
  }
  const lines = deleted.map((d) => `  ${d.symbol} ${d.interval} ${d.whatToShow} ${hours(d.rth)}: ${count(d.candles)} candles, ${count(d.coverageRanges)} covered ranges removed or cut${d.recent ? ", the recent range" : ""}`);
  const total = deleted.reduce((n, d) => n + d.candles, 0);
  out(`deleted ${count(total)} candles from ${range} in ${path} (that range is asked of IB again when next requested):\n${lines.join("\n")}\n`);
}

function vacuum(path: string, out: (text: string) => void): void {
  const { beforeBytes, afterBytes } = vacuumStore(path);
  out(`vacuumed ${path}: ${bytes(beforeBytes)} before, ${bytes(afterBytes)} after\n`);
}

interface ExportOptions {
  symbol: string;
  interval: Interval;
  from?: number;
  to?: number;
  out?: string;
  whatToShow?: string;
  rth?: boolean;
}

/** Bars read per store query: a page of CSV at a time, never the whole series in memory. */
const PAGE_BARS = 10_000;

async function exportCommand(path: string, o: ExportOptions, report: (text: string) => void): Promise<void> {
  const store = MarketStore.open(path, undefined, { busyTimeoutMs: 5_000 });
  try {
    const symbol = o.symbol.toUpperCase();
    // By label, or by a contract the symbol resolved to (a series shared by BTCUSDT and BTC bears the last one's name).
    const conIds = store.contracts.conIdsOf(symbol);
    const all = store.candles.series().filter((s) => (s.symbol === symbol || conIds.has(s.conId)) && s.interval === o.interval.name);
    const matching = all.filter((s) => (o.whatToShow === undefined || s.whatToShow === o.whatToShow.toUpperCase()) && (o.rth === undefined || s.rth === o.rth));
    const describe = (list: CandleSeriesInfo[]) => list.map((s) => `${s.whatToShow} ${hours(s.rth)} (${count(s.bars)} bars)`).join(", ");
    if (matching.length === 0) {
      throw new CommandError(`no stored ${symbol} ${o.interval.name} series${all.length === 0 ? "" : ` with those options (stored: ${describe(all)})`}; see npm run store -- stats`);
    }
    if (matching.length > 1) throw new CommandError(`${symbol} ${o.interval.name} is stored as ${describe(matching)}: choose with --what-to-show and --rth / --no-rth`);
    const series = matching[0]!;
    const outPath = o.out === undefined ? undefined : resolve(callerDir(), o.out);
    const target: Writable = outPath === undefined ? process.stdout : await openedFile(outPath);
    // A file that fails while written (a full disk) is said plainly, as one that cannot be opened is.
    const failed = () => (outPath !== undefined && target.errored !== null ? new CommandError(`cannot write ${outPath}: ${target.errored.message}`) : undefined);
    let written = 0;
    const write = async (text: string) => {
      // An error ends the wait for 'drain' (events.once rejects on it); it is reported below.
      if (!target.write(text)) await once(target, "drain").catch(() => undefined);
      const err = failed();
      if (err !== undefined) throw err;
    };
    await write(CANDLE_CSV_HEADER);
    // The stored text as it is (readText), as GetCandles sends it: the REST route's CSV, byte for byte.
    const endMs = o.to ?? Number.MAX_SAFE_INTEGER;
    for (let cursor = o.from ?? Number.MIN_SAFE_INTEGER; ; ) {
      const page = store.candles.readText(series, cursor, endMs, PAGE_BARS);
      if (page.length > 0) await write(page.map((c) => candleCsvLine(candleCsvRowOf(c))).join(""));
      written += page.length;
      if (page.length < PAGE_BARS) break;
      cursor = page[page.length - 1]!.startMs + 1;
    }
    if (target !== process.stdout) {
      target.end();
      await finished(target).catch(() => undefined);
      const err = failed();
      if (err !== undefined) throw err;
    }
    report(`exported ${count(written)} candles of ${symbol} ${o.interval.name} ${series.whatToShow} ${hours(series.rth)}${outPath === undefined ? "" : ` to ${outPath}`}\n`);
  } finally {
    store.close();
  }
}

/** A file to write, once opened: a folder that does not exist or a read-only place is said plainly, not thrown later. */
async function openedFile(path: string): Promise<Writable> {
  const file = createWriteStream(path);
  try {
    await once(file, "open");
  } catch (err) {
    throw new CommandError(`cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Later errors are read from file.errored by the export (not thrown out of an event with a stack).
  file.on("error", () => undefined);
  return file;
}

function storeProgram(): Command {
  const program = new Command("store")
    .description("Operate the market-data store file (STORE_PATH): statistics, deletion, vacuum, CSV export")
    .option("--path <file>", "the store file (default: STORE_PATH as the service resolves it)")
    .showHelpAfterError()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const path = () => storePath(program.opts<{ path?: string }>().path);
  const stdout = (text: string) => process.stdout.write(text);
  program
    .command("stats")
    .description("path, schema version, file size, rows per table, every candle series and every recorded feed")
    .option("--json", "as JSON")
    .action((o: { json?: boolean }) => stats(path(), o.json === true, stdout));
  program
    .command("delete")
    .description("delete candles and their coverage (so they are fetched again), in one transaction")
    .requiredOption("--symbol <symbol>", "Barfinex symbol, e.g. AAPL")
    .option("--interval <interval>", "only this interval (default: all)", parseIntervalOption)
    .option("--from <time>", "first bar start to delete (ISO 8601 or unix ms; default: the first)", parseTime)
    .option("--to <time>", "end, exclusive (ISO 8601 or unix ms; default: after the last)", parseTime)
    .action((o: DeleteOptions) => deleteCommand(path(), o, stdout));
  program
    .command("vacuum")
    .description("give free pages back to the file system and fold the WAL in; refused while the service has the file open")
    .action(() => vacuum(path(), stdout));
  program
    .command("export")
    .description("stored candles as CSV, the same as GET /api/candles/…?format=csv")
    .requiredOption("--symbol <symbol>", "Barfinex symbol, e.g. AAPL")
    .requiredOption("--interval <interval>", "min1 … month", parseIntervalOption)
    .option("--from <time>", "first bar start (ISO 8601 or unix ms; default: the first stored)", parseTime)
    .option("--to <time>", "end, exclusive (ISO 8601 or unix ms; default: after the last stored)", parseTime)
    .option("--out <file>", "write to this file (default: standard output)")
    .option("--what-to-show <kind>", "TRADES, AGGTRADES, MIDPOINT: when the symbol is stored as several")
    .option("--rth", "the regular-trading-hours series")
    .option("--no-rth", "the all-hours series")
    .action((o: ExportOptions) => exportCommand(path(), o, (text) => process.stderr.write(text)));
  return program;
}

async function main(): Promise<void> {
  // `… export | head`: a reader that stops early is not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  try {
    await storeProgram().parseAsync(process.argv);
  } catch (err) {
    const known = err instanceof CommandError || err instanceof StoreBusyError || err instanceof NotAStoreError || err instanceof ConfigError;
    process.stderr.write(`store: ${known ? (err as Error).message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}

await main();
