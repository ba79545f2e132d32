import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { DEBIAN_GOCODE, goToolchain, toolchainVerdict } from "./debianToolchain.js";
import { checkResult, jsonLines, runProgram } from "./runProgram.js";
import { cleanEnv, REPO_ROOT } from "./sdkPaths.js";
import { startSimulatedService } from "./simulatedService.js";

// The README's Go path, end to end and offline: `npx buf generate --template buf.gen.go.yaml` with Debian's
// protoc-gen-go / protoc-gen-go-grpc, built in GOPATH mode against Debian's Go sources (no module proxy),
// then run against the whole service on the simulator. Every program runs under a hard time limit.
const TOKEN = "go-sdk-token";
const verdict = toolchainVerdict(goToolchain);
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

describe.skipIf(!verdict.run)("the generated Go client against the service on the simulator", () => {
  let app: RunningApp | undefined;
  let outDir: string | undefined;
  let env: NodeJS.ProcessEnv = {};

  const bin = (name: string) => join(outDir!, "bin", name);
  const check = (args: string[], extraEnv: Record<string, string> = {}) =>
    runProgram(bin("sdkcheck"), args, { cwd: REPO_ROOT, env: { ...env, ...extraEnv }, timeoutMs: 30_000 });

  beforeAll(async () => {
    // In CI a missing package fails every test here, with the apt-get line that fixes it.
    if (verdict.message !== undefined) throw new Error(verdict.message);
    outDir = await mkdtemp(join(tmpdir(), "ib-provider-go-sdk-"));
    const dir = outDir;
    const goEnv = cleanEnv({
      GO111MODULE: "off",
      GOPATH: `${join(dir, "clients", "go")}:${DEBIAN_GOCODE}`,
      GOPROXY: "off",
      // go needs a build cache; without HOME it has no default.
      ...(process.env.GOCACHE === undefined && process.env.HOME === undefined ? { GOCACHE: join(tmpdir(), "ib-provider-go-build") } : {}),
    });
    const built = (async () => {
      await runProgram("npx", ["buf", "generate", "--template", "buf.gen.go.yaml", "-o", dir], { cwd: REPO_ROOT, env: process.env, timeoutMs: 60_000 });
      // A cold build of grpc-go takes ~10 s on two idle cores; CI machines are busier.
      await runProgram("go", ["build", "-o", `${join(dir, "bin")}/`, "./src/sdk/go/sdkcheck", "./examples/go/stream_trades"], { cwd: REPO_ROOT, env: goEnv, timeoutMs: 150_000 });
    })();
    [app] = await Promise.all([startSimulatedService(TOKEN), built]);
    env = cleanEnv({ IB_PROVIDER_ADDR: `127.0.0.1:${app.grpc.port}`, PROVIDER_API_TOKEN: TOKEN });
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
  });

  it("generates and builds offline: messages and gRPC stubs for every service, importable as ibprovider.local/sdk", () => {
    const pkg = join(outDir!, "clients", "go", "src", "ibprovider.local", "sdk", "ibprovider", "v1");
    for (const proto of ["market_data_service", "account_service", "symbol_service", "runtime_service"]) {
      expect(existsSync(join(pkg, `${proto}.pb.go`)), proto).toBe(true);
      expect(existsSync(join(pkg, `${proto}_grpc.pb.go`)), proto).toBe(true);
    }
    expect(existsSync(bin("sdkcheck"))).toBe(true);
    expect(existsSync(bin("stream_trades"))).toBe(true);
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
      expect(tick).toMatchObject({ type: "*ibproviderv1.Tick", symbol: "BTCUSDT", market_data_type: "MARKET_DATA_TYPE_LIVE" });
      expect(tick.time_s).toBeGreaterThan(0);
    }
    expect(ticks.some((tick) => /^\d+(\.\d+)?$/.test(String(tick.bid)))).toBe(true);
    expect(checkResult(stdout, "stream").ticks).toBe(ticks.length);
  });

  it("gets Unauthenticated with ErrorInfo reason INVALID_TOKEN for a wrong token", async () => {
    const result = checkResult((await check(["auth"], { PROVIDER_API_TOKEN: "wrong-token" })).stdout, "auth");
    expect(result).toEqual({ check: "auth", code: "Unauthenticated", details: "invalid provider API token", reason: "INVALID_TOKEN" });
  });

  it("cancels a stream cleanly: the client sees Canceled and the service releases the IB subscription", async () => {
    // AAPL: no configured subscription keeps its tick feed alive, so the consumer count must go to zero.
    const result = checkResult((await check(["cancel", "AAPL"])).stdout, "cancel");
    expect(result).toMatchObject({ consumers_before: 1, code_after_cancel: "Canceled", consumers_after: 0 });
    expect(app!.adapter.subscriptions().filter((s) => s.kind === "tick" && s.symbol === "AAPL")).toEqual([]);
  });

  it("runs examples/go/stream_trades: three BTCUSDT trade prints", async () => {
    const { stdout } = await runProgram(bin("stream_trades"), ["BTCUSDT", "3"], { cwd: REPO_ROOT, env, timeoutMs: 30_000 });
    const trades = stdout.split("\n").filter((line) => / BTCUSDT .* @ [\d.]+ on PAXOS \(#\d+\)$/.test(line));
    expect(trades).toHaveLength(3);
  });
});
