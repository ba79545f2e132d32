/**
 * What the benchmark's scenarios share (run.ts, replayBench.ts): the child processes (flood simulator,
 * service) over IPC, the StreamTicks consumer that counts events on the wire, the latency histogram.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { StreamTicksRequest, StreamTicksResponse } from "../gen/ibprovider/v1/market_data_service.js";
import type { ServiceProbe } from "./serviceWorker.js";
import { nextEvent } from "../src/grpc/streamEncoding.js";

/** Extra node flags for the service process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
export const SERVICE_NODE_ARGS = (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
export const TOKEN = "bench-token";
export const MB = 1024 * 1024;

/** Progress on stderr (stdout carries the results). */
export const progress = (what: string) => process.stderr.write(`bench: ${what}\n`);
export const perSec = (n: number, ms: number) => Math.round((n * 1000) / ms);
export const round1 = (n: number) => Math.round(n * 10) / 10;
export const fmt = (n: number | null | undefined) => (n === null || n === undefined ? "-" : n.toLocaleString("en-US"));

// --- child processes ----------------------------------------------------------------------------------

export const children = new Set<ChildProcess>();

/** A TypeScript child process (through tsx) with request/answer over IPC. */
export class Child {
  private readonly proc: ChildProcess;
  private readonly waiting: { type: string; id: number | undefined; resolve: (m: Record<string, unknown>) => void }[] = [];
  private exited = false;

  constructor(file: string, env: Record<string, string> = {}, nodeArgs: string[] = []) {
    this.proc = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
      execArgv: ["--import", "tsx", ...nodeArgs],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, ...env },
    });
    children.add(this.proc);
    this.proc.on("message", (m: Record<string, unknown>) => {
      // A late answer to an earlier (timed-out) question must not answer a later one.
      const i = this.waiting.findIndex((w) => w.type === m.type && (w.id === undefined || w.id === m.id));
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(m);
    });
    this.proc.once("exit", () => {
      this.exited = true;
      children.delete(this.proc);
    });
  }

  /** The next message of `type`, or undefined after timeoutMs (or when the child is gone). */
  next<T>(type: string, timeoutMs: number, id?: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const entry = {
        type,
        id,
        resolve: (m: Record<string, unknown>) => {
          clearTimeout(timer);
          this.proc.off("exit", onExit);
          resolve(m as T);
        },
      };
      const drop = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        this.proc.off("exit", onExit);
        resolve(undefined);
      };
      const timer = setTimeout(drop, timeoutMs);
      const onExit = () => {
        clearTimeout(timer);
        drop();
      };
      this.waiting.push(entry);
      this.proc.once("exit", onExit);
    });
  }

  ask<T>(message: { type: string; id?: number }, timeoutMs: number): Promise<T | undefined> {
    const answer = this.next<T>(message.type, timeoutMs, message.id);
    if (!this.exited && this.proc.connected) this.proc.send(message);
    return answer;
  }

  /** Asks the child to stop; kills it if it has not exited within timeoutMs. Resolves true on a clean exit. */
  stop(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.exited) return resolve(true);
      const kill = setTimeout(() => {
        this.proc.kill("SIGKILL");
        resolve(false);
      }, timeoutMs);
      this.proc.once("exit", () => {
        clearTimeout(kill);
        resolve(true);
      });
      if (this.proc.connected) this.proc.send({ type: "stop" });
    });
  }
}

export interface FloodSim {
  port: number;
  frames(): Promise<number | undefined>;
  stop(): Promise<boolean>;
}

export async function startFloodSim(framesPerSec?: number): Promise<FloodSim> {
  const child = new Child("./floodSimulator.ts", framesPerSec === undefined ? {} : { BENCH_FLOOD_RATE: String(framesPerSec) });
  const ready = await child.next<{ port: number }>("ready", 20_000);
  if (!ready) {
    await child.stop(1000);
    throw new Error("flood simulator did not start within 20 s");
  }
  return {
    port: ready.port,
    frames: async () => (await child.ask<{ floodTicks: number }>({ type: "stats" }, 5_000))?.floodTicks,
    stop: () => child.stop(5_000),
  };
}

// --- measurement helpers ------------------------------------------------------------------------------

