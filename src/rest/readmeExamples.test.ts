import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";

// Every shell command shown in README.md and docs/*.md is run as a reader would run it, or checked, by
// the rule of COMMAND_RULES it matches: the docs stay true or this fails. A command no rule matches fails
// too, so a new kind of command cannot slip into the docs unchecked. Commands are taken from ```sh / ```bash
// blocks: continuation lines joined, `# …` comments dropped, and each distinct command once (IB paces
// identical history requests 15 s apart, and README shows a few of docs/'s calls again).
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOC_FILES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
const CI_SCRIPT = readFileSync(join(ROOT, ".ci/run"), "utf8");
const TOKEN = "readme-token";
const DOC_REST = "http://127.0.0.1:8081";
const DOC_GRPC = "http://127.0.0.1:50051";

type Check =
  /** curl against the REST bridge: the status shown (or 200), a JSON body, or messages for `-N` streams. */
  | { kind: "rest" }
  /** buf curl against the gRPC server: exits 0 with JSON (or the method list). */
  | { kind: "grpc" }
  /** The simulator CLI: `--help` exits 0 and the doc lists every flag it prints; otherwise it starts
   * (on an ephemeral port instead of the one shown) and is stopped once it listens. */
  | { kind: "simulator" }
  /** A step CI runs: it must appear in .ci/run (npm's --silent aside), which runs it on every push. */
  | { kind: "ci" }
  /** An SDK path: the same program (example or buf template) must be run by a test under src/. */
  | { kind: "sdk" }
  /** Debian packages: every one must be in .ci/run's SDK_DEBIAN_PACKAGES, which CI installs. */
  | { kind: "apt" }
  /** Cannot run inside a test, for the reason given. */
  | { kind: "skip"; why: string };

const COMMAND_RULES: ReadonlyArray<{ match: RegExp; check: Check }> = [
  { match: /^curl /, check: { kind: "rest" } },
  { match: /^npx buf curl /, check: { kind: "grpc" } },
  { match: /^npm run simulator -- /, check: { kind: "simulator" } },
  { match: /^(npx buf (lint|breaking)|npm run gen:check|npx tsc) ?/, check: { kind: "ci" } },
  { match: /^(npx buf generate --template |\/usr\/bin\/python3 examples\/|GO111MODULE=off .* go run |npx tsx examples\/)/, check: { kind: "sdk" } },
  { match: /^sudo apt-get install /, check: { kind: "apt" } },
  { match: /^npm (ci|install)$/, check: { kind: "skip", why: "reinstalls node_modules under the running suite; .ci/run runs npm ci on every CI run" } },
  { match: /^npm start( &)?$/, check: { kind: "skip", why: "serves until stopped; this file starts the same service with startApp (startTestApp) on ephemeral ports and runs the docs' calls against it" } },
  { match: /^npm test$/, check: { kind: "skip", why: "is the suite this test belongs to" } },
  { match: /^npm run gen$/, check: { kind: "skip", why: "rewrites gen/; CI's npm run gen:check proves it leaves gen/ unchanged" } },
  { match: /^npm run bench$/, check: { kind: "skip", why: "takes ≈ 3 minutes of every core: a benchmark, not a test (bench/README.md)" } },
];

interface Block {
  file: string;
  lang: string;
  body: string;
  /** Text between the previous block and this one. */
  before: string;
}

interface DocCommand {
  command: string;
  /** Where it is shown: file and index of its block in that file. */
  shown: Array<{ file: string; block: number }>;
  check: Check | undefined;
}

const textOf = (file: string) => readFileSync(join(ROOT, file), "utf8");

function blocksOf(file: string): Block[] {
  const text = textOf(file);
  const out: Block[] = [];
  let last = 0;
  for (const m of text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    out.push({ file, lang: m[1]!, body: m[2]!, before: text.slice(last, m.index) });
    last = m.index + m[0].length;
  }
  return out;
}

const BLOCKS = new Map(DOC_FILES.map((file) => [file, blocksOf(file)]));
const isShell = (b: Block) => ["sh", "bash", "shell"].includes(b.lang);

/** The commands of a shell block: continuation lines joined, comment lines and trailing comments dropped. */
function commandsOf(body: string): string[] {
  return body
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

function docCommands(): DocCommand[] {
  const byCommand = new Map<string, DocCommand>();
  for (const [file, blocks] of BLOCKS) {
    blocks.forEach((b, block) => {
      if (!isShell(b)) return;
      for (const command of commandsOf(b.body)) {
        const entry = byCommand.get(command) ?? { command, shown: [], check: COMMAND_RULES.find((r) => r.match.test(command))?.check };
        entry.shown.push({ file, block });
        byCommand.set(command, entry);
      }
    });
  }
  return [...byCommand.values()];
}

const COMMANDS = docCommands();
const ofKind = (kind: Check["kind"]) => COMMANDS.filter((c) => c.check?.kind === kind);
/** it.each rows named by the whole command ("$command" would be cut at 40 characters). */
const rows = (commands: DocCommand[]) => commands.map((c) => [c.command, c] as const);
const whereShown = (c: DocCommand) => c.shown.map((s) => s.file).join(", ");

/** The status the docs show for a command ("answers HTTP 400 with" before the next block), else 200. */
function shownStatus(c: DocCommand): string {
  for (const { file, block } of c.shown) {
    const status = /answers HTTP (\d{3})/.exec(BLOCKS.get(file)![block + 1]?.before ?? "")?.[1];
    if (status !== undefined) return status;
  }
  return "200";
}

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
    else expect(() => JSON.parse(body) as unknown, body.slice(0, 300)).not.toThrow();
  }, 40_000);

  it.each(rows(ofKind("rest").filter((c) => c.command.includes(" -N "))))("streams: %s", async (_, c) => {
    const sse = c.command.includes("text/event-stream");
    const out = await runUntil(c.command, (o) => (sse ? sseMessages(o) : ndjsonMessages(o)).length >= 2 && o.endsWith("\n"));
    const messages = sse
      ? sseMessages(out).map((e) => JSON.parse(e.slice("data: ".length)) as unknown)
      : ndjsonMessages(out).map((l) => (JSON.parse(l) as { result: unknown }).result);
    expect(messages.length).toBeGreaterThanOrEqual(2);
    for (const m of messages) expect(m).toHaveProperty("events");
  }, 40_000);

  it.each(rows(ofKind("grpc")))("%s", async (_, c) => {
    expect(c.command, "calls the address the docs use, replaced here by the test service's").toContain(DOC_GRPC);
    const { stdout } = await run(c.command);
    if (c.command.includes("--list-methods")) expect(stdout).toMatch(/^ibprovider\.v1\.RuntimeService\/GetRuntimeProof$/m);
    else expect(() => JSON.parse(stdout) as unknown, stdout.slice(0, 300)).not.toThrow();
  }, 40_000);

  it.each(rows(ofKind("simulator")))("%s", async (_, c) => {
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
    const packages = c.command.replace(/^sudo apt-get install /, "").split(/\s+/).filter((p) => p !== "" && !p.startsWith("-"));
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
      if (!existsSync(absolute)) broken.push(`${target} (no ${relative(ROOT, absolute)})`);
      else if (anchor !== undefined && absolute.endsWith(".md") && !anchorsOf(relative(ROOT, absolute)).has(anchor)) broken.push(`${target} (no such heading)`);
    }
    expect(broken).toEqual([]);
  });
});
