import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../domain/decimal.js";
import { MarketStore } from "../store/marketStore.js";
import { MIGRATIONS } from "../store/migrations.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";

// `npm run store -- …` as an operator runs it: the real CLI in its own process (tsx, as npm runs it), on a
// store file the service filled through its API, while the service runs and after it stopped.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "src", "cli", "storeCommand.ts");
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI to its end (killed past `timeoutMs`), from a directory of its own unless `cwd` is given. */
function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, CLI, ...args], {
      cwd: options.cwd ?? dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`store ${args.join(" ")}: still running after ${options.timeoutMs ?? 20_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

let dir: string;
let storeFile: string;
let testApp: TestApp;
let serviceStopped = false;

const MINUTE = 60_000;
// Two settled hours of a 24/7 market (settled: stored for good, not re-fetched while the test runs).
const to = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
const from = to - 120 * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const WINDOW = `/api/candles/ib/spot/ETHUSDT/min1?from=${iso(from)}&to=${iso(to)}`;
let restCsv: string;

const get = (path: string) => fetch(testApp.app.rest.url + path, { signal: AbortSignal.timeout(15_000) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ibp-store-cli-"));
  storeFile = join(dir, "store.sqlite");
  // ETHUSDT only, without standing subscriptions or a scheduled backfill: nothing but the test writes to the store.
  const provider = { provider: { connectors: [{ connectorType: "ib", enabled: true, markets: [{ marketType: "spot", symbols: [{ name: "ETHUSDT" }] }] }] } };
  testApp = await startTestApp({ env: { STORE_PATH: storeFile }, provider });
  expect((await get(WINDOW)).status).toBe(200);
  expect((await get(`/api/candles/ib/spot/ETHUSDT/h1?from=${iso(from - 24 * 60 * MINUTE)}&to=${iso(to)}`)).status).toBe(200);
  const res = await get(`${WINDOW}&format=csv`);
  expect(res.status).toBe(200);
  restCsv = await res.text();
  await testApp.app.store.flushed();
}, 30_000);

afterAll(async () => {
  if (!serviceStopped) await testApp?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("npm run store, while the service runs", () => {
  it("export writes what GET /api/candles/…?format=csv answers, byte for byte, to stdout or a file", async () => {
    expect(restCsv.trimEnd().split("\n")).toHaveLength(121);
    const toStdout = await runCli(["--path", storeFile, "export", "--symbol", "ethusdt", "--interval", "min1", "--from", iso(from), "--to", String(to)]);
    expect(toStdout.code, toStdout.stderr).toBe(0);
    expect(toStdout.stdout).toBe(restCsv);
    expect(toStdout.stderr).toBe("exported 120 candles of ETHUSDT min1 AGGTRADES all hours\n");

    const toFile = await runCli(["--path", storeFile, "export", "--symbol", "ETHUSDT", "--interval", "1m", "--from", iso(from), "--to", iso(to), "--out", "eth.csv"]);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(toFile.stdout).toBe("");
    expect(readFileSync(join(dir, "eth.csv"), "utf8")).toBe(restCsv);
  }, 30_000);

  it("stats shows the path, schema version, size, rows per table and every series, as a table or JSON; STORE_PATH names the file", async () => {
    const text = await runCli(["stats"], { env: { STORE_PATH: storeFile } });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`store    ${storeFile}\nschema   version ${MIGRATIONS.length}\nsize     `);
    expect(text.stdout).toMatch(/^rows     candles \d[\d,]*, coverage \d+, series 2, contracts \d+, events \d[\d,]*, feeds \d+$/m);
    expect(text.stdout).toMatch(/^symbol +interval +what to show +hours +bars +first +last$/m);
    expect(text.stdout).toMatch(new RegExp(`^ETHUSDT +min1 +AGGTRADES +all hours +\\d+ +\\S+Z +\\S+Z$`, "m"));
    expect(text.stdout).toMatch(/^ETHUSDT +h1 +AGGTRADES +all hours +\d+ /m);

    const json = await runCli(["--path", storeFile, "stats", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const stats = JSON.parse(json.stdout) as { path: string; schemaVersion: number; sizeBytes: number; rows: Record<string, number>; series: { symbol: string; interval: string; bars: number; first: string }[] };
    expect(stats).toMatchObject({ path: storeFile, schemaVersion: MIGRATIONS.length });
    expect(stats.sizeBytes).toBeGreaterThan(0);
    expect(stats.series.map((s) => [s.symbol, s.interval])).toEqual([["ETHUSDT", "h1"], ["ETHUSDT", "min1"]]);
    expect(stats.rows.candles).toBe(stats.series.reduce((n, s) => n + s.bars, 0));
    expect(stats.series.find((s) => s.interval === "min1")!.first).toBe(iso(from));
  }, 30_000);

  it("vacuum refuses at once, saying why, while the service has the file open", async () => {
    const run = await runCli(["--path", storeFile, "vacuum"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`store: ${storeFile} is open in another process (is ib-provider running?): stop it, then vacuum\n`);
    expect(run.ms).toBeLessThan(10_000);
  }, 20_000);

  it("delete removes an hour's candles and coverage in one go, and the next GetCandles fetches that hour again", async () => {
    const run = await runCli(["--path", storeFile, "delete", "--symbol", "ETHUSDT", "--interval", "min1", "--from", iso(from + 30 * MINUTE), "--to", iso(from + 90 * MINUTE)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`deleted 60 candles from ${iso(from + 30 * MINUTE)} to ${iso(from + 90 * MINUTE)} in ${storeFile}`);
    expect(run.stdout).toContain("ETHUSDT min1 AGGTRADES all hours: 60 candles, 1 covered ranges removed or cut");
    const min1 = () => testApp.app.store.candles.series().find((s) => s.interval === "min1")!;
    expect(min1().bars).toBe(60);

    const before = testApp.app.store.stats();
    const res = await get(WINDOW);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { candles: unknown[] }).candles).toHaveLength(120);
    await testApp.app.store.flushed();
    expect(min1().bars).toBe(120);
    expect(testApp.app.store.stats().rows.candles).toBe(before.rows.candles + 60);
  }, 30_000);

  it("refuses a missing file and creates none", async () => {
    const missing = join(dir, "nothing-here", "store.sqlite");
    const run = await runCli(["--path", missing, "stats"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`store: no store at ${missing} (STORE_PATH, or --path): the service creates it when it starts; nothing is created here\n`);
    expect(existsSync(join(dir, "nothing-here"))).toBe(false);
  }, 20_000);

  it("refuses a file that is not a store (empty, another program's database, not SQLite) and leaves it as it was", async () => {
    const empty = join(dir, "empty.sqlite");
    writeFileSync(empty, "");
    const notes = join(dir, "notes.txt");
    writeFileSync(notes, "not a database at all, but long enough to be read as a header by SQLite ......................................\n");
    const cases = [
      [empty, "no schema version: an empty file or another program's database"],
      [notes, "file is not a database"],
    ] as const;
    const runs = await Promise.all(cases.map(([file]) => runCli(["--path", file, "stats"])));
    cases.forEach(([file, why], i) => {
      expect(runs[i]!.code, runs[i]!.stderr).toBe(1);
      expect(runs[i]!.stderr).toBe(`store: ${file} is not an ib-provider store (${why}): nothing was changed; name the service's store with --path or STORE_PATH\n`);
    });
    expect(statSync(empty).size).toBe(0);
    expect(existsSync(`${empty}-wal`)).toBe(false);
  }, 20_000);

  it("export finds a symbol's series by its contract when another symbol of the same contract labelled it (BTCUSDT and BTC)", async () => {
    const aliased = join(dir, "aliased.sqlite");
    const store = MarketStore.open(aliased);
    const HOUR = 60 * MINUTE;
    const t0 = Date.UTC(2026, 10, 2);
    store.contracts.put("spot/BTCUSDT", 479624278, "{}", t0);
    const bar = (i: number) => ({ startMs: t0 + i * HOUR, open: dec("1"), high: dec("1"), low: dec("1"), close: dec("1"), volume: dec("1"), count: 1, complete: true });
    await store.candles.write({ conId: 479624278, interval: "h1", whatToShow: "AGGTRADES", rth: false, symbol: "BTC", timeZone: "UTC" }, [bar(0), bar(1)], { covered: { fromMs: t0, toMs: t0 + 2 * HOUR } }, t0 + 3 * HOUR);
    store.close();
    const run = await runCli(["--path", aliased, "export", "--symbol", "btcusdt", "--interval", "h1"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trimEnd().split("\n")).toHaveLength(3);
  }, 20_000);

  it("export names the series it has when none matches", async () => {
    const run = await runCli(["--path", storeFile, "export", "--symbol", "ETHUSDT", "--interval", "min1", "--what-to-show", "MIDPOINT"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^store: no stored ETHUSDT min1 series with those options \(stored: AGGTRADES all hours \(\d+ bars\)\)/);
  }, 20_000);
});