/** Latency histogram, 0.1 ms buckets up to 120 s; `also` receives every sample too (rounds pooled). */
export class Histogram {
  private readonly buckets = new Uint32Array(1_200_001);
  count = 0;
  max = 0;
  constructor(private readonly also?: Histogram) {}
  add(ms: number): void {
    this.also?.add(ms);
    const v = Math.max(0, Math.round(ms * 10));
    this.buckets[Math.min(v, 1_200_000)]!++;
    this.count++;
    if (v > this.max) this.max = v;
  }
  /** Milliseconds, 0.1 ms resolution. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return i / 10;
    }
    return this.max / 10;
  }
  summary(): { p50: number | null; p99: number | null; max: number; samples: number } {
    return { p50: this.percentile(50), p99: this.percentile(99), max: this.max / 10, samples: this.count };
  }
}

/** Wall-clock microseconds, comparable across processes of this host (the simulator's stamps). */
export const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

export interface ProcessSample {
  rssStartMB: number;
  rssEndMB: number;
  rssPeakMB: number;
  heapUsedStartMB: number;
  heapUsedEndMB: number;
  /** Event loop utilisation over the window (0..1). */
  elu: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** Memory and event loop of this process over a window. */
export function processMonitor() {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const m0 = process.memoryUsage();
  const elu0 = performance.eventLoopUtilization();
  let peak = m0.rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  return {
    stop(): ProcessSample {
      clearInterval(timer);
      h.disable();
      const m1 = process.memoryUsage();
      peak = Math.max(peak, m1.rss);
      return {
        rssStartMB: round1(m0.rss / MB),
        rssEndMB: round1(m1.rss / MB),
        rssPeakMB: round1(peak / MB),
        heapUsedStartMB: round1(m0.heapUsed / MB),
        heapUsedEndMB: round1(m1.heapUsed / MB),
        elu: Math.round(performance.eventLoopUtilization(elu0).utilization * 1000) / 1000,
        loopDelayP99Ms: round1(h.percentile(99) / 1e6),
        loopDelayMaxMs: round1(h.max / 1e6),
      };
    },
  };
}

export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) return false;
    await sleep(20);
  }
  return true;
}

// --- consumers --------------------------------------------------------------------------------------------

/** grpc-js clients open HTTP/2 streams with a 64 KiB window (no BDP probing): too small for batches. */
export const CLIENT_OPTIONS = { "grpc-node.flow_control_window": 16 * MB };
export const STREAM_TICKS = "/ibprovider.v1.MarketDataService/StreamTicks";
export const identity = (b: Buffer) => b;

export function authMetadata(): Metadata {
  const md = new Metadata();
  md.set("authorization", `Bearer ${TOKEN}`);
  return md;
}

/**
 * One StreamTicks call read straight from the wire: events are counted from the response's top-level
 * frames (tag 0x0a, length, event; an event's first byte says tick 0x0a / status 0x12 / heartbeat 0x1a),
 * and one message in `sampleEvery` is decoded to measure the newest tick's latency from its stamp.
 */
export class Consumer {
  data = 0;
  messages = 0;
  statuses = 0;
  error: string | undefined;
  measuring = false;
  private readonly call: ClientReadableStream<Buffer>;

  constructor(client: Client, symbol: string, marketType: string, latency: Histogram | undefined, sampleEvery: number, sampled: { messages: number }) {
    const request = Buffer.from(StreamTicksRequest.encode({ connectorType: "ib", marketType, symbol }).finish());
    this.call = client.makeServerStreamRequest(STREAM_TICKS, identity, identity, request, authMetadata(), {});
    this.call.on("data", (buf: Buffer) => {
      this.messages++;
      for (let pos = 0; pos < buf.length; ) {
        const { start, end } = nextEvent(buf, pos);
        const kind = buf[start]; // the event's first field: tick 0x0a, status 0x12, heartbeat 0x1a
        if (kind === 0x0a) this.data++;
        else if (kind === 0x12) this.statuses++;
        pos = end;
      }
      if (latency !== undefined && this.measuring && ++sampled.messages % sampleEvery === 0) {
        const events = StreamTicksResponse.decode(buf).events;
        for (let i = events.length - 1; i >= 0; i--) {
          const e = events[i]!.event;
          if (e?.$case !== "tick") continue;
          // The newest stamp of the state (the ASK size: @stoqey/ib drops BID sizes); a real size is no stamp.
          const stamp = Math.max(Number(e.value.bidSize) || 0, Number(e.value.askSize) || 0);
          const ageUs = nowUs() - stamp;
          if (ageUs >= 0 && ageUs < 60e6) latency.add(ageUs / 1000);
          break;
        }
      }
    });
    this.call.on("error", (err: ServiceError) => {
      if (err.code !== status.CANCELLED) this.error = `${status[err.code] ?? err.code}: ${err.details}`;
    });
  }

  cancel(): void {
    this.call.cancel();
  }
}

export function channels(port: number, n: number): Client[] {
  return Array.from({ length: n }, () => new Client(`127.0.0.1:${port}`, credentials.createInsecure(), CLIENT_OPTIONS));
}

export interface ServiceHandle {
  svc: Child;
  grpcPort: number;
}

/** `env`: BENCH_STORE_PATH, BENCH_STORE_RECORDING (serviceWorker.ts). */
export async function startService(simPort: number, env: Record<string, string> = {}): Promise<ServiceHandle> {
  const svc = new Child("./serviceWorker.ts", { ...env, BENCH_GATEWAY_PORT: String(simPort), BENCH_TOKEN: TOKEN }, SERVICE_NODE_ARGS);
  const ready = await svc.next<{ grpcPort: number }>("ready", 30_000);
  if (!ready) {
    await svc.stop(2_000);
    throw new Error("service did not start within 30 s");
  }
  return { svc, grpcPort: ready.grpcPort };
}

export async function probe(svc: Child, id: number): Promise<(ServiceProbe & { rttMs: number }) | undefined> {
  const t0 = performance.now();
  const p = await svc.ask<ServiceProbe>({ type: "probe", id }, 15_000);
  return p === undefined ? undefined : { ...p, rttMs: Math.round(performance.now() - t0) };
}
