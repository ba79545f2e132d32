#!/usr/bin/env node
// Regenerates gen/ from proto/: TypeScript via ts-proto (buf.gen.yaml) and the descriptor image
// gen/ibprovider.binpb (server reflection, REST routes from google.api.http).
//   npm run gen          rewrite gen/
//   npm run gen:check    generate into a temp dir and fail if gen/ differs (CI drift check)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const buf = join(root, "node_modules", ".bin", "buf");
const check = process.argv.includes("--check");

function generate(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(buf, ["generate", "--output", outDir === join(root, "gen") ? "." : outDir], { cwd: root, stdio: "inherit" });
  // buf generate writes to <output>/gen; the image goes beside the stubs.
  const genDir = outDir === join(root, "gen") ? outDir : join(outDir, "gen");
  execFileSync(buf, ["build", "-o", join(genDir, "ibprovider.binpb")], { cwd: root, stdio: "inherit" });
  return genDir;
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

if (!check) {
  generate(join(root, "gen"));
  console.log("gen/ regenerated");
} else {
  const tmp = mkdtempSync(join(tmpdir(), "ib-provider-gen-"));
  try {
    const fresh = generate(tmp);
    const committed = join(root, "gen");
    const a = listFiles(fresh);
    const b = listFiles(committed);
    const drift = [];
    for (const f of new Set([...a, ...b])) {
      if (!a.includes(f)) drift.push(`extra in gen/: ${f}`);
      else if (!b.includes(f)) drift.push(`missing from gen/: ${f}`);
      else if (!readFileSync(join(fresh, f)).equals(readFileSync(join(committed, f)))) drift.push(`differs: gen/${f}`);
    }
    if (drift.length > 0) {
      console.error("gen/ is out of date with proto/ (run `npm run gen` and commit):\n  " + drift.join("\n  "));
      process.exit(1);
    }
    console.log(`gen/ is up to date (${a.length} files)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
