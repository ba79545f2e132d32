import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

export interface ServiceProcess {
  child: ChildProcess;
  /** host:port of its gRPC server. */
  address: string;
  /** Resolves when the process has exited (its signal: child.signalCode). */
  exited: Promise<void>;
}

/** An edge in a process of its own (src/testing/edgeProcess.ts): BUS_URL and the rest in `env`. */
export function startEdgeProcess(env: Record<string, string>, timeoutMs = 20_000): Promise<ServiceProcess> {
  return startServiceProcess(env, {}, timeoutMs, "src/testing/edgeProcess.ts");
}

/**
 * The service in a process of its own (src/testing/appProcess.ts), for tests that kill it with SIGKILL:
 * configured from `env` over loopback ports (GRPC_PORT/REST_PORT 0), from the repository's root; resolves
 * once it serves. `pacing`: IB's historical windows (argv[2] of appProcess). The caller kills what it started.
 */
export async function startServiceProcess(env: Record<string, string>, pacing: unknown = {}, timeoutMs = 20_000, script = "src/testing/appProcess.ts"): Promise<ServiceProcess> {
  return launchServiceProcess(env, pacing, script).serving(timeoutMs);
}

/** A service process launched, not yet serving (a standby provider serves only once it leads). */
export interface LaunchedProcess {
  child: ChildProcess;
  exited: Promise<void>;
  /** Whether it has printed "grpc <port>" (it serves) yet. */
  isServing(): boolean;
  /**
   * Resolves once it serves (at once if it does already); rejects if it exits first or does not serve within
   * `timeoutMs` — then it is killed (SIGKILL).
   */
  serving(timeoutMs?: number): Promise<ServiceProcess>;
  /** What it wrote so far (stdout, stderr), for failure messages. */
  output(): string;
}

/** As startServiceProcess, without waiting for it to serve: a standby provider launched beside its leader. */
export function launchServiceProcess(env: Record<string, string>, pacing: unknown = {}, script = "src/testing/appProcess.ts"): LaunchedProcess {
  const child = spawn(process.execPath, ["--import", TSX, join(ROOT, script), JSON.stringify(pacing)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", REST_HOST: "127.0.0.1", REST_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  let err = "";
  let port: string | undefined;
  const listeners = new Set<() => void>();
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
  child.stdout!.setEncoding("utf8").on("data", (c: string) => {
    out += c;
    const m = port === undefined ? /^grpc (\d+)$/m.exec(out) : null;
    if (m !== null) {
      port = m[1]!;
      for (const l of listeners) l();
    }
  });
  const served = (): ServiceProcess => ({ child, address: `127.0.0.1:${port!}`, exited });
  return {
    child,
    exited,
    isServing: () => port !== undefined,
    output: () => `${out}\n${err}`,
    serving: async (timeoutMs = 20_000) => {
      if (port !== undefined) return served();
      let notify: (() => void) | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the service did not start within ${timeoutMs} ms\n${out}\n${err}`)), timeoutMs);
          notify = () => {
            clearTimeout(timer);
            resolve();
          };
          listeners.add(notify);
          void exited.then(() => {
            clearTimeout(timer);
            reject(new Error(`the service exited before serving\n${out}\n${err}`));
          });
        });
        return served();
      } catch (e) {
        child.kill("SIGKILL");
        throw e;
      } finally {
        if (notify !== undefined) listeners.delete(notify);
      }
    },
  };
}
