import { fileURLToPath } from "node:url";

/** The repository root: the README's commands run from here. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Environment for a child program: ours, minus settings that would point Python or Go elsewhere. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A pyenv/venv PYTHONHOME or a user's Go module settings would make the Debian toolchain look broken.
  for (const name of ["PYTHONHOME", "PYTHONPATH", "GOFLAGS", "GOPATH", "GO111MODULE", "GOROOT"]) delete env[name];
  return { ...env, ...extra };
}
