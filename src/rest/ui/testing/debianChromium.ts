import { existsSync } from "node:fs";

/** Debian's Chromium (`apt-get install chromium`, installed by .ci/run): puppeteer-core drives it, nothing is downloaded. */
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/**
 * As src/sdk/debianToolchain.ts does for Python and Go: CI must run the browser test, so there a missing
 * Chromium is a failure; on a developer machine the test is skipped with the command that enables it.
 */
export function chromiumVerdict(env: NodeJS.ProcessEnv = process.env, path = DEBIAN_CHROMIUM): { run: boolean; message: string | undefined } {
  if (existsSync(path)) return { run: true, message: undefined };
  const message = `console browser test: no Chromium at ${path} (apt-get install -y --no-install-recommends chromium)`;
  return { run: env.CI !== undefined && env.CI !== "", message };
}
