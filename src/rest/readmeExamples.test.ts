import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { loadConfig } from "../config/loadConfig.js";
import { CANDLE_CSV_HEADER } from "../domain/candleCsv.js";
import { DEBIAN_PYTHON, pythonToolchain, toolchainVerdict } from "../sdk/debianToolchain.js";
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

interface Snippet {
  /** "docs/languages.md, python snippet 1". */
  name: string;
  file: string;
  body: string;
  /** The service address the docs use, as code writes it. */
  callsService: boolean;
}

function snippetsOf(rule: (typeof BLOCK_RULES)[string]): Snippet[] {
  const out: Snippet[] = [];
  for (const [file, blocks] of BLOCKS) {
    blocks
      .filter((b) => BLOCK_RULES[b.lang] === rule)
      .forEach((b, i) => out.push({ name: `${file}, ${b.lang} snippet ${i + 1}`, file, body: b.body, callsService: b.body.includes(DOC_SERVICE) }));
  }
  return out;
}

/** How code (not curl) names the service in the docs. */
const DOC_SERVICE = "127.0.0.1:50051";

/**
 * Snippets of docs this file's authors do not own that are known not to run as pasted: `it.fails` keeps
 * them visible and fails once they are fixed, so the entry is removed then.
 */
const KNOWN_BROKEN: Record<string, string> = {
};

