import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { natsServerVerdict, startNatsServer } from "../testing/natsServer.js";

// What an operator meets at `npm run edge`: the real src/edge/main.ts in its own process, from a directory
// of its own, with only the environment each test gives it.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(ROOT, "src", "edge", "main.ts");
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
const cwd = mkdtempSync(join(tmpdir(), "ibp-edge-main-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs the edge until it exits or prints `until` on stdout (then kills it); at most 15 s. */
function runEdge(env: Record<string, string>, until?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", TSX, MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", GRPC_PORT: "0", REST_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let signalled = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the edge neither exited nor printed ${until ?? "anything awaited"} in 15 s: ${stderr}${stdout}`));
    }, 15_000);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      // Once: a second signal means "now" (exit 1), as for npm start.
      if (until !== undefined && !signalled && stdout.includes(until)) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("npm run edge", () => {
  it("refuses to start without BUS_URL, saying what an edge is (exit 2)", async () => {
    const run = await runEdge({});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^ib-provider edge: BUS_URL is not set: an edge serves what its provider publishes on the bus/);
  }, 20_000);

  it("stops with one line naming BUS_URL and the address when the bus cannot be reached (exit 1), never serving without it", async () => {
    const port = await closedPort();
    const run = await runEdge({ BUS_URL: `nats://127.0.0.1:${port}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^ib-provider edge: BUS_URL nats://127.0.0.1:${port}: cannot connect to the bus`));
    expect(run.stdout).not.toContain("is serving");
  }, 20_000);

  const verdict = natsServerVerdict();
  it.skipIf(!verdict.run)("serves once its bus is up, and stops on SIGTERM", async () => {
    const nats = await startNatsServer();
    try {
      const run = await runEdge({ BUS_URL: nats.url }, "ib-provider edge is serving");
      expect(run.stdout).toContain(`"bus":"${nats.url}"`);
      expect(run.code, run.stdout + run.stderr).toBe(0);
    } finally {
      await nats.close();
    }
  }, 20_000);
});
