import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { DEBIAN_PYTHON, pythonToolchain, toolchainVerdict } from "./debianToolchain.js";
import { checkProgramContract } from "./checkProgramContract.js";
import { runProgram } from "./runProgram.js";
import { cleanEnv, REPO_ROOT } from "./sdkPaths.js";
import { startTestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { TcpProxy } from "../client/testing/tcpProxy.js";
import { createIbProviderClient } from "../client/ibProviderClient.js";

// The README's Python path, end to end: `npx buf generate --template buf.gen.python.yaml` with Debian's
// protoc and grpc_python_plugin, then Debian's /usr/bin/python3 + grpcio against the whole service on the
// simulator. Every program runs under a hard time limit.
const TOKEN = "python-sdk-token";
// examples/python/bracket_order.py places orders: the app takes them (ORDERS_ENABLED) from this token's client.
const TRADE_TOKEN = "python-sdk-trade-token";
const verdict = toolchainVerdict(pythonToolchain);
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

describe.skipIf(!verdict.run)("the generated Python client against the service on the simulator", () => {
  let app: RunningApp | undefined;
  let outDir: string | undefined;
  let env: NodeJS.ProcessEnv = {};

  const python = (script: string, args: string[], timeoutMs = 30_000, extraEnv: Record<string, string> = {}) =>
    runProgram(DEBIAN_PYTHON, [script, ...args], { cwd: REPO_ROOT, env: { ...env, ...extraEnv }, timeoutMs });
  const check = (args: string[], extraEnv: Record<string, string> = {}) => python("src/sdk/python/sdk_check.py", args, 30_000, extraEnv);

  beforeAll(async () => {
    // In CI a missing package fails every test here, with the apt-get line that fixes it.
    if (verdict.message !== undefined) throw new Error(verdict.message);
    outDir = await mkdtemp(join(tmpdir(), "ib-provider-py-sdk-"));
    const generated = runProgram("npx", ["buf", "generate", "--template", "buf.gen.python.yaml", "-o", outDir], { cwd: REPO_ROOT, env: process.env, timeoutMs: 60_000 });
    [app] = await Promise.all([startTestApp({ token: TOKEN, env: { ORDERS_ENABLED: "true", PROVIDER_TRADE_TOKEN: TRADE_TOKEN } }).then((t) => t.app), generated]);
    env = cleanEnv({
      PYTHONPATH: join(outDir, "clients", "python"),
      PYTHONDONTWRITEBYTECODE: "1",
      IB_PROVIDER_ADDR: `127.0.0.1:${app.grpc.port}`,
      PROVIDER_API_TOKEN: TOKEN,
    });
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
    if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
  });

  it("generates messages, .pyi type stubs and gRPC stubs for every service", () => {
    const pkg = join(outDir!, "clients", "python", "ibprovider", "v1");
    for (const proto of ["market_data_service", "account_service", "symbol_service", "runtime_service", "types"]) {
      expect(existsSync(join(pkg, `${proto}_pb2.py`)), proto).toBe(true);
      expect(existsSync(join(pkg, `${proto}_pb2.pyi`)), proto).toBe(true);
    }
    expect(existsSync(join(pkg, "market_data_service_pb2_grpc.py"))).toBe(true);
    // No generated top-level `grpc` package shadowing grpcio (grpc/health is excluded from the template).
    expect(existsSync(join(outDir!, "clients", "python", "grpc"))).toBe(false);
  });

  checkProgramContract(check, () => app!, { tickType: "Tick", unauthenticated: "UNAUTHENTICATED", cancelled: "CANCELLED" });

  it("runs examples/python/candles_h1.py: a week of h1 candles as dataclasses with Decimal", async () => {
    const { stdout } = await python("examples/python/candles_h1.py", ["BTCUSDT"], 60_000);
    const count = Number(/^BTCUSDT: (\d+) h1 candles/m.exec(stdout)?.[1]);
    expect(count).toBeGreaterThanOrEqual(7 * 24);
    expect(stdout).toMatch(/last: Candle\(time=datetime\.datetime\(.*open=Decimal\('[\d.]+'\)/);
  });

  // IB (and the simulator) send one change of a book as several row operations and one change of a quote as
  // two ticks: about one update in six passes through a crossed state. 24 lines all positive is what a
  // strategy needs; the example once printed -12.50 mid-update (a 1-in-100 chance to see none in 24).
  it("runs examples/python/spread.py: ticks and depth for two symbols, printing positive spreads only", async () => {
    const { stdout } = await python("examples/python/spread.py", ["BTCUSDT", "ETHUSDT", "--updates", "24"], 45_000);
    const lines = stdout.split("\n").filter((line) => line.includes("L1 spread"));
    expect(lines).toHaveLength(24);
    const spreads = lines.flatMap((line) => [...line.matchAll(/spread +(-?[\d.]+)/g)].map((m) => Number(m[1])));
    expect(spreads.length).toBeGreaterThan(24);
    expect(spreads.filter((spread) => !(spread > 0)), stdout).toEqual([]);
    expect(stdout).toMatch(/BTCUSDT +L1 spread +[\d.]+ +book spread [\d.]+ \(/);
    expect(stdout).toContain("ETHUSDT");
  }, 50_000);

  it("spread.py's strategy state ignores a book mid-update, one not consistent, and a crossed quote", async () => {
    // The same ops as IB's for a price move: the new best bid arrives before the old best ask is gone.
    const script = [
      "import importlib.util, sys",
      "spec = importlib.util.spec_from_file_location('spread', 'examples/python/spread.py'); spread = importlib.util.module_from_spec(spec); spec.loader.exec_module(spread)",
      "from ibprovider.v1 import types_pb2 as t",
      "L = t.PriceLevel",
      "m = spread.Market('BTCUSDT')",
      "m.on_book(t.OrderBookUpdate(is_snapshot=True, is_consistent=True, bids=[L(price='100', volume='1')], asks=[L(price='101', volume='1')]))",
      "print('snapshot', m.line())",
      "m.on_book(t.OrderBookUpdate(is_consistent=True, bids=[L(price='102', volume='1')]))",
      "print('crossed', m.line())",
      "m.on_book(t.OrderBookUpdate(is_consistent=True, asks=[L(price='101', volume='0'), L(price='103', volume='2')]))",
      "print('settled', m.line())",
      "m.on_book(t.OrderBookUpdate(is_snapshot=True, is_consistent=False))",
      "print('reset', m.line())",
      "m.on_tick(t.Tick(bid='104', ask='103.5'))",
      "print('quote crossed', m.line())",
      "m.on_tick(t.Tick(bid='104', ask='104.25'))",
      "print('quote', m.line())",
    ].join("\n");
    const { stdout } = await python("-c", [script], 15_000);
    expect(stdout.split("\n").filter(Boolean)).toEqual([
      "snapshot BTCUSDT  L1 spread          -  book spread 1 (100 / 101, 1x1 levels)",
      "crossed None",
      "settled BTCUSDT  L1 spread          -  book spread 1 (102 / 103, 2x1 levels)",
      "reset None",
      "quote crossed None",
      "quote BTCUSDT  L1 spread       0.25  book spread -",
    ]);
  });

  it("runs examples/python/resume_trades.py: cut off mid-stream, it resumes after the last print with nothing missed or repeated", async () => {
    // The example connects through a TCP proxy the test cuts; a TS client on a direct connection is the reference.
    const proxy = await TcpProxy.start(app!.grpc.port);
    const reference = createIbProviderClient({ address: `127.0.0.1:${app!.grpc.port}`, token: TOKEN });
    const stop = new AbortController();
    const seen: bigint[] = [];
    const referenceDone = (async () => {
      for await (const item of reference.marketData.streamTrades({ symbol: "BTCUSDT" }, { signal: stop.signal })) if (item.kind === "event" && item.event.event?.$case === "trade") seen.push(item.sequence!);
    })();
    const child = spawn(DEBIAN_PYTHON, ["examples/python/resume_trades.py", "BTCUSDT", "8"], { cwd: REPO_ROOT, env: { ...env, IB_PROVIDER_ADDR: proxy.address } });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const printed = () => [...stdout.matchAll(/^#(\d+) BTCUSDT /gm)].map((m) => BigInt(m[1]!));
    try {
      await until(() => printed().length >= 2, { timeoutMs: 15_000, what: "two prints from the example" });
      proxy.cut();
      const lastPrinted = printed().at(-1)!;
      await until(() => stdout.includes("reconnecting (UNAVAILABLE): resuming after #"), { timeoutMs: 10_000, what: "the example to notice the drop" });
      await until(() => seen.some((s) => s >= lastPrinted + 2n), { timeoutMs: 15_000, what: "two prints while the example is cut off" });
      proxy.restore();
      await until(() => child.exitCode !== null, { timeoutMs: 20_000, what: "the example's eight prints" });
    } finally {
      child.kill("SIGKILL");
      stop.abort();
      await referenceDone;
      reference.close();
      await proxy.close();
    }
    expect(await exited, stdout).toBe(0);
    const got = printed();
    expect(got, stdout).toEqual(got.map((_, i) => got[0]! + BigInt(i)));
    expect(got).toEqual(seen.filter((s) => s >= got[0]! && s <= got.at(-1)!));
    expect(stdout).not.toMatch(/^gap:/m);
  }, 60_000);

  it("runs examples/python/bracket_order.py: a bracket whose market parent fills, its fills with commissions, then both legs cancelled", async () => {
    const { stdout } = await python("examples/python/bracket_order.py", ["BTCUSDT", "--quantity", "0.01", "--id", "py-bracket-1"], 45_000, { PROVIDER_TRADE_TOKEN: TRADE_TOKEN });
    expect(stdout, stdout).toMatch(/^account \S+ \(paper\), orders enabled$/m);
    expect(stdout.split("\n").filter((line) => line.startsWith("placed ")).map((line) => line.split(/ +/).slice(1, 3))).toEqual([
      ["py-bracket-1", "parent"],
      ["py-bracket-1.tp", "take_profit"],
      ["py-bracket-1.sl", "stop_loss"],
    ]);
    expect(stdout).toMatch(/^parent py-bracket-1 FILLED 0\.01 @ avg [\d.]+$/m);
    const fills = [...stdout.matchAll(/^fill \S+ {2}([\d.]+) @ ([\d.]+)(?: on \S+)? {2}commission ([\d.]+) [A-Z]+ {2}at [\d:.]+ UTC$/gm)];
    expect(fills.length, stdout).toBeGreaterThan(0);
    expect(fills.reduce((sum, m) => sum + Number(m[1]), 0)).toBeCloseTo(0.01, 10);
    expect(stdout).toMatch(/^leg py-bracket-1\.tp LIMIT SELL @ [\d.]+: SUBMITTED$/m);
    expect(stdout).toMatch(/^leg py-bracket-1\.sl STOP SELL @ [\d.]+: (PRE_SUBMITTED|SUBMITTED)$/m);
    expect(stdout).toMatch(/^cancel py-bracket-1\.tp: CANCELLED$/m);
    expect(stdout).toMatch(/^cancel py-bracket-1\.sl: CANCELLED$/m);
    // Nothing of the bracket is left working.
    const reader = createIbProviderClient({ address: `127.0.0.1:${app!.grpc.port}`, token: TOKEN });
    try {
      expect((await reader.orders.list({ parentClientOrderId: "py-bracket-1", openOnly: true })).orders).toEqual([]);
    } finally {
      reader.close();
    }
  }, 50_000);

  // docs/instruments.md's path for options: the chain, one snapshot around the money (GetOptionChainQuotes), then
  // IB's computations of the at-the-money call and put on StreamTicks. Deep strikes of a near expiry round to a
  // delta of 0 or ±1 (0.0000 at four places; minutes before a Friday close every strike but the at-the-money one
  // does): every row within the closed bounds, the at-the-money row strictly inside them.
  it("runs examples/python/iv_smile.py: an IV smile of AAPL's nearest expiry, then the at-the-money greeks streamed", async () => {
    const { stdout } = await python("examples/python/iv_smile.py", ["AAPL", "--updates", "4"], 60_000);
    expect(stdout, stdout).toMatch(/^AAPL \d{8} \(class AAPL, x100\), underlying [\d.]+: \d+ strikes, \d+ quoted, \d+ missing, at most \d+ IB lines at once$/m);
    const rows = [...stdout.matchAll(/^([ *]) +([\d.]+) +([\d.]+)% +([\d.]+)% +(-?[\d.]+) +(-?[\d.]+) +([\d.]+) +([\d.]+)$/gm)].map((m) => ({
      atm: m[1] === "*",
      strike: Number(m[2]),
      callIv: Number(m[3]),
      putIv: Number(m[4]),
      callDelta: Number(m[5]),
      putDelta: Number(m[6]),
    }));
    expect(rows.length, stdout).toBeGreaterThanOrEqual(6);
    expect(rows.map((r) => r.strike), "ascending strikes").toEqual([...rows.map((r) => r.strike)].sort((a, b) => a - b));
    expect(rows.filter((r) => !(r.callIv > 0 && r.putIv > 0)), stdout).toEqual([]);
    expect(rows.filter((r) => !(r.callDelta >= 0 && r.callDelta <= 1 && r.putDelta >= -1 && r.putDelta <= 0)), stdout).toEqual([]);
    const inside = rows.filter((r) => r.callDelta > 0 && r.callDelta < 1 && r.putDelta > -1 && r.putDelta < 0);
    expect(inside.filter((r) => r.atm), `the at-the-money row (*) has deltas strictly inside\n${stdout}`).toHaveLength(1);
    // Calls lose delta as the strike rises; puts gain it toward -1.
    expect(rows.at(-1)!.callDelta).toBeLessThan(rows[0]!.callDelta);
    expect(rows.at(-1)!.putDelta).toBeLessThan(rows[0]!.putDelta);
    const streamed = [...stdout.matchAll(/^(AAPL\d{6}([CP])\d{8}) (MODEL|BID|ASK|LAST) +iv ([\d.]+)% delta (-?[\d.]+) /gm)];
    expect(streamed, stdout).toHaveLength(4);
    for (const [, , right, , iv, delta] of streamed) {
      expect(Number(iv)).toBeGreaterThan(0);
      if (right === "C") expect(Number(delta)).toBeGreaterThan(0);
      else expect(Number(delta)).toBeLessThan(0);
    }
  }, 70_000);
});
