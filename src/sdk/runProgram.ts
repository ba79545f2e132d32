import { execFile } from "node:child_process";

export interface ProgramResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion with a hard time limit (killed with SIGKILL past it) and fails with its
 * output when it exits non-zero, so a broken SDK shows the Python traceback or Go error in the test report.
 */
export function runProgram(file: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `killed after ${options.timeoutMs} ms` : `exit code ${String(err.code)}`;
        reject(new Error(`${file} ${args.join(" ")}: ${why}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** The check programs print one JSON object per line. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The one line of a check's result (`{"check": name, ...}`). */
export function checkResult(stdout: string, check: string): Record<string, unknown> {
  const found = jsonLines(stdout).filter((line) => line.check === check);
  if (found.length !== 1) throw new Error(`expected one "${check}" line, got ${found.length}:\n${stdout}`);
  return found[0]!;
}
