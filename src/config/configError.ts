import { readFileSync } from "node:fs";
import type { z } from "zod";

/** One invalid configuration value: where it is (file or env var + JSON path) and what was expected. */
export interface ConfigProblem {
  source: string;
  path: string;
  message: string;
}

/** Stops start-up; its message names every bad field so the operator can fix them all at once. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      "invalid configuration:\n" +
        problems.map((p) => `  ${p.source}${p.path ? ` at ${p.path}` : ""}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** JSON path in the style `provider.connectors[0].markets[1].marketType`. */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Turns zod issues into problems that also show the offending value. */
export function problemsFromZod(
  source: string,
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
  pathPrefix: readonly PropertyKey[] = [],
): ConfigProblem[] {
  return issues.map((issue) => {
    const path = [...pathPrefix, ...issue.path];
    const got = valueAt(input, issue.path);
    const shown = got === undefined || typeof got === "object" ? "" : ` (got ${JSON.stringify(got)})`;
    return { source, path: formatJsonPath(path), message: issue.message + shown };
  });
}

/**
 * JSON.parse's complaint without the text it quotes (V8 quotes a snippet around the fault, and a config file
 * may hold a token): where it is, when V8 says, as line and column of `text`.
 */
export function jsonSyntaxProblem(err: unknown, text: string): string {
  const position = /position (\d+)/.exec(err instanceof Error ? err.message : "")?.[1];
  if (position === undefined) return "not valid JSON";
  const before = text.slice(0, Number(position)).split("\n");
  return `not valid JSON at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** A JSON file's value, or undefined with the problem added: a syntax error by line and column, never its text. */
export function readJsonFile(file: string, problems: ConfigProblem[]): { json: unknown } | undefined {
  const text = readFileSync(file, "utf8");
  try {
    return { json: JSON.parse(text) as unknown };
  } catch (err) {
    problems.push({ source: file, path: "", message: jsonSyntaxProblem(err, text) });
    return undefined;
  }
}
