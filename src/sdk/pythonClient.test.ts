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
    [app] = await Promise.all([startTestApp({ token: TOKEN }).then((t) => t.app), generated]);
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

  it("runs examples/python/spread.py: ticks and depth for two symbols, printing both spreads", async () => {
    const { stdout } = await python("examples/python/spread.py", ["BTCUSDT", "ETHUSDT", "--updates", "6"], 30_000);
    const lines = stdout.split("\n").filter((line) => line.includes("L1 spread"));
    expect(lines).toHaveLength(6);
    expect(stdout).toMatch(/BTCUSDT +L1 spread +[\d.]+ +book spread [\d.]+ \(/);
    expect(stdout).toContain("ETHUSDT");
  });
});
