import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { loadConfig } from "../config/loadConfig.js";
import { CANDLE_CSV_HEADER } from "../domain/candleCsv.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { BLOCK_RULES, BLOCKS, CI_SCRIPT, COMMANDS, commandsOf, DOC_FILES, DOC_GRPC, DOC_REST, ofKind, ROOT, rows, shownStatus, textOf, TOKEN, whereShown } from "./testing/docCommands.js";

// Child processes that do not depend on each other (buf curl, the simulator CLI, TypeScript snippets) run
// concurrently: each costs seconds of process start-up, and this file is the suite's longest.
// Every code block in README.md and docs/*.md is run as a reader would paste it, or checked, by the rule
// of BLOCK_RULES its language matches (a language without a rule fails, so a new kind of snippet cannot slip
// into the docs unchecked):
// - shell commands by the rule of COMMAND_RULES each matches (a command no rule matches fails too).
//   Commands are taken from ```sh / ```bash blocks: continuation lines joined, `# …` comments dropped, and
//   each distinct command once (IB paces identical history requests 15 s apart, and README shows a few of
//   docs/'s calls again);
// - Python and TypeScript snippets: type-checked (TypeScript, with the repository's compiler settings, as
//   a file saved at the repository root) and run against the service on the simulator where they call it
//   (its address replaced by the test service's), bounded, then stopped as the doc says (Ctrl-C);
// - JSON: parsed; a provider config or a clients file is validated by loadConfig.
let testApp: TestApp;
let app: RunningApp;
const env = () => ({ ...process.env, PROVIDER_API_TOKEN: TOKEN });
const local = (command: string) =>
  command.replaceAll(DOC_REST, app.rest.url).replaceAll(DOC_GRPC, `http://127.0.0.1:${app.grpc.port}`);
const run = (command: string, timeout = 30_000) =>
  promisify(execFile)("bash", ["-c", local(command)], { cwd: ROOT, env: env(), timeout, encoding: "utf8" });

/** Runs a long-lived command in its own process group until `done(output)`, then stops the group (bounded). */
function runUntil(command: string, done: (out: string) => boolean, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn("bash", ["-c", `exec ${local(command)}`], { cwd: ROOT, env: env(), stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let settled = false;
    const stop = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop("SIGTERM");
      // The group must be gone too (npm → tsx → node): a last SIGKILL if it ignored SIGTERM.
      setTimeout(() => stop("SIGKILL"), 3_000).unref();
      if (err) reject(err);
      else resolveRun(out);
    };
    const timer = setTimeout(() => finish(new Error(`not done within ${timeoutMs} ms: ${out.slice(0, 300)}`)), timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (done(out)) finish();
    });
    child.on("exit", (code) => {
      if (code !== null && code !== 0) finish(new Error(`exited with ${code}: ${out.slice(0, 300)}`));
    });
  });
}

const sseMessages = (out: string) => out.split("\n\n").filter((e) => e.startsWith("data: "));
const ndjsonMessages = (out: string) => out.split("\n").filter((l) => l !== "");

beforeAll(async () => {
  testApp = await startTestApp({ token: TOKEN });
  app = testApp.app;
}, 30_000);

afterAll(async () => {
  await testApp?.stop();
});

