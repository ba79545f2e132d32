/**
 * Throughput benchmark on the simulator's flood mode (L1 ticks written as fast as the socket accepts).
 * `npm run bench` — see bench/README.md for what each figure means.
 *
 *  1. baseline: a bare @stoqey/ib IBApi client decoding one flooded instrument (BTC CRYPTO PAXOS USD);
 *  2. end to end: the real service (startApp, pointed at a flood simulator through IB_GATEWAY_URL, so its
 *     gateway mode is "real") and one gRPC StreamTicks consumer;
 *  3. fan-out: N = 1, 10, 100 concurrent StreamTicks consumers of the same symbol (one shared IB line).
 *
 * Processes, all on 127.0.0.1: this one (the bare client of the baseline, the gRPC consumers, the clock),
 * the flood simulator (bench/floodSimulator.ts) and the service (bench/serviceWorker.ts). Each scenario
 * gets a fresh simulator and service. A service whose event loop is saturated cannot stall this process,
 * so every window closes on time and the run always ends.
 * Env: BENCH_WINDOW_MS (5000), BENCH_WARMUP_MS (1000), BENCH_FANOUT ("1,10,100"), BENCH_SERVICE_NODE_ARGS
 * (extra node flags for the service process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { EventName, IBApi, type Contract } from "@stoqey/ib";
import { MarketDataServiceClient, type StreamTicksResponse } from "../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind } from "../gen/ibprovider/v1/types.js";
import type { ServiceProbe } from "./serviceWorker.js";

const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 5000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1000);
const FANOUT = (process.env.BENCH_FANOUT ?? "1,10,100").split(",").map((s) => Number(s.trim())).filter((n) => n > 0);
/** Extra node flags for the service process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
const SERVICE_NODE_ARGS = (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
const HARD_DEADLINE_MS = 170_000;
const TOKEN = "bench-token";
const BTC = { symbol: "BTC", secType: "CRYPTO", exchange: "PAXOS", currency: "USD" } as const;
const DECODE_ERROR = /unprocessed data|underrun|no parser implementation/i;
const MB = 1024 * 1024;
/** grpc-js clients open HTTP/2 streams with a 64 KiB window (no BDP probing): too small for batches. */
const CLIENT_OPTIONS = { "grpc-node.flow_control_window": 16 * MB };

// Belt and braces: the run ends by itself even if something unforeseen hangs.
const hardDeadline = setTimeout(() => {
  console.error(`bench: not finished after ${HARD_DEADLINE_MS / 1000} s; aborting`);
  for (const c of children) c.kill("SIGKILL");
  process.exit(2);
}, HARD_DEADLINE_MS);
hardDeadline.unref();

/** Progress on stderr (stdout carries the results). */
const progress = (what: string) => process.stderr.write(`bench: ${what}\n`);
const perSec = (n: number, ms: number) => Math.round((n * 1000) / ms);
const round1 = (n: number) => Math.round(n * 10) / 10;

// --- child processes ----------------------------------------------------------------------------------

const children = new Set<ChildProcess>();

/** A TypeScript child process (through tsx) with request/answer over IPC. */
class Child {
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

interface FloodSim {
  port: number;
  frames(): Promise<number | undefined>;
  stop(): Promise<boolean>;
}

async function startFloodSim(): Promise<FloodSim> {
  const child = new Child("./floodSimulator.ts");
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

/** Latency histogram with 1 ms buckets (tick timestamps are ms). */
class Histogram {
  private readonly buckets = new Uint32Array(120_001);
  count = 0;
  max = 0;
  add(ms: number): void {
    const v = Math.max(0, Math.round(ms));
    this.buckets[Math.min(v, 120_000)]!++;
    this.count++;
    if (v > this.max) this.max = v;
  }
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return i;
    }
    return this.max;
  }
}

interface ProcessSample {
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
function processMonitor() {
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

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) return false;
    await sleep(20);
  }
  return true;
}

// --- 1. baseline: bare @stoqey/ib decode ---------------------------------------------------------------

interface BaselineResult {
  windowMs: number;
  tickPricePerSec: number;
  tickSizePerSec: number;
  /** tickPrice + tickSize events per second: the reference of every ratio. */
  ticksPerSec: number;
  /** Flood frames the simulator wrote to this client per second. */
  gatewayFramesPerSec: number | null;
  decodeErrors: number;
  decodeErrorSamples: string[];
  otherIbErrors: number;
  process: ProcessSample;
}

