import { spawn } from "node:child_process";
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
import { until } from "../testing/until.js";
import { TcpProxy } from "../client/testing/tcpProxy.js";
import { createIbProviderClient } from "../client/ibProviderClient.js";

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

  it("runs examples/go/stream_trades cut off mid-stream: it resumes after the last print with nothing missed or repeated", async () => {
    // The example connects through a TCP proxy the test cuts; a TS client on a direct connection is the reference.
    const proxy = await TcpProxy.start(app!.grpc.port);
    const reference = createIbProviderClient({ address: `127.0.0.1:${app!.grpc.port}`, token: TOKEN });
    const stop = new AbortController();
    const seen: bigint[] = [];
    const seenIds: string[] = [];
    const referenceDone = (async () => {
      for await (const item of reference.marketData.streamTrades({ symbol: "BTCUSDT" }, { signal: stop.signal })) {
        if (item.kind === "event" && item.event.event?.$case === "trade") {
          seen.push(item.sequence!);
          seenIds.push(item.event.event.value.tradeId);
        }
      }
    })();
    const child = spawn(bin("stream_trades"), ["BTCUSDT", "8"], { cwd: REPO_ROOT, env: { ...env, IB_PROVIDER_ADDR: proxy.address } });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    // The trade id is the simulator's, not the feed's sequence: the resume line names the sequence, the
    // prints are compared by their ids with the reference's.
    const prints = () => [...stdout.matchAll(/ BTCUSDT .* @ [\d.]+ on PAXOS \(#(\d+)\)$/gm)].map((m) => m[1]!);
    try {
      await until(() => prints().length >= 2, { timeoutMs: 15_000, what: "two prints from the example" });
      proxy.cut();
      const count = prints().length;
      await until(() => /^reconnecting \(Unavailable\): resuming after #\d+ of epoch \d+$/m.test(stdout), { timeoutMs: 10_000, what: "the example to notice the drop" });
      const after = BigInt(/resuming after #(\d+)/.exec(stdout)![1]!);
      await until(() => seen.some((s) => s >= after + 2n), { timeoutMs: 15_000, what: "two prints while the example is cut off" });
      proxy.restore();
      await until(() => child.exitCode !== null, { timeoutMs: 20_000, what: "the example's eight prints" });
      expect(count).toBeLessThan(8);
    } finally {
      child.kill("SIGKILL");
      stop.abort();
      await referenceDone;
      reference.close();
      await proxy.close();
    }
    expect(await exited, stdout).toBe(0);
    expect(prints(), stdout).toHaveLength(8);
    // The reference's prints from the example's first one on, in order: none missed, none twice.
    const from = seenIds.indexOf(prints()[0]!);
    expect(from, stdout).toBeGreaterThanOrEqual(0);
    expect(prints()).toEqual(seenIds.slice(from, from + 8));
    expect(stdout).not.toMatch(/^gap:/m);
  }, 60_000);
});
