import { existsSync } from "node:fs";
import { ConfigError } from "./configError.js";
import { loadConfig, type AppConfig } from "./loadConfig.js";

/**
 * A program's configuration at start-up (`npm start`, `npm run edge`): `.env` of the working directory read
 * first (real environment variables win), then validated; an invalid one is the problems on stderr after
 * `program`'s name, exit code 2 — no stack, nothing started.
 */
export function loadConfigOrExit(program: string): AppConfig {
  if (existsSync(".env")) process.loadEnvFile(".env");
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${program}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