async function baseline(): Promise<BaselineResult> {
  const sim = await startFloodSim();
  const ib = new IBApi({ host: "127.0.0.1", port: sim.port, clientId: 0, maxReqPerSec: 1000 });
  let tickPrice = 0;
  let tickSize = 0;
  let otherIbErrors = 0;
  const decodeErrors: string[] = [];
  ib.on(EventName.tickPrice, (id: number) => {
    if (id === 1) tickPrice++;
  });
  ib.on(EventName.tickSize, (id: number) => {
    if (id === 1) tickSize++;
  });
  ib.on(EventName.error, (err: Error, code: number) => {
    const message = err?.message ?? String(err);
    if (code === 505 || DECODE_ERROR.test(message)) decodeErrors.push(message);
    else otherIbErrors++;
  });
  try {
    const connected = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      ib.once(EventName.nextValidId, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    ib.connect(0);
    if (!(await connected)) throw new Error("bare client: nextValidId not received within 10 s");
    progress("baseline: bare @stoqey/ib client subscribed to BTC");
    ib.reqMktData(1, { ...BTC } as Contract, "", false, false);
    if (!(await waitFor(() => tickPrice > 0, 10_000))) throw new Error("bare client: no flooded tick within 10 s");
    await sleep(WARMUP_MS);
    progress("baseline: measuring");
    const mon = processMonitor();
    const f0 = await sim.frames();
    const [p0, z0, t0] = [tickPrice, tickSize, performance.now()];
    await sleep(WINDOW_MS);
    const [p1, z1, ms] = [tickPrice, tickSize, performance.now() - t0];
    const f1 = await sim.frames();
    return {
      windowMs: Math.round(ms),
      tickPricePerSec: perSec(p1 - p0, ms),
      tickSizePerSec: perSec(z1 - z0, ms),
      ticksPerSec: perSec(p1 - p0 + (z1 - z0), ms),
      gatewayFramesPerSec: f0 === undefined || f1 === undefined ? null : perSec(f1 - f0, ms),
      decodeErrors: decodeErrors.length,
      decodeErrorSamples: decodeErrors.slice(0, 3),
      otherIbErrors,
      process: mon.stop(),
    };
  } finally {
    try {
      ib.cancelMktData(1);
      ib.disconnect();
    } catch {
      /* already closed */
    }
    await sim.stop();
  }
}

// --- 2 + 3. the service end to end, fan-out ------------------------------------------------------------

/** One StreamTicks call; counters are cumulative, windows take differences. */
class Consumer {
  data = 0;
  messages = 0;
  heartbeats = 0;
  statuses: Record<string, number> = {};
  gapDropped = 0;
  error: string | undefined;
  measuring = false;
  firstDataMs: number | undefined;
  readonly call: ClientReadableStream<StreamTicksResponse>;

  constructor(client: MarketDataServiceClient, md: Metadata, latency: Histogram, t0: number) {
    this.call = client.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" }, md);
    this.call.on("data", (res: StreamTicksResponse) => {
      this.messages++;
      const now = Date.now();
      for (const e of res.events) {
        const ev = e.event;
        if (ev === undefined) continue;
        if (ev.$case === "tick") {
          this.data++;
          this.firstDataMs ??= performance.now() - t0;
          const t = ev.value.time;
          if (this.measuring && t !== undefined) latency.add(now - (Number(t.seconds) * 1000 + t.nanos / 1e6));
        } else if (ev.$case === "heartbeat") this.heartbeats++;
        else {
          const kind = (StreamStatusKind[ev.value.kind] ?? String(ev.value.kind)).replace("STREAM_STATUS_KIND_", "");
          this.statuses[kind] = (this.statuses[kind] ?? 0) + 1;
          const dropped = /(\d+) events dropped/.exec(ev.value.message);
          if (ev.value.kind === StreamStatusKind.STREAM_STATUS_KIND_GAP && dropped) this.gapDropped += Number(dropped[1]);
        }
      }
    });
    this.call.on("error", (err: ServiceError) => {
      if (err.code !== status.CANCELLED) this.error = `${status[err.code] ?? err.code}: ${err.details}`;
    });
  }

  snapshot() {
    return { data: this.data, messages: this.messages, heartbeats: this.heartbeats, gapDropped: this.gapDropped, statuses: { ...this.statuses } };
  }
}

interface ServiceFigures {
  /** Round trip of an IPC probe to the service process: how responsive its event loop was, ms. */
  probeRttMs: number | null;
  rssMB: number | null;
  heapUsedMB: number | null;
  elu: number | null;
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
}

interface FanoutResult {
  consumers: number;
  windowMs: number;
  /** Consumers that had received a tick before the window (within 10 s of opening). */
  consumersWithTicks: number;
  /** Time from opening the calls to the first tick of the slowest consumer, ms (null: not all got one). */
  slowestFirstTickMs: number | null;
  /** Data events (ticks) per second summed over the consumers. */
  aggregateTicksPerSec: number;
  perConsumerTicksPerSec: { min: number; median: number; max: number };
  aggregateMessagesPerSec: number;
  /** Data events per StreamTicks response. */
  avgBatchSize: number;
  /** Flood frames the simulator wrote to the service per second (≈ what the service decoded; ×1.5 = IB tick events). */
  gatewayFramesPerSec: number | null;
  /** Service IB market data lines for the symbol at the end of the window, and their consumers. */
  ibTickLines: number | null;
  ibTickLineConsumers: number | null;
  /** Status events received during the window, by kind. */
  statuses: Record<string, number>;
  heartbeats: number;
  /** Sum over consumers of the "N events dropped" of GAP statuses received during the window. */
  gapDroppedEvents: number;
  /** Age of a tick when a consumer decoded it: service timestamp → receipt, ms. */
  latencyMs: { p50: number | null; p99: number | null; max: number };
  streamErrors: string[];
  /** The service's tick line was cancelled at IB after every consumer left (null: the service did not answer). */
  tickLineReleasedAfterCancel: boolean | null;
  serviceAtWindowStart: ServiceFigures;
  serviceAtWindowEnd: ServiceFigures;
  serviceStoppedCleanly: boolean;
  serviceLog: { warnings: number; errors: number; samples: string[] } | null;
  /** This (consumer) process over the window. */
  consumerProcess: ProcessSample;
}

async function probeService(svc: Child, id: number): Promise<{ figures: ServiceFigures; probe: ServiceProbe | undefined }> {
  const t0 = performance.now();
  const probe = await svc.ask<ServiceProbe>({ type: "probe", id }, 15_000);
  return {
    probe,
    figures: {
      probeRttMs: probe ? Math.round(performance.now() - t0) : null,
      rssMB: probe?.rssMB ?? null,
      heapUsedMB: probe?.heapUsedMB ?? null,
      elu: probe?.elu ?? null,
      loopDelayP99Ms: probe?.loopDelayP99Ms ?? null,
      loopDelayMaxMs: probe?.loopDelayMaxMs ?? null,
    },
  };
}

async function fanoutRound(n: number): Promise<FanoutResult> {
  const sim = await startFloodSim();
  const svc = new Child("./serviceWorker.ts", { BENCH_GATEWAY_PORT: String(sim.port), BENCH_TOKEN: TOKEN }, SERVICE_NODE_ARGS);
  let client: MarketDataServiceClient | undefined;
  let consumers: Consumer[] = [];
  try {
    const ready = await svc.next<{ grpcPort: number }>("ready", 30_000);
    if (!ready) throw new Error("service did not start within 30 s");
    const md = new Metadata();
    md.set("authorization", `Bearer ${TOKEN}`);
    client = new MarketDataServiceClient(`127.0.0.1:${ready.grpcPort}`, credentials.createInsecure(), CLIENT_OPTIONS);
    const c = client;
    const latency = new Histogram();
    progress(`fan-out N=${n}: service up, opening ${n} StreamTicks call(s)`);
    const opened = performance.now();
    consumers = Array.from({ length: n }, () => new Consumer(c, md, latency, opened));
    await waitFor(() => consumers.every((x) => x.data > 0 || x.error !== undefined), 10_000);
    const failed = consumers.filter((x) => x.error !== undefined);
    if (failed.length === n) throw new Error(`every StreamTicks call failed: ${failed[0]!.error}`);
    await sleep(WARMUP_MS);

    progress(`fan-out N=${n}: measuring`);
    const startProbe = probeService(svc, 1); // answered whenever the service's event loop gets to it
    const mon = processMonitor();
    const f0 = await sim.frames();
    const before = consumers.map((x) => x.snapshot());
    for (const x of consumers) x.measuring = true;
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    const ms = performance.now() - t0;
    for (const x of consumers) x.measuring = false;
    const after = consumers.map((x) => x.snapshot());
    const f1 = await sim.frames();
    const consumerProcess = mon.stop();
    const endProbe = await probeService(svc, 2);
    const start = await startProbe;

    for (const x of consumers) x.call.cancel();
    let released: boolean | null = null;
    const releaseDeadline = performance.now() + 5_000;
    for (let id = 3; performance.now() < releaseDeadline; id++) {
      const p = await svc.ask<ServiceProbe>({ type: "probe", id }, Math.max(1, releaseDeadline - performance.now()));
      if (!p) break;
      released = p.tickLines === 0;
      if (released) break;
      await sleep(100);
    }
    const lastProbe = await svc.ask<ServiceProbe>({ type: "probe", id: 1000 }, 5_000);

    const perConsumer = after.map((a, i) => perSec(a.data - before[i]!.data, ms)).sort((x, y) => x - y);
    const data = after.reduce((sum, a, i) => sum + a.data - before[i]!.data, 0);
    const messages = after.reduce((sum, a, i) => sum + a.messages - before[i]!.messages, 0);
    const statuses: Record<string, number> = {};
    after.forEach((a, i) => {
      for (const [k, v] of Object.entries(a.statuses)) {
        const d = v - (before[i]!.statuses[k] ?? 0);
        if (d > 0) statuses[k] = (statuses[k] ?? 0) + d;
      }
    });
    const firsts = consumers.map((x) => x.firstDataMs);
    const withTicks = before.filter((b) => b.data > 0).length;
    const result: FanoutResult = {
      consumers: n,
      windowMs: Math.round(ms),
      consumersWithTicks: withTicks,
      slowestFirstTickMs: firsts.every((f) => f !== undefined) ? Math.round(Math.max(...(firsts as number[]))) : null,
      aggregateTicksPerSec: perSec(data, ms),
      perConsumerTicksPerSec: { min: perConsumer[0]!, median: perConsumer[Math.floor(perConsumer.length / 2)]!, max: perConsumer[perConsumer.length - 1]! },
      aggregateMessagesPerSec: perSec(messages, ms),
      avgBatchSize: messages === 0 ? 0 : round1(data / messages),
      gatewayFramesPerSec: f0 === undefined || f1 === undefined ? null : perSec(f1 - f0, ms),
      ibTickLines: endProbe.probe?.tickLines ?? null,
      ibTickLineConsumers: endProbe.probe?.tickLineConsumers ?? null,
      statuses,
      heartbeats: after.reduce((sum, a, i) => sum + a.heartbeats - before[i]!.heartbeats, 0),
      gapDroppedEvents: after.reduce((sum, a, i) => sum + a.gapDropped - before[i]!.gapDropped, 0),
      latencyMs: { p50: latency.percentile(50), p99: latency.percentile(99), max: latency.max },
      streamErrors: [...new Set(consumers.map((x) => x.error).filter((e): e is string => e !== undefined))],
      tickLineReleasedAfterCancel: released,
      serviceAtWindowStart: start.figures,
      serviceAtWindowEnd: endProbe.figures,
      serviceStoppedCleanly: false,
      serviceLog: lastProbe ? { warnings: lastProbe.logWarnings, errors: lastProbe.logErrors, samples: lastProbe.logSamples } : null,
      consumerProcess,
    };
    client.close();
    client = undefined;
    result.serviceStoppedCleanly = await svc.stop(10_000);
    return result;
  } finally {
    for (const x of consumers) x.call.cancel();
    client?.close();
    await svc.stop(5_000);
    await sim.stop();
  }
}

// --- report -----------------------------------------------------------------------------------------------

const fmt = (n: number | null | undefined) => (n === null || n === undefined ? "-" : n.toLocaleString("en-US"));
const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(
    `ib-provider flood benchmark — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} CPUs, warm-up ${WARMUP_MS} ms, window ${WINDOW_MS} ms, 127.0.0.1`,
  );
  console.log("processes: flood simulator | service (startApp, IB_GATEWAY_URL → simulator: gateway mode \"real\") | this one (bare client, gRPC consumers)");
  const base = await baseline();
  const fanout: FanoutResult[] = [];
  const failures: { consumers: number; error: string }[] = [];
  for (const n of FANOUT) {
    try {
      fanout.push(await fanoutRound(n));
    } catch (err) {
      failures.push({ consumers: n, error: err instanceof Error ? err.message : String(err) });
      progress(`fan-out N=${n} failed: ${failures[failures.length - 1]!.error}`);
    }
  }
  const single = fanout.find((f) => f.consumers === 1);

  const rows: string[][] = [
    ["scenario", "ticks/s", "per consumer min/med/max", "msgs/s", "batch", "gw frames/s", "gap-dropped/s", "latency p50/p99/max ms", "svc rss start→end MB", "svc probe rtt ms"],
    ["bare @stoqey/ib decode", fmt(base.ticksPerSec), "-", "-", "-", fmt(base.gatewayFramesPerSec), "-", "-", "-", "-"],
    ...fanout.map((f) => [
      f.consumers === 1 ? "service, 1 consumer (e2e)" : `service, ${f.consumers} consumers`,
      fmt(f.aggregateTicksPerSec),
      `${fmt(f.perConsumerTicksPerSec.min)}/${fmt(f.perConsumerTicksPerSec.median)}/${fmt(f.perConsumerTicksPerSec.max)}`,
      fmt(f.aggregateMessagesPerSec),
      String(f.avgBatchSize),
      fmt(f.gatewayFramesPerSec),
      fmt(perSec(f.gapDroppedEvents, f.windowMs)),
      `${fmt(f.latencyMs.p50)}/${fmt(f.latencyMs.p99)}/${fmt(f.latencyMs.max)}`,
      `${fmt(f.serviceAtWindowStart.rssMB)}→${fmt(f.serviceAtWindowEnd.rssMB)}`,
      `${fmt(f.serviceAtWindowStart.probeRttMs)}/${fmt(f.serviceAtWindowEnd.probeRttMs)}`,
    ]),
  ];
  console.log();
  console.log(table(rows));
  console.log();
  console.log(
    `baseline: ${fmt(base.tickPricePerSec)} tickPrice/s + ${fmt(base.tickSizePerSec)} tickSize/s; decode errors ${base.decodeErrors}${base.decodeErrors ? ` (e.g. ${base.decodeErrorSamples[0]})` : ""}, other IB errors ${base.otherIbErrors}; client loop ELU ${base.process.elu}`,
  );
  for (const f of fanout) {
    const st = Object.entries(f.statuses).map(([k, v]) => `${k}=${v}`).join(" ") || "none";
    console.log(
      `N=${f.consumers}: IB tick lines ${fmt(f.ibTickLines)} (consumers ${fmt(f.ibTickLineConsumers)}); ${f.consumersWithTicks}/${f.consumers} consumers had a tick before the window (slowest first tick ${fmt(f.slowestFirstTickMs)} ms); statuses in window: ${st}; heartbeats ${f.heartbeats}; stream errors ${f.streamErrors.length}`,
    );
    console.log(
      `      service: loop ELU ${fmt(f.serviceAtWindowEnd.elu)}, loop delay p99/max ${fmt(f.serviceAtWindowEnd.loopDelayP99Ms)}/${fmt(f.serviceAtWindowEnd.loopDelayMaxMs)} ms, heap ${fmt(f.serviceAtWindowStart.heapUsedMB)}→${fmt(f.serviceAtWindowEnd.heapUsedMB)} MB, line released after cancel ${f.tickLineReleasedAfterCancel ?? "no answer"}, stopped cleanly ${f.serviceStoppedCleanly}, log ${f.serviceLog ? `${f.serviceLog.warnings} warn/${f.serviceLog.errors} err` : "no answer"}; consumer process ELU ${f.consumerProcess.elu}`,
    );
  }
  for (const f of failures) console.log(`N=${f.consumers}: FAILED — ${f.error}`);

  const ratios = {
    endToEndOverBareDecode: single ? ratio(single.aggregateTicksPerSec, base.ticksPerSec) : null,
    fanout: Object.fromEntries(
      fanout.map((f) => [
        `n${f.consumers}`,
        {
          aggregateOverSingle: single ? ratio(f.aggregateTicksPerSec, single.aggregateTicksPerSec) : null,
          perConsumerMedianOverSingle: single ? ratio(f.perConsumerTicksPerSec.median, single.aggregateTicksPerSec) : null,
          aggregateOverBareDecode: ratio(f.aggregateTicksPerSec, base.ticksPerSec),
        },
      ]),
    ),
  };
  console.log();
  console.log(`ratio end-to-end (1 consumer) ticks/s ÷ bare decode ticks/s: ${ratios.endToEndOverBareDecode ?? "-"}`);
  for (const [k, v] of Object.entries(ratios.fanout)) {
    console.log(`ratio ${k}: aggregate ÷ single ${v.aggregateOverSingle ?? "-"}, per-consumer median ÷ single ${v.perConsumerMedianOverSingle ?? "-"}, aggregate ÷ bare decode ${v.aggregateOverBareDecode ?? "-"}`);
  }
  console.log();
  console.log(
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, warmupMs: WARMUP_MS, windowMs: WINDOW_MS, baseline: base, fanout, failures, ratios, durationMs: Date.now() - started }),
  );
}

main().then(
  () => {
    // Everything was closed; should a handle still linger, do not hang.
    setTimeout(() => {
      console.error("bench: handles still open after the run; exiting");
      process.exit(0);
    }, 3000).unref();
  },
  (err: unknown) => {
    console.error("bench failed:", err);
    for (const c of children) c.kill("SIGKILL");
    process.exit(1);
  },
);
