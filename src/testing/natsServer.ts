import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** Debian's nats-server (`apt-get install nats-server`, installed by .ci/run). */
export const DEBIAN_NATS_SERVER = "/usr/sbin/nats-server";

/**
 * As src/sdk/debianToolchain.ts does for Python and Go: CI must run the bus tests, so there a missing
 * nats-server is a failure; on a developer machine they are skipped with the command that enables them.
 */
export function natsServerVerdict(env: NodeJS.ProcessEnv = process.env, path = DEBIAN_NATS_SERVER): { run: boolean; message: string | undefined } {
  if (existsSync(path)) return { run: true, message: undefined };
  const message = `bus tests: no nats-server at ${path} (apt-get install -y --no-install-recommends nats-server)`;
  return { run: env.CI !== undefined && env.CI !== "", message };
}

export interface NatsServer {
  /** nats://127.0.0.1:<port> (the same across restarts). */
  readonly url: string;
  readonly port: number;
  /** The running server's process id (undefined while stopped). */
  readonly pid: number | undefined;
  /** Its store directory (-sd), removed by close(). */
  readonly storeDir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); its store directory is kept for a restart. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store directory (a NATS restart as the provider sees it). */
  restart(): Promise<void>;
  /** Stops it and removes its store directory. */
  close(): Promise<void>;
}

export interface NatsServerOptions {
  /** The server's max_payload in bytes (1 MiB by default): the largest message it takes. */
  maxPayload?: number;
}

/**
 * What is still running or on disk when the test process ends (a test that never reached its afterAll, a
 * worker ended early): killed and removed then, synchronously, so that no server outlives the suite.
 */
const leftovers = new Set<() => void>();
let exitHookInstalled = false;
/** Registers `cleanup` to run at the test process's exit; the function returned unregisters it. */
export function leaveNothingBehind(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of leftovers) c();
    });
  }
  leftovers.add(cleanup);
  return () => leftovers.delete(cleanup);
}

/** How long a start may take before the test gives up (JetStream recovers its store at start). */
const START_TIMEOUT_MS = 10_000;

/**
 * A real `nats-server -js` on a loopback port of its own (-p -1: the server picks a free one, read from its
 * log, so no probe-then-bind race), storing in a temporary directory of its own (-sd). Resolves once it
 * accepts connections and JetStream answers.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const storeDir = mkdtempSync(join(tmpdir(), "ibp-nats-"));
  const configFile = join(storeDir, "nats.conf");
  writeFileSync(configFile, options.maxPayload === undefined ? "" : `max_payload: ${options.maxPayload}\n`);
  let child: ChildProcess | undefined;
  let port = -1;
  const forget = leaveNothingBehind(() => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(storeDir, { recursive: true, force: true });
  });
  const launch = async () => {
    const started = await spawnServer(port, storeDir, configFile);
    child = started.child;
    port = started.port;
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    await endServer(running);
  };
  try {
    await launch();
  } catch (err) {
    forget();
    rmSync(storeDir, { recursive: true, force: true });
    throw err;
  }
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child?.pid;
    },
    storeDir,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    close: async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
      forget();
    },
  };
}

/** Ends a server (SIGTERM, SIGKILL after 5 s; `signal` SIGKILL: at once) and waits for its exit. */
export async function endServer(running: ChildProcess | undefined, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
  // Already ended (a signal ends it with exitCode null): no "exit" to wait for.
  if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
  running.kill(signal);
  const kill = setTimeout(() => running.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(kill);
}

async function spawnServer(port: number, storeDir: string, configFile: string): Promise<{ child: ChildProcess; port: number }> {
  const started = await launchServer(["-c", configFile, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir]);
  try {
    await jetstreamAnswers(`nats://127.0.0.1:${started.port}`);
    return started;
  } catch (err) {
    started.child.kill("SIGKILL");
    throw err;
  }
}

/**
 * Spawns Debian's nats-server with `args`; resolves with its client port and its log so far once it logs that
 * it is ready (a cluster's node: before its JetStream has a meta leader). Killed if it does not get there.
 */
export async function launchServer(args: readonly string[]): Promise<{ child: ChildProcess; port: number; log: string }> {
  const child = spawn(DEBIAN_NATS_SERVER, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  try {
    const listening = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not start within ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code} while starting:\n${log}`));
      });
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", (chunk: string) => {
        log += chunk;
        const address = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
        if (address !== null && log.includes("Server is ready")) {
          clearTimeout(timer);
          resolve(Number(address[1]));
        }
      });
    });
    child.removeAllListeners("exit");
    // Keep draining its log (a full pipe would stall the server), without keeping it.
    child.stderr!.removeAllListeners("data");
    child.stderr!.resume();
    return { child, port: listening, log };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}

/** Connects and asks JetStream for the account's info: the server is ready for what the tests do. */
async function jetstreamAnswers(url: string): Promise<void> {
  const nc = await connect({ servers: url, reconnect: false, timeout: START_TIMEOUT_MS });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.getAccountInfo();
  } finally {
    await nc.close();
  }
}
