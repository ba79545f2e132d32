import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "../app.js";
import { loadConfig } from "../config/loadConfig.js";
import { createLogger } from "../log/logger.js";

// The README's REST examples, run with curl as a reader would run them, against the service on the
// simulator: they stay true or this fails. (The https example is the seed's call, run in tls.test.ts.)
const TOKEN = "readme-token";
const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const SECTION = /\n## REST bridge[^\n]*\n([\s\S]*?)\n## /.exec(README)?.[1] ?? "";
let app: RunningApp;

interface Block {
  lang: string;
  body: string;
  /** Text between the previous block and this one. */
  before: string;
}

function blocks(): Block[] {
  const out: Block[] = [];
  let last = 0;
  for (const m of SECTION.matchAll(/```(\w*)\n([\s\S]*?)```/g)) {
    out.push({ lang: m[1]!, body: m[2]!, before: SECTION.slice(last, m.index) });
    last = m.index + m[0].length;
  }
  return out;
}

/** The curl commands of a shell block, continuation lines joined. */
function curlCommands(body: string): string[] {
  return body
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("curl "));
}

const run = (command: string) => promisify(execFile)("bash", ["-c", command.replaceAll("http://127.0.0.1:8081", app.rest.url)], { env: { ...process.env, PROVIDER_API_TOKEN: TOKEN }, timeout: 30_000, encoding: "utf8" });

/** Runs a streaming curl until it printed `count` messages, then stops it (bounded). */
function runStream(command: string, count: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", `exec ${command.replaceAll("http://127.0.0.1:8081", app.rest.url)}`], { env: { ...process.env, PROVIDER_API_TOKEN: TOKEN }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`stream example printed ${out.length} bytes in 20 s: ${out.slice(0, 300)}`));
    }, 20_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      const messages = command.includes("text/event-stream") ? out.split("\n\n").length - 1 : out.split("\n").length - 1;
      if (messages >= count) {
        clearTimeout(timer);
        child.kill("SIGTERM");
        resolve(out);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== null && code !== 0) reject(new Error(`exited with ${code}: ${out.slice(0, 300)}`));
    });
  });
}

beforeAll(async () => {
  app = await startApp(loadConfig({ env: { PROVIDER_API_TOKEN: TOKEN, GRPC_PORT: "0", REST_PORT: "0", SIMULATOR_PORT: "0" } }), createLogger("silent"));
}, 30_000);

afterAll(async () => {
  await app.stop();
});

describe("README: REST bridge", () => {
  const shellBlocks = blocks().filter((b) => b.lang === "sh");
  const commands = shellBlocks.flatMap((b) => curlCommands(b.body));

  it("has curl examples to check", () => {
    expect(commands.length).toBeGreaterThanOrEqual(12);
  });

  /** The status the README shows for a command ("answers HTTP 400 with" before the next block), else 200. */
  const shownStatus = (command: string): string => {
    const all = blocks();
    const i = all.findIndex((b) => b.lang === "sh" && curlCommands(b.body).includes(command));
    return /answers HTTP (\d{3})/.exec(all[i + 1]?.before ?? "")?.[1] ?? "200";
  };

  it.each(commands.filter((c) => !c.includes(" -N ")))("%s", async (command) => {
    // One run (IB paces identical history requests 15 s apart): the body, then the status on its own line.
    const { stdout } = await run(`${command.replace(/\s+#.*$/, "")} -w '\n%{http_code}'`);
    const body = stdout.slice(0, stdout.lastIndexOf("\n"));
    expect(stdout.slice(stdout.lastIndexOf("\n") + 1), body.slice(0, 300)).toBe(shownStatus(command));
    if (command.includes("/api/metrics")) expect(body).toContain("ibprovider_ib_connected 1");
    else expect(() => JSON.parse(body) as unknown, body.slice(0, 300)).not.toThrow();
  });

  it.each(commands.filter((c) => c.includes(" -N ")))("streams: %s", async (command) => {
    const out = await runStream(command, 2);
    const messages = command.includes("text/event-stream")
      ? out.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => JSON.parse(e.slice(6)) as unknown)
      : out.split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { result: unknown }).result);
    expect(messages.length).toBeGreaterThanOrEqual(2);
    for (const m of messages) expect(m).toHaveProperty("events");
  });

  it("shows the error body the service really sends", async () => {
    const all = blocks();
    const shown = all.findIndex((b) => b.lang === "json" && /answers HTTP \d{3}/.test(b.before));
    expect(shown).toBeGreaterThan(0);
    const [command] = curlCommands(all[shown - 1]!.body);
    const { stdout } = await run(command!);
    expect(JSON.parse(stdout)).toEqual(JSON.parse(all[shown]!.body));
  });

  it("lists every route the bridge mounts", () => {
    for (const route of app.rest.routes) expect(SECTION).toContain(`\`${route.httpMethod} ${route.template.source}\``);
  });
});
