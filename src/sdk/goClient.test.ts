import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { DEBIAN_GOCODE, goToolchain, toolchainVerdict } from "./debianToolchain.js";
import { checkProgramContract } from "./checkProgramContract.js";
import { runProgram } from "./runProgram.js";
import { cleanEnv, REPO_ROOT } from "./sdkPaths.js";
import { startTestApp } from "../testing/testApp.js";

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
    [app] = await Promise.all([startTestApp({ token: TOKEN }).then((t) => t.app), built]);
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

  checkProgramContract(check, () => app!, { tickType: "*ibproviderv1.Tick", unauthenticated: "Unauthenticated", cancelled: "Canceled" });

  it("runs examples/go/stream_trades: three BTCUSDT trade prints", async () => {
    const { stdout } = await runProgram(bin("stream_trades"), ["BTCUSDT", "3"], { cwd: REPO_ROOT, env, timeoutMs: 30_000 });
    const trades = stdout.split("\n").filter((line) => / BTCUSDT .* @ [\d.]+ on PAXOS \(#\d+\)$/.test(line));
    expect(trades).toHaveLength(3);
  });
});
