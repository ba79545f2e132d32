import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// `npm ci` warns EBADENGINE when a package it installs does not support the running Node. Every Node our
// package.json's "engines" admits must be admitted by every package of the lockfile, or a user following
// the README on a supported Node is greeted by warnings (a devDependency once needed Node >= 22.19 while we
// declared >= 20.12). Checked over a sample of Node versions (each minor of 18-26, patch 0 and 99): enough
// to catch a range that starts or ends inside a major.
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, "utf8")) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

type Version = [number, number, number];
const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The subset of node-semver ranges packages use for engines: ||, space-joined comparators, ^ ~ >= > <= < =, x-ranges. */
function satisfies(version: Version, range: string): boolean {
  return range.split("||").some((alternative) => {
    const comparators = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1").split(/\s+/).filter(Boolean);
    return comparators.every((c) => comparatorAccepts(version, c));
  });
}

function comparatorAccepts(v: Version, comparator: string): boolean {
  const m = /^(>=|<=|>|<|=|\^|~)?v?(\d+|[x*])(?:\.(\d+|[x*]))?(?:\.(\d+|[x*]))?$/.exec(comparator);
  if (m === null) throw new Error(`range syntax this check does not know: ${comparator}`);
  const op = m[1] ?? "";
  const parts = [m[2], m[3], m[4]].map((p) => (p === undefined || p === "x" || p === "*" ? undefined : Number(p)));
  const given = parts.findIndex((p) => p === undefined);
  const known = given === -1 ? 3 : given; // how many leading components are numbers
  if (known === 0) return true; // "*"
  const low = [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0] as Version;
  /** The first version above the x-range "1.2.x" → 1.3.0. */
  const above = (digits: number): Version => (digits === 1 ? [low[0] + 1, 0, 0] : digits === 2 ? [low[0], low[1] + 1, 0] : [low[0], low[1], low[2] + 1]);
  switch (op) {
    case ">=":
      return compare(v, low) >= 0;
    case ">":
      return compare(v, above(known)) >= 0;
    case "<":
      return compare(v, low) < 0;
    case "<=":
      return compare(v, above(known)) < 0;
    case "^":
      return compare(v, low) >= 0 && compare(v, low[0] > 0 || known === 1 ? above(1) : low[1] > 0 || known === 2 ? above(2) : above(3)) < 0;
    case "~":
      return compare(v, low) >= 0 && compare(v, above(Math.min(known, 2))) < 0;
    default:
      return compare(v, low) >= 0 && compare(v, above(known)) < 0;
  }
}

const SAMPLE: Version[] = [];
for (let major = 18; major <= 26; major++) for (let minor = 0; minor <= 40; minor++) SAMPLE.push([major, minor, 0], [major, minor, 99]);

describe("Node versions", () => {
  it("reads the engine ranges packages use", () => {
    expect(satisfies([20, 12, 0], ">=22.19.0")).toBe(false);
    expect(satisfies([20, 19, 0], "^20.19.0 || >=22.12.0")).toBe(true);
    expect(satisfies([21, 0, 0], "^20.19.0 || >=22.12.0")).toBe(false);
    expect(satisfies([23, 1, 0], "^20.0.0 || ^22.0.0 || >=24.0.0")).toBe(false);
    expect(satisfies([8, 3, 0], "6.* || 8.* || >= 10.*")).toBe(true);
    expect(satisfies([9, 0, 0], "6.* || 8.* || >= 10.*")).toBe(false);
    expect(satisfies([13, 6, 0], "^10 || ^12 || ^13.7 || ^14 || >=15.0.1")).toBe(false);
    expect(satisfies([20, 1, 0], ">= 10.x")).toBe(true);
  });

  it("every package npm ci installs supports every Node version package.json's engines admit (no EBADENGINE)", () => {
    const admitted = SAMPLE.filter((v) => satisfies(v, pkg.engines.node));
    expect(admitted.length).toBeGreaterThan(0);
    const disagreements: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (path === "" || range === undefined) continue;
      const refused = admitted.find((v) => !satisfies(v, range));
      if (refused !== undefined) disagreements.push(`${path.replace(/^.*node_modules\//, "")}@${entry.version} needs node ${range}: refuses ${refused.join(".")}`);
    }
    expect(disagreements, `package.json declares node ${pkg.engines.node}`).toEqual([]);
  });
});