describe("every shell command in README.md and docs/*.md", () => {
  it("has a rule for every command (add one to COMMAND_RULES for a new kind of command)", () => {
    expect(COMMANDS.filter((c) => c.check === undefined).map((c) => `${c.command}  (${whereShown(c)})`)).toEqual([]);
    expect(ofKind("rest").length).toBeGreaterThanOrEqual(12);
    expect(ofKind("grpc").length).toBeGreaterThanOrEqual(4);
  });

  it.skip.each(ofKind("skip").map((c) => [c.command, (c.check as { why: string }).why]))("not run: %s — it %s", () => undefined);

  it.each(rows(ofKind("rest").filter((c) => !c.command.includes(" -N "))))("%s", async (_, c) => {
    expect(c.command, "calls the address the docs use, replaced here by the test service's").toContain(DOC_REST);
    // One run: the body, then the status on its own line.
    const { stdout } = await run(`${c.command} -w '\n%{http_code}'`);
    const body = stdout.slice(0, stdout.lastIndexOf("\n"));
    expect(stdout.slice(stdout.lastIndexOf("\n") + 1), body.slice(0, 300)).toBe(shownStatus(c));
    if (c.command.includes("/api/metrics")) expect(body).toContain("ibprovider_ib_connected 1");
    else if (/format=csv|Accept: text\/csv/.test(c.command)) expect(body.split("\n")[0]).toBe(CANDLE_CSV_HEADER.trimEnd());
    else expect(() => JSON.parse(body) as unknown, body.slice(0, 300)).not.toThrow();
  }, 40_000);

  it.each(rows(ofKind("rest").filter((c) => c.command.includes(" -N "))))("streams: %s", async (_, c) => {
    const sse = c.command.includes("text/event-stream");
    const backfill = c.command.includes("/api/store/backfill");
    const out = await runUntil(c.command, (o) => (backfill ? o.includes('"summary"') : (sse ? sseMessages(o) : ndjsonMessages(o)).length >= 2) && o.endsWith("\n"));
    const messages = sse
      ? sseMessages(out).map((e) => JSON.parse(e.slice("data: ".length)) as unknown)
      : ndjsonMessages(out).map((l) => (JSON.parse(l) as { result: unknown }).result);
    expect(messages.length).toBeGreaterThanOrEqual(2);
    // A backfill streams progress events, then its summary; live streams carry batches of events.
    if (backfill) expect(messages.at(-1)).toHaveProperty("summary.failedSymbols", 0);
    else for (const m of messages) expect(m).toHaveProperty("events");
  }, 40_000);

  it.each(rows(ofKind("backfill")))("%s", async (_, c) => {
    const { stdout } = await run(`${c.command.replace(/--days \d+/, "--days 1")} --url 127.0.0.1:${app.grpc.port}`, 40_000);
    expect(stdout).toMatch(/ bars stored from \d+ IB requests; every symbol done$/m);
  }, 45_000);

  it.concurrent.each(rows(ofKind("grpc")))("%s", async (_, c) => {
    expect(c.command, "calls the address the docs use, replaced here by the test service's").toContain(DOC_GRPC);
    const { stdout } = await run(c.command);
    if (c.command.includes("--list-methods")) expect(stdout).toMatch(/^ibprovider\.v1\.RuntimeService\/GetRuntimeProof$/m);
    else expect(() => JSON.parse(stdout) as unknown, stdout.slice(0, 300)).not.toThrow();
  }, 40_000);

  it.concurrent.each(rows(ofKind("simulator")))("%s", async (_, c) => {
    if (c.command.includes("--help")) {
      const { stdout } = await run(c.command, 60_000);
      // The flags of the help text (npm echoes the command itself on "> " lines).
      const help = stdout.split("\n").filter((l) => !l.startsWith(">")).join("\n");
      const flags = [...new Set(help.match(/--[a-z][a-z-]+/g) ?? [])];
      expect(flags.length).toBeGreaterThan(10);
      for (const { file } of c.shown) expect(flags.filter((f) => !textOf(file).includes(`\`${f}`)), `flags ${file} does not list`).toEqual([]);
      return;
    }
    // Port 0: the port shown (4002) may be a real Gateway's, or another run's.
    const out = await runUntil(c.command.replace(/--port \d+/, "--port 0"), (o) => o.includes("simulated IB Gateway listening"), 60_000);
    expect(out).toContain("simulated IB Gateway listening");
  }, 70_000);

  it.each(rows(ofKind("wait")))("returns once the service serves: %s", async (_, c) => {
    await run(c.command, 15_000);
  }, 20_000);

  it.each(rows(ofKind("digest")))("prints the token's SHA-256 as a clients file takes it: %s", async (_, c) => {
    const { stdout } = await promisify(execFile)("bash", ["-c", c.command], { cwd: ROOT, env: { ...process.env, TOKEN }, encoding: "utf8" });
    const digest = stdout.split(/\s+/)[0]!;
    expect(digest).toBe(createHash("sha256").update(TOKEN).digest("hex"));
    const dir = mkdtempSync(join(tmpdir(), "ibp-doc-clients-"));
    try {
      writeFileSync(join(dir, "clients.json"), JSON.stringify({ clients: [{ name: "doc", tokenSha256: digest }] }));
      expect(loadConfig({ env: { PROVIDER_CLIENTS_FILE: "clients.json" }, cwd: dir }).clients.map((client) => client.name)).toEqual(["doc"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(rows(ofKind("ci")))("CI runs: %s", (_, c) => {
    const lines = CI_SCRIPT.split("\n").map((l) => l.replace(" --silent", "").trim());
    expect(lines.some((l) => l.includes(c.command)), ".ci/run has this exact command").toBe(true);
  });

  it.each(rows(ofKind("sdk")))("an SDK test runs: %s", (_, c) => {
    const program = /(examples\/[\w./-]+|buf\.gen\.[\w.]+\.yaml)/.exec(c.command)?.[1];
    expect(program, "names an example or a buf template").toBeDefined();
    const tests = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".test.ts") && !f.endsWith("readmeExamples.test.ts"))
      .filter((f) => textOf(join("src", f)).includes(program!.replace(/^\.\//, "")));
    expect(tests, `a test under src/ that runs ${program}`).not.toEqual([]);
  });

  it.each(rows(ofKind("apt")))("CI installs: %s", (_, c) => {
    const ciPackages = /SDK_DEBIAN_PACKAGES=\(([^)]*)\)/.exec(CI_SCRIPT)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    const packages = c.command.replace(/^.*apt-get install /, "").split(/\s+/).filter((p) => p !== "" && !p.startsWith("-"));
    expect(packages.length).toBeGreaterThan(0);
    expect(packages.filter((p) => !ciPackages.includes(p))).toEqual([]);
  });

  it("shows the error body the service really sends", async () => {
    let shown = 0;
    for (const blocks of BLOCKS.values()) {
      for (const [i, b] of blocks.entries()) {
        if (b.lang !== "json" || !/answers HTTP \d{3}/.test(b.before) || i === 0) continue;
        const [command] = commandsOf(blocks[i - 1]!.body);
        const { stdout } = await run(command!);
        expect(JSON.parse(stdout), `${b.file}: ${command}`).toEqual(JSON.parse(b.body));
        shown++;
      }
    }
    expect(shown).toBeGreaterThanOrEqual(1);
  }, 40_000);
});

describe("docs/rest.md", () => {
  it("lists every route the bridge mounts", () => {
    const restDoc = textOf("docs/rest.md");
    for (const route of app.rest.routes) expect(restDoc).toContain(`\`${route.httpMethod} ${route.template.source}\``);
  });
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces → "-". */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

function anchorsOf(file: string): Set<string> {
  const prose = textOf(file).replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

describe("links between the docs", () => {
  it.each(DOC_FILES)("%s: every relative link and anchor resolves", (file) => {
    const prose = textOf(file).replace(/^```[\s\S]*?^```/gm, "");
    const broken: string[] = [];
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, anchor] = target!.split("#") as [string, string | undefined];
      const absolute = path === "" ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), path);
      // The console's screenshots are written by its browser test (git-ignored): absent before a test run.
      if (relative(ROOT, absolute).startsWith(`docs${sep}screenshots${sep}`)) continue;
      if (!existsSync(absolute)) broken.push(`${target} (no ${relative(ROOT, absolute)})`);
      else if (anchor !== undefined && absolute.endsWith(".md") && !anchorsOf(relative(ROOT, absolute)).has(anchor)) broken.push(`${target} (no such heading)`);
    }
    expect(broken).toEqual([]);
  });
});