// Each refusal is a CLI process of its own, reading only: run side by side (each costs seconds of start-up).
describe.concurrent("npm run store, refusals", () => {
  it("export to a folder that does not exist says so plainly and exits 1", async () => {
    const target = join(dir, "no-such-folder", "eth.csv");
    const run = await runCli(["--path", storeFile, "export", "--symbol", "ETHUSDT", "--interval", "min1", "--out", target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`store: cannot write ${target}: ENOENT: no such file or directory, open '${target}'\n`);
  }, 20_000);

  it("export to a file that fails while written (a full disk) says so plainly and exits 1", async () => {
    const run = await runCli(["--path", storeFile, "export", "--symbol", "ETHUSDT", "--interval", "min1", "--out", "/dev/full"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("store: cannot write /dev/full: ENOSPC: no space left on device, write\n");
  }, 20_000);

  it("a bad option value names the values it takes", async () => {
    const run = await runCli(["--path", storeFile, "delete", "--symbol", "ETHUSDT", "--from", "yesterday"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: option '--from <time>' argument 'yesterday' is invalid. expected an ISO 8601 time (2026-11-02T14:30:00Z; without an offset it is UTC) or unix milliseconds");
  }, 20_000);
});

describe("npm run store, after the service stopped", () => {
  beforeAll(async () => {
    await testApp.stop();
    serviceStopped = true;
  }, 30_000);

  it("vacuum compacts the file and prints its size before and after", async () => {
    const deleted = await runCli(["--path", storeFile, "delete", "--symbol", "ETHUSDT", "--interval", "h1"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const run = await runCli(["--path", storeFile, "vacuum"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^vacuumed ${storeFile}: .*\\(([\\d,]+) bytes\\) before, .*\\(([\\d,]+) bytes\\) after\\n$`));
    const export_ = await runCli(["--path", storeFile, "export", "--symbol", "ETHUSDT", "--interval", "min1", "--from", iso(from), "--to", iso(to)]);
    expect(export_.stdout.trimEnd().split("\n")).toHaveLength(121);
  }, 30_000);
});
