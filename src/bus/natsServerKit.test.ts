import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { natsServerVerdict, startNatsServer } from "../testing/natsServer.js";

// The test kit itself: whatever a test does (or fails to do), no nats-server process and no store directory
// outlive it (CI runs the suite on a fresh 2-core machine many times a day).
const verdict = natsServerVerdict();
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  const started = Date.now();
  while (!test()) {
    if (Date.now() - started > ms) throw new Error(`not ${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(!verdict.run)("the nats-server test kit", () => {
  it("closes (and removes its store) when the server was killed under it", async () => {
    const server = await startNatsServer();
    const pid = server.pid!;
    process.kill(pid, "SIGKILL");
    await until("dead", () => !alive(pid));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = await Promise.race([server.close().then(() => "closed"), new Promise((resolve) => setTimeout(() => resolve("hung"), 5_000))]);
    expect(closed).toBe("closed");
    expect(existsSync(server.storeDir)).toBe(false);
  }, 20_000);

  it("leaves no server and no store directory behind a test process that ends without closing it", async () => {
    const script = `import { startNatsServer } from ${JSON.stringify(pathToFileURL(join(ROOT, "src", "testing", "natsServer.ts")).href)};
const s = await startNatsServer();
process.stdout.write(JSON.stringify({ pid: s.pid, dir: s.storeDir }) + "\\n");
process.exit(0);`;
    const child = spawn(process.execPath, ["--import", TSX, "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    await new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const { pid, dir } = JSON.parse(out) as { pid: number; dir: string };
    try {
      await until("stopped", () => !alive(pid), 5_000);
      expect(existsSync(dir)).toBe(false);
    } finally {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  }, 20_000);
});
