import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The code blocks and shell commands of README.md and docs/*.md, and the rule each command is checked by:
 * shared by the doc tests (src/rest/readmeExamples.test.ts runs them against the service; the store CLI's
 * commands run in src/rest/docStoreCommands.test.ts, in parallel with it).
 */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const DOC_FILES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
export const CI_SCRIPT = readFileSync(join(ROOT, ".ci/run"), "utf8");
export const TOKEN = "readme-token";
export const DOC_REST = "http://127.0.0.1:8081";
export const DOC_GRPC = "http://127.0.0.1:50051";

export type Check =
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
  /** Waits for the service (after `npm start &`): returns at once against the running test service. */
  | { kind: "wait" }
  /** Prints $TOKEN's SHA-256 (a clients file's tokenSha256): run with a TOKEN, it prints that token's digest. */
  | { kind: "digest" }
  /** `npm run store -- …`: run from a scratch directory (where its output files land) on a scratch store file (STORE_PATH) holding AAPL and BTCUSDT candles; exits 0. */
  | { kind: "store" }
  /** `npm run backfill -- …`: against the test service (its address and token), over one day instead of the
   * days shown (IB's real pacing runs here: 30 days of minutes is minutes of waiting); exits 0 with a summary. */
  | { kind: "backfill" }
  /** Cannot run inside a test, for the reason given. */
  | { kind: "skip"; why: string };

/** Every language a doc's code block may have, and what is done with its blocks. */
export const BLOCK_RULES: Record<string, "shell" | "python" | "typescript" | "json" | "output"> = {
  sh: "shell",
  bash: "shell",
  shell: "shell",
  python: "python",
  ts: "typescript",
  json: "json",
  /** A block without a language shows output (an error message, a log line): nothing to run. */
  "": "output",
};

export const COMMAND_RULES: ReadonlyArray<{ match: RegExp; check: Check }> = [
  { match: /^curl /, check: { kind: "rest" } },
  { match: /^npx buf curl /, check: { kind: "grpc" } },
  { match: /^npm run simulator -- /, check: { kind: "simulator" } },
  { match: /^(npx buf (lint|breaking)|npm run gen:check|npx tsc) ?/, check: { kind: "ci" } },
  { match: /^(npx buf generate --template |\/usr\/bin\/python3 examples\/|GO111MODULE=off .* go run |npx tsx examples\/)/, check: { kind: "sdk" } },
  // As root (a container) there is no sudo: the docs show the root form and say "prefix with sudo" otherwise.
  { match: /^apt-get update && apt-get install /, check: { kind: "apt" } },
  { match: /^until curl -sf http:\/\/127\.0\.0\.1:8081\/api\/health\/ready >\/dev\/null; do sleep 1; done$/, check: { kind: "wait" } },
  { match: /^printf %s "\$TOKEN" \| sha256sum$/, check: { kind: "digest" } },
  { match: /^npm run (--silent )?store -- /, check: { kind: "store" } },
  { match: /^npm run backfill -- /, check: { kind: "backfill" } },
  { match: /^npm (ci|install)$/, check: { kind: "skip", why: "reinstalls node_modules under the running suite; .ci/run runs npm ci on every CI run" } },
  { match: /^npm start( &)?$/, check: { kind: "skip", why: "serves until stopped; this file starts the same service with startApp (startTestApp) on ephemeral ports and runs the docs' calls against it" } },
  { match: /^npm test$/, check: { kind: "skip", why: "is the suite this test belongs to" } },
  { match: /^npm run gen$/, check: { kind: "skip", why: "rewrites gen/; CI's npm run gen:check proves it leaves gen/ unchanged" } },
  { match: /^npm run bench$/, check: { kind: "skip", why: "takes ≈ 3 minutes of every core: a benchmark, not a test (bench/README.md)" } },
];

export interface Block {
  file: string;
  lang: string;
  body: string;
  /** Text between the previous block and this one. */
  before: string;
}

export interface DocCommand {
  command: string;
  /** Where it is shown: file and index of its block in that file. */
  shown: Array<{ file: string; block: number }>;
  check: Check | undefined;
}

export const textOf = (file: string) => readFileSync(join(ROOT, file), "utf8");

export function blocksOf(file: string): Block[] {
  const text = textOf(file);
  const out: Block[] = [];
  let last = 0;
  for (const m of text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    out.push({ file, lang: m[1]!, body: m[2]!, before: text.slice(last, m.index) });
    last = m.index + m[0].length;
  }
  return out;
}

export const BLOCKS = new Map(DOC_FILES.map((file) => [file, blocksOf(file)]));
export const isShell = (b: Block) => BLOCK_RULES[b.lang] === "shell";

/** The commands of a shell block: continuation lines joined, comment lines and trailing comments dropped. */
export function commandsOf(body: string): string[] {
  return body
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

export function docCommands(): DocCommand[] {
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

export const COMMANDS = docCommands();
export const ofKind = (kind: Check["kind"]) => COMMANDS.filter((c) => c.check?.kind === kind);
/** it.each rows named by the whole command ("$command" would be cut at 40 characters). */
export const rows = (commands: DocCommand[]) => commands.map((c) => [c.command, c] as const);
export const whereShown = (c: DocCommand) => c.shown.map((s) => s.file).join(", ");

/** The status the docs show for a command ("answers HTTP 400 with" before the next block), else 200. */
export function shownStatus(c: DocCommand): string {
  for (const { file, block } of c.shown) {
    const status = /answers HTTP (\d{3})/.exec(BLOCKS.get(file)![block + 1]?.before ?? "")?.[1];
    if (status !== undefined) return status;
  }
  return "200";
}

