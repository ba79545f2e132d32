import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../config/configError.js";

/** A fresh temporary directory holding `name` with `content` (JSON-encoded unless it is a string). */
export function dirWithFile(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "ibp-config-"));
  writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
  return dir;
}

/** The ConfigError `fn` throws (anything else, or nothing, fails the test). */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}