describe("every code block in README.md and docs/*.md", () => {
  it("has a language with a rule in BLOCK_RULES (add one for a new kind of snippet)", () => {
    const unruled = [...BLOCKS].flatMap(([file, blocks]) => blocks.filter((b) => BLOCK_RULES[b.lang] === undefined).map((b) => `${file}: \`\`\`${b.lang}`));
    expect(unruled).toEqual([]);
    expect(snippetsOf("python").length).toBeGreaterThanOrEqual(1);
    expect(snippetsOf("typescript").length).toBeGreaterThanOrEqual(2);
  });

  it("shows no sudo: as root (a container) there is none; a comment says when to add it", () => {
    expect(COMMANDS.filter((c) => /(^|[;&|]\s*)sudo /.test(c.command)).map((c) => `${c.command}  (${whereShown(c)})`)).toEqual([]);
  });

  it.each(snippetsOf("json").map((j) => [j.name, j] as const))("%s is JSON (a provider config or a clients file passes loadConfig)", (_, j) => {
    const json = JSON.parse(j.body) as unknown;
    if (json !== null && typeof json === "object" && "clients" in json) {
      const dir = mkdtempSync(join(tmpdir(), "ibp-doc-clients-"));
      try {
        writeFileSync(join(dir, "clients.json"), j.body);
        expect(loadConfig({ env: { PROVIDER_CLIENTS_FILE: "clients.json" }, cwd: dir }).clients.length).toBeGreaterThan(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return;
    }
    if (json === null || typeof json !== "object" || !("provider" in json)) return;
    const dir = mkdtempSync(join(tmpdir(), "ibp-doc-config-"));
    try {
      writeFileSync(join(dir, "config.provider.json"), j.body);
      expect(loadConfig({ env: { PROVIDER_CONFIG_FILE: join(dir, "config.provider.json") }, cwd: dir }).provider.ib).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Runs a snippet's program until `enough(stdout)`, then stops it as a reader would (Ctrl-C = SIGINT) and
 * resolves with its output and exit code; a program that ends by itself resolves when it exits. Bounded:
 * killed (and rejected) past `timeoutMs`.
 */
function runSnippet(
  program: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; enough?: (out: string) => boolean; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string; code: number | null; interrupted: boolean }> {
  const { env: childEnv, enough, timeoutMs = 30_000 } = options;
  return new Promise((resolveRun, reject) => {
    const child = spawn(program, args, { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running after ${timeoutMs} ms\n--- stdout\n${stdout.slice(-2000)}\n--- stderr\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (!interrupted && enough?.(stdout) === true) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolveRun({ stdout, stderr, code, interrupted });
    });
  });
}

describe("TypeScript snippets, saved at the repository root as the docs say", () => {
  let dir: string;
  /** tsc's errors per snippet file name. */
  const errors = new Map<string, string[]>();
  const snippets = snippetsOf("typescript").map((t, i) => ({ ...t, fileName: `snippet${i + 1}.ts` }));

  beforeAll(async () => {
    // A directory of their own that resolves like the repository root: its node_modules, an ESM package,
    // the repository's compiler settings; "./src/…" and "./gen/…" imports point into the repository.
    dir = mkdtempSync(join(tmpdir(), "ibp-doc-ts-"));
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: join(ROOT, "tsconfig.json"), compilerOptions: { rootDir: "/", noEmit: true }, include: ["*.ts"] }));
    for (const t of snippets) writeFileSync(join(dir, t.fileName), t.body.replaceAll('from "./', `from "${ROOT}`));
    const tsc = await promisify(execFile)(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { cwd: dir, timeout: 120_000, encoding: "utf8" }).then(
      (r) => r.stdout,
      (err: { stdout?: string; message: string }) => err.stdout ?? err.message,
    );
    for (const line of tsc.split("\n")) {
      const m = /^(?:.*\/)?(snippet\d+\.ts)\(\d+,\d+\): error (.*)$/.exec(line);
      if (m !== null) errors.set(m[1]!, [...(errors.get(m[1]!) ?? []), line.replace(/^.*\//, "")]);
      else if (/error TS/.test(line)) errors.set("(other)", [...(errors.get("(other)") ?? []), line]);
    }
  }, 130_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("compile without errors elsewhere (the repository's own files)", () => {
    expect(errors.get("(other)") ?? []).toEqual([]);
  });

  for (const t of snippets) {
    const broken = KNOWN_BROKEN[t.name];
    (broken === undefined ? it : it.fails)(`type-checks: ${t.name}${broken === undefined ? "" : ` (known broken: ${broken})`}`, () => {
      expect(errors.get(t.fileName) ?? []).toEqual([]);
    });
  }

  it.concurrent.each(snippets.filter((t) => t.callsService).map((t) => [t.name, t] as const))("runs against the service: %s", async (_, t) => {
    const file = join(dir, `run-${t.fileName}`);
    writeFileSync(file, readFileSync(join(dir, t.fileName), "utf8").replaceAll(DOC_SERVICE, `127.0.0.1:${app.grpc.port}`));
    // A snippet that streams until Ctrl-C is stopped after a few messages, as its reader would.
    const streams = t.body.includes("SIGINT");
    const result = await runSnippet(process.execPath, ["--import", "tsx", file], {
      env: env(),
      enough: streams ? (out) => (out.match(/^#\d+ /gm) ?? []).length >= 3 : undefined,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).not.toBe("");
    expect(result.interrupted, "a streaming snippet was stopped with Ctrl-C").toBe(streams);
  }, 40_000);
});

const python = toolchainVerdict(pythonToolchain);

describe.skipIf(!python.run)("Python snippets, with the generated client on PYTHONPATH as the docs say", () => {
  let outDir: string;

  beforeAll(async () => {
    if (python.message !== undefined) throw new Error(python.message);
    outDir = mkdtempSync(join(tmpdir(), "ibp-doc-py-"));
    await promisify(execFile)("npx", ["buf", "generate", "--template", "buf.gen.python.yaml", "-o", outDir], { cwd: ROOT, timeout: 60_000 });
  }, 70_000);

  afterAll(() => {
    if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
  });

  it.each(snippetsOf("python").map((p) => [p.name, p] as const))("runs: %s", async (_, p) => {
    const code = p.body.replaceAll(DOC_SERVICE, `127.0.0.1:${app.grpc.port}`);
    // Streams until Ctrl-C: stopped after three printed events.
    const result = await runSnippet(DEBIAN_PYTHON, ["-c", code], {
      env: { ...env(), PYTHONPATH: join(outDir, "clients", "python"), PYTHONDONTWRITEBYTECODE: "1" },
      enough: (out) => out.split("\n").filter((l) => l.trim() !== "").length >= 3,
    });
    if (!result.interrupted) expect(result.code, result.stderr).toBe(0);
    // Ctrl-C in a plain script ends in Python's KeyboardInterrupt traceback: that one only.
    else expect(result.stderr.replace(/^Traceback[\s\S]*\nKeyboardInterrupt\s*$/, ""), "only Ctrl-C's KeyboardInterrupt").toBe("");
    expect(result.stdout.trim(), result.stderr).not.toBe("");
  }, 40_000);
});
