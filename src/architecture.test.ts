import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Data flows one way (docs: "The folder list shows the architecture"): each layer of src/ imports only
 * the layers below it. Checked on every non-test source file, so a shortcut upward fails here, not in review.
 */
const SRC = dirname(fileURLToPath(import.meta.url));

/** NATS is the bus's business (src/bus): no other layer reaches it, so the all-in-one process never loads it. */
const NATS = ["@nats-io/transport-node", "@nats-io/jetstream", "@nats-io/nats-core", "@nats-io/kv"];

/** What each folder of src/ may import besides itself (folders of src/, "gen", or packages). */
const ALLOWED: Record<string, { folders: string[]; forbiddenPackages?: string[] }> = {
  domain: { folders: [], forbiddenPackages: ["@stoqey/ib", "@grpc/grpc-js", "@bufbuild/protobuf", "express", ...NATS] },
  stream: { folders: ["domain"], forbiddenPackages: ["@stoqey/ib", "@grpc/grpc-js", "@bufbuild/protobuf", "express", ...NATS] },
  // The embedded store (SQLite): persistence only, no IB, no transport; it implements the stream core's journal seam (stream/feedJournal.ts).
  store: { folders: ["domain", "stream"], forbiddenPackages: ["@stoqey/ib", "@grpc/grpc-js", "@bufbuild/protobuf", "express", ...NATS] },
  // The provider role's bus (NATS JetStream): it implements the stream core's tap seam (stream/feedTap.ts) with
  // the bytes the journal gets; no IB, no gRPC, no HTTP.
  bus: { folders: ["domain", "stream", "store", "log", "metrics"], forbiddenPackages: ["@stoqey/ib", "@grpc/grpc-js", "@bufbuild/protobuf", "express"] },
  log: { folders: [], forbiddenPackages: NATS },
  metrics: { folders: [], forbiddenPackages: NATS },
  config: { folders: ["domain", "stream", "store", "ib", "bus"], forbiddenPackages: NATS }, // ib: adapter option types only; bus: its settings only
  ib: { folders: ["domain", "stream", "store", "config", "log", "metrics"], forbiddenPackages: ["@grpc/grpc-js", "express", ...NATS] },
  grpc: { folders: ["gen", "domain", "stream", "ib", "config", "log", "metrics"], forbiddenPackages: ["@stoqey/ib", "express", ...NATS] },
  rest: { folders: ["gen", "domain", "grpc", "stream", "config", "log", "metrics"], forbiddenPackages: ["@stoqey/ib", ...NATS] },
  // The simulated Gateway is a product of its own: it shares only the exchange calendar.
  simulator: { folders: ["domain"], forbiddenPackages: ["@stoqey/ib", "@grpc/grpc-js", ...NATS] },
  client: { folders: ["gen"], forbiddenPackages: ["@stoqey/ib", ...NATS] },
  // The edge role and what the provider answers edges with: between the bus (NATS, in src/bus) and the gRPC
  // server and REST bridge, as the REST bridge is between HTTP and gRPC; never IB.
  edge: { folders: ["gen", "domain", "stream", "grpc", "rest", "bus", "config", "log", "metrics"], forbiddenPackages: ["@stoqey/ib", ...NATS] },
  cli: { folders: ["gen", "domain", "store", "config", "rest"], forbiddenPackages: ["@stoqey/ib", "express", ...NATS] }, // operator commands: the store file itself, or the service as a gRPC client; never an IB connection of their own
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "testing" ? [] : sourceFiles(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'\n;]*?from\s*["']([^"']+)["']/g), ...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
}

/** The folder of src/ (or "gen") an import lands in, or the package it names. */
function targetOf(file: string, spec: string): { folder?: string; pkg?: string } {
  if (!spec.startsWith(".")) return { pkg: spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]! };
  const rel = relative(SRC, resolve(dirname(file), spec));
  if (rel.startsWith("../gen/") || rel === "../gen") return { folder: "gen" };
  if (rel.startsWith("..")) return { folder: rel };
  return { folder: rel.split("/")[0]! };
}

describe("the layers of src/", () => {
  for (const [layer, rules] of Object.entries(ALLOWED)) {
    it(`${layer}/ imports only ${rules.folders.length === 0 ? "itself" : rules.folders.join(", ")}${rules.forbiddenPackages ? ` and none of ${rules.forbiddenPackages.join(", ")}` : ""}`, () => {
      const violations: string[] = [];
      for (const file of sourceFiles(join(SRC, layer))) {
        for (const spec of importsOf(file)) {
          const { folder, pkg } = targetOf(file, spec);
          if (folder !== undefined && folder !== layer && !rules.folders.includes(folder)) violations.push(`${relative(SRC, file)} → ${spec}`);
          if (pkg !== undefined && rules.forbiddenPackages?.includes(pkg)) violations.push(`${relative(SRC, file)} → ${pkg}`);
        }
      }
      expect(violations).toEqual([]);
    });
  }
});
