import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { loadConfig } from "../config/loadConfig.js";
import { DEBIAN_PYTHON, pythonToolchain, toolchainVerdict } from "../sdk/debianToolchain.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { BLOCK_RULES, BLOCKS, COMMANDS, ROOT, TOKEN, whereShown } from "./testing/docCommands.js";

// Every code block of README.md and docs/*.md that is a program (TypeScript, Python) compiles and runs
// against a real service as pasted; JSON blocks parse and load. Apart from readmeExamples.test.ts (the
// shell commands) so that the two, each seconds of child processes, run side by side.
let testApp: TestApp;
let app: RunningApp;
const env = () => ({ ...process.env, PROVIDER_API_TOKEN: TOKEN });

beforeAll(async () => {
  testApp = await startTestApp({ token: TOKEN });
  app = testApp.app;
}, 20_000);

afterAll(async () => {
  await testApp?.stop();
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
