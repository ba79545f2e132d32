import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

// What a user meets at `npm start`: the real src/main.ts in its own process, from a directory of its own
// (no .env, no config/ unless a test writes one), with only the environment each test gives it.
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MAIN = join(ROOT, "src", "main.ts");
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code; rejects past `timeoutMs` (the process is then killed). */
  exited: (timeoutMs?: number) => Promise<number | null>;
  /** Resolves once stdout contains `text`; rejects when the process exits first or past `timeoutMs`. */
  printed: (text: string, timeoutMs?: number) => Promise<void>;
}

const runs: Run[] = [];
const dirs: string[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill("SIGKILL");
      await r.exited(5_000).catch(() => undefined);
    }
  }
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function startMain(env: Record<string, string>, cwd = freshDir()): Run {
  const child = spawn(process.execPath, ["--import", TSX, MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", GRPC_PORT: "0", REST_PORT: "0", SIMULATOR_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const run: Run = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: (timeoutMs = 25_000) =>
      Promise.race([
        exit,
        new Promise<never>((_, reject) =>
          setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`src/main.ts still running after ${timeoutMs} ms\n--- stdout\n${out}\n--- stderr\n${err}`));
          }, timeoutMs).unref(),
        ),
      ]),
    printed: (text, timeoutMs = 25_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms\n--- stdout\n${out}\n--- stderr\n${err}`)), timeoutMs);
        const check = () => {
          if (out.includes(text)) {
            clearTimeout(timer);
            child.stdout!.off("data", check);
            resolve();
          }
        };
        child.stdout!.on("data", check);
        void exit.then((code) => {
          clearTimeout(timer);
          if (out.includes(text)) resolve();
          else reject(new Error(`exited with ${code} before printing "${text}"\n--- stdout\n${out}\n--- stderr\n${err}`));
        });
        check();
      }),
  };
  runs.push(run);
  return run;
}

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ibp-main-"));
  dirs.push(dir);
  return dir;
}

/** A port something else already listens on (loopback). */
async function portInUse(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

const jsonLines = (out: string) =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number; msg: string });

describe("npm start (src/main.ts) for a new user", { timeout: 40_000 }, () => {
  it("stops, naming the file, when PROVIDER_CONFIG_FILE names a file that does not exist", async () => {
    const missing = join(freshDir(), "config.provdier.json");
    const run = startMain({ PROVIDER_CONFIG_FILE: missing });
    expect(await run.exited()).toBe(2);
    expect(run.stderr()).toContain(`environment variable PROVIDER_CONFIG_FILE: file not found: ${missing}`);
    expect(run.stdout(), "nothing was started").not.toContain("ib-provider is serving");
  });

  it("starts with a warning when the default config/config.provider.json is absent (logs: JSON lines into a pipe)", async () => {
    const cwd = freshDir();
    const run = startMain({}, cwd);
    await run.printed("ib-provider is serving");
    const warning = jsonLines(run.stdout()).find((l) => l.msg.includes("no provider config"));
    expect(warning, run.stdout()).toMatchObject({ level: 40 });
    expect(warning!.msg).toContain(join(cwd, "config", "config.provider.json"));
    run.child.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
  });

  it.each(["GRPC_PORT", "REST_PORT", "SIMULATOR_PORT"])("a port in use: one line naming %s, exit 2, no stack trace", async (variable) => {
    const port = await portInUse();
    const run = startMain({ [variable]: String(port) });
    expect(await run.exited()).toBe(2);
    const lines = run.stderr().trim().split("\n");
    expect(lines, run.stderr()).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^ib-provider: .*127\\.0\\.0\\.1:${port}: the port is already in use.*set ${variable} to a free port$`));
    expect(run.stdout()).not.toMatch(/"level":60|"stack"|    at /);
  });
});

describe("npm start's logs", { timeout: 40_000 }, () => {
  // script(1) gives the process a pseudo-terminal, as a shell does.
  it.skipIf(!existsSync("/usr/bin/script"))("are readable lines on a terminal", async () => {
    const command = `exec env -i PATH="$PATH" HOME="$HOME" GRPC_PORT=0 REST_PORT=0 SIMULATOR_PORT=0 ${JSON.stringify(process.execPath)} --import ${TSX} ${MAIN}`;
    const child = spawn("/usr/bin/script", ["-qefc", command, "/dev/null"], { cwd: freshDir(), stdio: ["pipe", "pipe", "pipe"], env: process.env, detached: true });
    let out = "";
    const serving = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not serving within 25 s:\n${out}`)), 25_000);
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("ib-provider is serving")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    try {
      await serving;
      const line = out.split(/\r?\n/).find((l) => l.includes("ib-provider is serving"))!;
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*ib-provider is serving/);
      expect(out).not.toContain('"msg":');
    } finally {
      process.kill(-child.pid!, "SIGKILL"); // script and the service under it
    }
  });
});
