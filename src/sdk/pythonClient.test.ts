import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { DEBIAN_PYTHON, pythonToolchain, toolchainVerdict } from "./debianToolchain.js";
import { checkResult, jsonLines, runProgram } from "./runProgram.js";
import { cleanEnv, REPO_ROOT } from "./sdkPaths.js";
import { startSimulatedService } from "./simulatedService.js";

// The README's Python path, end to end: `npx buf generate --template buf.gen.python.yaml` with Debian's
// protoc and grpc_python_plugin, then Debian's /usr/bin/python3 + grpcio against the whole service on the
// simulator. Every program runs under a hard time limit.
const TOKEN = "python-sdk-token";
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
    [app] = await Promise.all([startSimulatedService(TOKEN), generated]);
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

  it("answers unary calls with typed fields: the runtime proof and BTCUSDT resolved on PAXOS", async () => {
    const result = checkResult((await check(["unary"])).stdout, "unary");
    expect(result).toEqual({
      check: "unary",
      gateway_mode: "GATEWAY_MODE_SIMULATOR",
      server_version: 176,
      symbol: "BTCUSDT",
      sec_type: "CRYPTO",
      exchange: "PAXOS",
      con_id: 479624278,
      tick_size: "0.25",
    });
  });

  it("reads typed ticks from a server stream and stops after a bounded number", async () => {
    const { stdout } = await check(["stream", "BTCUSDT", "3"]);
    const ticks = jsonLines(stdout).filter((line) => line.check === "tick");
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const tick of ticks) {
      expect(tick).toMatchObject({ type: "Tick", symbol: "BTCUSDT", market_data_type: "MARKET_DATA_TYPE_LIVE" });
      expect(tick.time_s).toBeGreaterThan(0);
    }
    expect(ticks.some((tick) => /^\d+(\.\d+)?$/.test(String(tick.bid)))).toBe(true);
    expect(checkResult(stdout, "stream").ticks).toBe(ticks.length);
  });

  it("gets UNAUTHENTICATED with ErrorInfo reason INVALID_TOKEN for a wrong token", async () => {
    const result = checkResult((await check(["auth"], { PROVIDER_API_TOKEN: "wrong-token" })).stdout, "auth");
    expect(result).toEqual({ check: "auth", code: "UNAUTHENTICATED", details: "invalid provider API token", reason: "INVALID_TOKEN" });
  });

  it("cancels a stream cleanly: the client sees CANCELLED and the service releases the IB subscription", async () => {
    // AAPL: no configured subscription keeps its tick feed alive, so the consumer count must go to zero.
    const result = checkResult((await check(["cancel", "AAPL"])).stdout, "cancel");
    expect(result).toMatchObject({ consumers_before: 1, code_after_cancel: "CANCELLED", consumers_after: 0 });
    expect(app!.adapter.subscriptions().filter((s) => s.kind === "tick" && s.symbol === "AAPL")).toEqual([]);
  });

  it("runs examples/python/candles_h1.py: a week of h1 candles as dataclasses with Decimal", async () => {
    const { stdout } = await python("examples/python/candles_h1.py", ["BTCUSDT"], 60_000);
    const count = Number(/^BTCUSDT: (\d+) h1 candles/m.exec(stdout)?.[1]);
    expect(count).toBeGreaterThanOrEqual(7 * 24);
    expect(stdout).toMatch(/last: Candle\(time=datetime\.datetime\(.*open=Decimal\('[\d.]+'\)/);
  });

  it("runs examples/python/spread.py: ticks and depth for two symbols, printing both spreads", async () => {
    const { stdout } = await python("examples/python/spread.py", ["BTCUSDT", "ETHUSDT", "--updates", "6"], 30_000);
    const lines = stdout.split("\n").filter((line) => line.includes("L1 spread"));
    expect(lines).toHaveLength(6);
    expect(stdout).toMatch(/BTCUSDT +L1 spread +[\d.]+ +book spread [\d.]+ \(/);
    expect(stdout).toContain("ETHUSDT");
  });
});
