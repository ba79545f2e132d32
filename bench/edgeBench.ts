/**
 * Scenario `edge` (only when named in BENCH_SCENARIOS; needs `nats-server`): streams served by the edge role.
 * Real child processes: a `nats-server -js` (test kit `startNatsServer`, a fresh one per round), the flood
 * simulator, the provider (serviceWorker.ts with BENCH_BUS_URL: the service with BUS_URL, its own store in a
 * temporary file, IB_GATEWAY_URL → the simulator) and edges (`node --import tsx src/edge/main.ts`: the same as
 * `tsx src/edge/main.ts` but one process, so that `kill -9` of its pid kills the edge itself; GRPC_PORT and
 * REST_PORT 0, the port read from its JSON log line "ib-provider edge is serving"). Each figure has its
 * baseline measured in the same run:
 *
 *  1. one StreamTicks subscriber on an edge, full flood rate, ÷ the bare @stoqey/ib client's decode rate
 *     (run.ts's `baseline` client, passed in), and the all-in-one process's single subscriber beside it;
 *  2. N (BENCH_EDGE_SUBSCRIBERS, 1000) subscribers: aggregate events/s over 2 edges (N/2 each) ÷ the same N on
 *     the all-in-one process, at BENCH_EDGE_FANOUT_RATE frames/s (why that rate: see FANOUT_FRAMES_PER_SEC);
 *     the streams are opened from two child processes of this file (BENCH_EDGE_CLIENT_PORT), one per edge;
 *  3. at 10k ticks/s in: latency of every tick (the simulator's send stamp → receipt, as busBench.ts takes it)
 *     for a subscriber on an edge and one on the provider directly, at the same time: what the bus hop adds;
 *  4. failover: that edge subscriber, `kill -9` its edge, resumed at the other edge with after_sequence (its
 *     last data event) and epoch (its SUBSCRIBED status): kill → first resumed event, every sequence once.
 *
 * CPU of every process over each window comes from /proc (utime + stime of this process's children), as
 * % of one core: where the 2 cores went.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, credentials, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { StreamTicksRequest, StreamTicksResponse } from "../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind } from "../gen/ibprovider/v1/types.js";
import { startNatsServer, type NatsServer } from "../src/testing/natsServer.js";
import {
  authMetadata,
  channels,
  Child,
  children,
  CLIENT_OPTIONS,
  Consumer,
  fmt,
  Histogram,
  identity,
  nowUs,
  perSec,
  progress,
  round1,
  startFloodSim,
  startService,
  STREAM_TICKS,
  TOKEN,
  waitFor,
  type FloodSim,
  type ServiceHandle,
} from "./harness.js";

/** Which of the scenario's parts run: `single` (figure 1, with its baselines), `fanout` (2), `latency` (3 and 4). */
const PARTS = new Set((process.env.BENCH_EDGE_PARTS ?? "single,fanout,latency").split(",").map((s) => s.trim()));
const SUBSCRIBERS = Number(process.env.BENCH_EDGE_SUBSCRIBERS ?? 1000);
/**
 * Figure 2's rate, frames/s of the flood (× 1.5 = IB tick events/s, each one a delivered event per subscriber).
 * Not the full flood: there the all-in-one process conflates a lagging subscriber to the newest state while an
 * edge reads every row from JetStream at its client's pace (no conflation), so "events delivered" would count
 * different things; and 500 ordered consumers per edge each buffering up to 256 flood-sized messages (≈ 60 KB)
 * would take gigabytes. Not the simulator's default cadence either: a few events/s per stream, which both
 * deliver in full at any N, so the ratio would be 1 whatever the cost. 1,000 frames/s (1,500 events/s per
 * stream, 1.5 M/s offered to 1000 subscribers, several times a busy instrument's L1 rate) is about what the
 * all-in-one process delivers in full to 1000 subscribers here: the same offered load, counted the same way,
 * so the ratio says whether 2 edges keep up with it and the CPU columns what each shape costs. Then the same at
 * 100 frames/s (150 events/s per stream): a load both shapes should carry, where the CPU columns are the figure.
 */
const FANOUT_FRAMES_PER_SEC = (process.env.BENCH_EDGE_FANOUT_RATE ?? "1000,100").split(",").map((v) => Number(v.trim())).filter((v) => v > 0);
/** Figure 3: IB tick events per second in (the flood's frames give ≈ 1.5 events each), as scenario 3. */
const LATENCY_TICKS_PER_SEC = 10_000;
/** serviceWorker.ts's BUS_SUBJECT_PREFIX (a fresh nats-server per round: the prefix is the round's own). */
const PREFIX = "ibpbench";
/** Extra node flags for the edge processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (as BENCH_SERVICE_NODE_ARGS for the service). */
const EDGE_NODE_ARGS = (process.env.BENCH_EDGE_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
const REPO = fileURLToPath(new URL("..", import.meta.url));

// --- per-process CPU from /proc --------------------------------------------------------------------------

const CLK_TCK = 100;

/** This process's children (direct: fork and spawn here start node / nats-server themselves): pid → command line, CPU ticks. */
function childCpu(): Map<number, { cmd: string; ticks: number }> {
  const out = new Map<number, { cmd: string; ticks: number }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[k - 3] is stat's field k
      if (Number(fields[1]) !== process.pid) continue;
      out.set(Number(d), { cmd: readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " "), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function labelOf(pid: number, cmd: string, named: Map<number, string>, serviceLabel: string): string {
  const name = named.get(pid);
  if (name !== undefined) return name;
  if (cmd.includes("nats-server")) return "nats-server";
  if (cmd.includes("floodSimulator")) return "simulator";
  if (cmd.includes("serviceWorker")) return serviceLabel;
  if (cmd.includes("edgeBench")) return "clients";
  return "other";
}

/** % of one core per process (by label) over a window; `named` labels pids (the edges). */
function cpuWindow(named: Map<number, string>, serviceLabel: string) {
  const c0 = childCpu();
  const me0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop(): Record<string, number> {
      const c1 = childCpu();
      const me = process.cpuUsage(me0);
      const seconds = (performance.now() - t0) / 1000;
      const out: Record<string, number> = {};
      for (const [pid, { cmd, ticks }] of c1) {
        const before = c0.get(pid)?.ticks;
        if (before === undefined) continue;
        const label = labelOf(pid, cmd, named, serviceLabel);
        out[label] = (out[label] ?? 0) + ((ticks - before) / CLK_TCK / seconds) * 100;
      }
      out["this process"] = ((me.user + me.system) / 1e6 / seconds) * 100;
      for (const k of Object.keys(out)) out[k] = Math.round(out[k]!);
      out.total = Object.entries(out).reduce((s, [, v]) => s + v, 0);
      return out;
    },
  };
}

const cpuText = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");

// --- edge processes ----------------------------------------------------------------------------------------

interface EdgeProcess {
  name: string;
  pid: number;
  grpcPort: number;
  /** Warnings and errors it logged (a few kept). */
  logs: { warnings: number; errors: number; samples: string[] };
  /** kill -9. */
  kill9(): void;
  stop(): Promise<void>;
}

/** `node --import tsx src/edge/main.ts` on the bus; resolves with its gRPC port from its log line. */
async function startEdgeProcess(name: string, busUrl: string): Promise<EdgeProcess> {
  const proc: ChildProcess = spawn(process.execPath, [...EDGE_NODE_ARGS, "--import", "tsx", "src/edge/main.ts"], {
    cwd: REPO,
    env: {
      ...process.env,
      BUS_URL: busUrl,
      BUS_SUBJECT_PREFIX: PREFIX,
      PROVIDER_API_TOKEN: TOKEN,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      REST_HOST: "127.0.0.1",
      REST_PORT: "0",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      ACCESS_LOG: "off",
      SHUTDOWN_GRACE_MS: "1000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(proc);
  let exited = proc.exitCode !== null;
  proc.once("exit", () => {
    exited = true;
    children.delete(proc);
  });
  let stderr = "";
  proc.stderr!.setEncoding("utf8");
  proc.stderr!.on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  // Its JSON log lines: the serving line (the port), then warnings and errors counted, a few kept.
  const logs = { warnings: 0, errors: 0, samples: [] as string[] };
  let onServing: (port: number) => void = () => undefined;
  let buffered = "";
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const rec = JSON.parse(line) as { level?: number; msg?: string; grpc?: string; err?: { message?: string } };
        if (rec.msg === "ib-provider edge is serving" && rec.grpc !== undefined) onServing(Number(rec.grpc.slice(rec.grpc.lastIndexOf(":") + 1)));
        if ((rec.level ?? 0) >= 50) logs.errors++;
        else if ((rec.level ?? 0) >= 40) logs.warnings++;
        if ((rec.level ?? 0) >= 40 && logs.samples.length < 5) logs.samples.push(`${rec.msg ?? ""}${rec.err?.message ? `: ${rec.err.message}` : ""}`.slice(0, 300));
      } catch {
        /* not JSON */
      }
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not log "ib-provider edge is serving" within 30 s: ${stderr}`)), 30_000);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) while starting: ${stderr}`));
    });
    onServing = (p) => {
      clearTimeout(timer);
      resolve(p);
    };
  }).catch((err: unknown) => {
    proc.kill("SIGKILL");
    throw err;
  });
  proc.removeAllListeners("exit");
  proc.once("exit", () => {
    exited = true;
    children.delete(proc);
  });
  return {
    name,
    pid: proc.pid!,
    grpcPort: port,
    logs,
    kill9: () => void proc.kill("SIGKILL"),
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        const kill = setTimeout(() => proc.kill("SIGKILL"), 4_000);
        proc.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        proc.kill("SIGTERM");
      }),
  };
}

/** Everything a round started, stopped in reverse order whatever happened. */
class Round {
  nats: NatsServer | undefined;
  sim: FloodSim | undefined;
  svc: ServiceHandle | undefined;
  edges: EdgeProcess[] = [];
  workers: Child[] = [];
  readonly closers: (() => void)[] = [];
  /** Ctrl-C or a kill of the run: the edges (no IPC channel to notice the parent going) killed, then the exit hooks (nats-server). */
  private readonly onSignal = () => {
    for (const e of this.edges) e.kill9();
    process.exit(130);
  };

  constructor() {
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
  }

  async close(): Promise<void> {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    for (const c of this.closers) c();
    for (const w of this.workers) await w.stop(5_000);
    for (const e of this.edges) await e.stop();
    await this.svc?.svc.stop(10_000);
    await this.sim?.stop();
    await this.nats?.close();
  }

  named(): Map<number, string> {
    return new Map(this.edges.map((e) => [e.pid, e.name]));
  }
}

// --- a consumer that decodes every message: sequences, statuses, every tick's latency ------------------------

class SeqConsumer {
  readonly seqs: number[] = [];
  readonly statuses: StreamStatusKind[] = [];
  epoch: string | undefined;
  error: string | undefined;
  ended = false;
  measuring = false;
  private readonly call: ClientReadableStream<Buffer>;

  constructor(client: Client, latency: Histogram | undefined, resume: { afterSequence: string; epoch: string } | undefined, onEnd?: () => void) {
    const request = Buffer.from(StreamTicksRequest.encode(StreamTicksRequest.fromPartial({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", ...resume })).finish());
    this.call = client.makeServerStreamRequest(STREAM_TICKS, identity, identity, request, authMetadata(), {});
    this.call.on("data", (buf: Buffer) => {
      const now = nowUs();
      for (const e of StreamTicksResponse.decode(buf).events) {
        const ev = e.event;
        if (ev?.$case === "tick") {
          this.seqs.push(Number(e.sequence));
          if (latency === undefined || !this.measuring) continue;
          // Every tick's stamp, as busBench.ts takes the bus's: the newest size of the state (the flood stamps sizes).
          const ageUs = now - Math.max(Number(ev.value.bidSize) || 0, Number(ev.value.askSize) || 0);
          if (ageUs >= 0 && ageUs < 60e6) latency.add(ageUs / 1000);
        } else if (ev?.$case === "status") {
          this.statuses.push(ev.value.kind);
          if (ev.value.kind === StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED && this.epoch === undefined) this.epoch = ev.value.epoch;
        }
      }
    });
    this.call.on("error", (err: ServiceError) => {
      if (err.code !== status.CANCELLED) this.error = `${status[err.code] ?? err.code}: ${err.details}`;
    });
    this.call.on("status", () => {
      this.ended = true;
      onEnd?.();
    });
  }

  cancel(): void {
    this.call.cancel();
  }
}

/** Sequences that are not the one before + 1 (skipped or repeated), from index `from` on. */
function breaks(seqs: number[], from: number): { lost: number; repeated: number } {
  let lost = 0;
  let repeated = 0;
  for (let i = Math.max(1, from); i < seqs.length; i++) {
    const d = seqs[i]! - seqs[i - 1]!;
    if (d > 1) lost += d - 1;
    else if (d < 1) repeated++;
  }
  return { lost, repeated };
}

// --- the client processes of figure 2 (this file, run as a child) -------------------------------------------

interface WorkerCounts {
  type: "counts";
  id: number;
  data: number[];
  messages: number;
  statuses: number;
  errors: string[];
  /** Streams that ended with an error. */
  failed: number;
}

function clientWorker(port: number, n: number): void {
  const send = (m: unknown) => process.send?.(m);
  const clients = channels(port, Math.ceil(n / 100));
  const consumers = Array.from({ length: n }, (_, i) => new Consumer(clients[i % clients.length]!, "BTCUSDT", "spot", undefined, 1, { messages: 0 }));
  process.on("message", (m: { type: string; id?: number }) => {
    if (m.type === "counts") {
      send({
        type: "counts",
        id: m.id ?? 0,
        data: consumers.map((c) => c.data),
        messages: consumers.reduce((s, c) => s + c.messages, 0),
        statuses: consumers.reduce((s, c) => s + c.statuses, 0),
        errors: [...new Set(consumers.map((c) => c.error).filter((e): e is string => e !== undefined))].slice(0, 3),
        failed: consumers.filter((c) => c.error !== undefined).length,
      } satisfies WorkerCounts);
    } else if (m.type === "stop") {
      for (const c of consumers) c.cancel();
      for (const c of clients) c.close();
      setTimeout(() => process.exit(0), 200);
    }
  });
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready" });
}

if (process.env.BENCH_EDGE_CLIENT_PORT !== undefined) clientWorker(Number(process.env.BENCH_EDGE_CLIENT_PORT), Number(process.env.BENCH_EDGE_CLIENT_STREAMS));

async function startWorker(port: number, n: number): Promise<Child> {
  const w = new Child("./edgeBench.ts", { BENCH_EDGE_CLIENT_PORT: String(port), BENCH_EDGE_CLIENT_STREAMS: String(n) });
  if (!(await w.next("ready", 30_000))) {
    await w.stop(1_000);
    throw new Error("client process did not start within 30 s");
  }
  return w;
}

async function countsOf(workers: Child[], id: number): Promise<{ data: number[]; messages: number; statuses: number; errors: string[]; failed: number }> {
  const answers = await Promise.all(workers.map((w) => w.ask<WorkerCounts>({ type: "counts", id }, 15_000)));
  if (answers.some((a) => a === undefined)) throw new Error("a client process did not answer");
  return {
    data: answers.flatMap((a) => a!.data),
    messages: answers.reduce((s, a) => s + a!.messages, 0),
    statuses: answers.reduce((s, a) => s + a!.statuses, 0),
    errors: [...new Set(answers.flatMap((a) => a!.errors))],
    failed: answers.reduce((s, a) => s + a!.failed, 0),
  };
}

// --- figures --------------------------------------------------------------------------------------------------

export interface EdgeTimes {
  windowMs: number;
  warmupMs: number;
}

export interface SingleEdge {
  ticksPerSec: number;
  gatewayFramesPerSec: number | null;
  latencyMs: ReturnType<Histogram["summary"]>;
  statusesInWindow: number;
  error: string | undefined;
  cpu: Record<string, number>;
}

/** Figure 1: the provider on a full-rate flood, one edge, one subscriber on it (counted on the wire). */
async function edgeSingle(t: EdgeTimes): Promise<SingleEdge> {
  const r = new Round();
  try {
    r.nats = await startNatsServer();
    r.sim = await startFloodSim();
    r.svc = await startService(r.sim.port, { BENCH_BUS_URL: r.nats.url });
    r.edges.push(await startEdgeProcess("edge A", r.nats.url));
    const [client] = channels(r.edges[0]!.grpcPort, 1);
    r.closers.push(() => client!.close());
    const latency = new Histogram();
    const c = new Consumer(client!, "BTCUSDT", "spot", latency, 16, { messages: 0 });
    r.closers.unshift(() => c.cancel());
    progress("edge: 1 subscriber on an edge at full rate");
    await waitFor(() => c.data > 0 || c.error !== undefined, 20_000);
    if (c.data === 0) throw new Error(`the edge subscriber got no data: ${c.error ?? "no error"}`);
    await sleep(t.warmupMs);
    const cpu = cpuWindow(r.named(), "provider");
    const f0 = await r.sim.frames();
    const [d0, s0, t0] = [c.data, c.statuses, performance.now()];
    c.measuring = true;
    await sleep(t.windowMs);
    c.measuring = false;
    const [d1, s1, ms] = [c.data, c.statuses, performance.now() - t0];
    const cpuUse = cpu.stop();
    const f1 = await r.sim.frames();
    return {
      ticksPerSec: perSec(d1 - d0, ms),
      gatewayFramesPerSec: f0 === undefined || f1 === undefined ? null : perSec(f1 - f0, ms),
      latencyMs: latency.summary(),
      statusesInWindow: s1 - s0,
      error: c.error,
      cpu: cpuUse,
    };
  } finally {
    await r.close();
  }
}

export interface FanoutRound {
  shape: "all-in-one" | "2 edges";
  framesPerSec: number;
  subscribers: number;
  /** Streams with live data (more than the join's state) before the window. */
  withData: number;
  /** Streams that had ended with an error by the window's end. */
  failed: number;
  eventsPerSec: number;
  /** What each subscriber would get with every IB tick event delivered (gw frames/s × 1.5) × N. */
  offeredPerSec: number | null;
  perSubscriber: { min: number; median: number; max: number };
  messagesPerSec: number;
  statusesInWindow: number;
  errors: string[];
  openMs: number;
  cpu: Record<string, number>;
  /** Per edge: warnings and errors logged, a few of them. */
  edgeLogs: { name: string; warnings: number; errors: number; samples: string[] }[];
}

/** Figure 2: N subscribers at `framesPerSec` on the all-in-one process, or over 2 edges (N/2 each). */
async function fanoutRound(shape: FanoutRound["shape"], framesPerSec: number, n: number, t: EdgeTimes): Promise<FanoutRound> {
  const r = new Round();
  try {
    if (shape === "2 edges") r.nats = await startNatsServer();
    r.sim = await startFloodSim(framesPerSec);
    r.svc = await startService(r.sim.port, r.nats === undefined ? {} : { BENCH_BUS_URL: r.nats.url });
    const ports: number[] = [];
    if (r.nats !== undefined) {
      for (const name of ["edge A", "edge B"]) r.edges.push(await startEdgeProcess(name, r.nats.url));
      ports.push(...r.edges.map((e) => e.grpcPort));
    } else ports.push(r.svc.grpcPort, r.svc.grpcPort);
    progress(`edge: ${n} subscribers, ${shape}, at ${framesPerSec} frames/s`);
    const open0 = performance.now();
    r.workers = await Promise.all([startWorker(ports[0]!, Math.ceil(n / 2)), startWorker(ports[1]!, Math.floor(n / 2))]);
    let id = 1;
    let withData = 0;
    const openBy = performance.now() + 60_000;
    let errors: string[] = [];
    while (performance.now() < openBy) {
      const c = await countsOf(r.workers, id++);
      // Live: more than the join's state (the first event of a stream is the latest quote, as a joiner gets it).
      withData = c.data.filter((d) => d > 1).length;
      errors = c.errors;
      if (withData + c.failed >= n) break;
      await sleep(250);
    }
    const openMs = Math.round(performance.now() - open0);
    if (withData === 0) throw new Error(`no subscriber got data (${shape}): ${errors.join("; ") || "no error"}`);
    await sleep(t.warmupMs);
    const cpu = cpuWindow(r.named(), shape === "all-in-one" ? "all-in-one" : "provider");
    const f0 = await r.sim.frames();
    const c0 = await countsOf(r.workers, id++);
    const t0 = performance.now();
    await sleep(t.windowMs);
    const c1 = await countsOf(r.workers, id++);
    const ms = performance.now() - t0;
    const cpuUse = cpu.stop();
    const f1 = await r.sim.frames();
    const per = c1.data.map((d, i) => perSec(d - c0.data[i]!, ms)).sort((a, b) => a - b);
    const frames = f0 === undefined || f1 === undefined ? null : perSec(f1 - f0, ms);
    return {
      shape,
      framesPerSec,
      subscribers: n,
      withData,
      failed: c1.failed,
      eventsPerSec: perSec(c1.data.reduce((s, d, i) => s + d - c0.data[i]!, 0), ms),
      offeredPerSec: frames === null ? null : Math.round(frames * 1.5 * n),
      perSubscriber: { min: per[0]!, median: per[Math.floor(per.length / 2)]!, max: per.at(-1)! },
      messagesPerSec: perSec(c1.messages - c0.messages, ms),
      statusesInWindow: c1.statuses - c0.statuses,
      errors: c1.errors,
      openMs,
      cpu: cpuUse,
      edgeLogs: r.edges.map((e) => ({ name: e.name, ...e.logs, samples: [...e.logs.samples] })),
    };
  } finally {
    await r.close();
  }
}

export interface LatencyAndFailover {
  edge: ReturnType<Histogram["summary"]>;
  provider: ReturnType<Histogram["summary"]>;
  edgeTicksPerSec: number;
  providerTicksPerSec: number;
  cpu: Record<string, number>;
  failover: {
    lastSeq: number;
    epoch: string | undefined;
    /** kill -9 → the client's stream ended (its error). */
    detectMs: number | null;
    /** kill -9 → the first data event of the stream resumed at edge B. */
    firstResumedMs: number | null;
    firstResumedSeq: number | null;
    /** Sequences before the kill (after the join's state) and after it, over the whole resumed stream. */
    before: { events: number; lost: number; repeated: number };
    /** `lost` includes the sequences between the last one before the kill and the first resumed one. */
    after: { events: number; lost: number; repeated: number; duplicatesOfBefore: number };
    resumedStatuses: string[];
    error: string | undefined;
  } | null;
}

/** Figures 3 and 4: 10k ticks/s, the provider and edges A and B; one subscriber on A, one on the provider; then kill -9 A. */
async function latencyAndFailover(t: EdgeTimes): Promise<LatencyAndFailover> {
  const r = new Round();
  try {
    r.nats = await startNatsServer();
    r.sim = await startFloodSim(Math.round(LATENCY_TICKS_PER_SEC / 1.5));
    r.svc = await startService(r.sim.port, { BENCH_BUS_URL: r.nats.url });
    for (const name of ["edge A", "edge B"]) r.edges.push(await startEdgeProcess(name, r.nats.url));
    const [a, b] = r.edges as [EdgeProcess, EdgeProcess];
    const toProvider = new Client(`127.0.0.1:${r.svc.grpcPort}`, credentials.createInsecure(), CLIENT_OPTIONS);
    const toA = new Client(`127.0.0.1:${a.grpcPort}`, credentials.createInsecure(), CLIENT_OPTIONS);
    r.closers.push(() => toProvider.close(), () => toA.close());
    const latEdge = new Histogram();
    const latProvider = new Histogram();
    progress("edge: latency at 10k ticks/s, a subscriber on edge A and one on the provider");
    const direct = new SeqConsumer(toProvider, latProvider, undefined);
    r.closers.unshift(() => direct.cancel());
    let killedAt: number | undefined;
    let detectedAt: number | undefined;
    let resumed: SeqConsumer | undefined;
    let resumedError: string | undefined;
    let toB: Client | undefined;
    let lastSeq = 0;
    // On the edge stream's end after the kill: at once to edge B, after its last data event in its epoch.
    const onEdgeEnd = () => {
      if (killedAt === undefined || resumed !== undefined) return;
      detectedAt = performance.now();
      lastSeq = atEdge.seqs.at(-1) ?? 0;
      if (atEdge.epoch === undefined) {
        resumedError = "no SUBSCRIBED status with an epoch on the first stream";
        return;
      }
      toB = new Client(`127.0.0.1:${b.grpcPort}`, credentials.createInsecure(), CLIENT_OPTIONS);
      r.closers.push(() => toB!.close());
      resumed = new SeqConsumer(toB, undefined, { afterSequence: String(lastSeq), epoch: atEdge.epoch });
      r.closers.unshift(() => resumed!.cancel());
    };
    const atEdge = new SeqConsumer(toA, latEdge, undefined, onEdgeEnd);
    r.closers.unshift(() => atEdge.cancel());
    await waitFor(() => (direct.seqs.length > 0 || direct.error !== undefined) && (atEdge.seqs.length > 0 || atEdge.error !== undefined), 20_000);
    if (direct.seqs.length === 0 || atEdge.seqs.length === 0) throw new Error(`no data: provider ${direct.error ?? ""}, edge ${atEdge.error ?? ""}`);
    await sleep(t.warmupMs);
    const cpu = cpuWindow(r.named(), "provider");
    const [e0, p0, t0] = [atEdge.seqs.length, direct.seqs.length, performance.now()];
    atEdge.measuring = direct.measuring = true;
    await sleep(t.windowMs);
    atEdge.measuring = direct.measuring = false;
    const [e1, p1, ms] = [atEdge.seqs.length, direct.seqs.length, performance.now() - t0];
    const cpuUse = cpu.stop();

    progress("edge: failover, kill -9 edge A");
    killedAt = performance.now();
    a.kill9();
    let firstResumedAt: number | undefined;
    let firstResumedSeq: number | undefined;
    await waitFor(() => {
      if (resumed !== undefined && firstResumedAt === undefined) {
        const s = resumed.seqs.find((x) => x > lastSeq);
        if (s !== undefined) {
          firstResumedAt = performance.now();
          firstResumedSeq = s;
        }
      }
      return firstResumedAt !== undefined || resumedError !== undefined || resumed?.error !== undefined;
    }, 15_000);
    // A while live after the resume: every sequence once, none skipped.
    if (firstResumedAt !== undefined) await sleep(2_000);
    const before = atEdge.seqs.slice(1); // the first is the join's state (the latest quote, as a joiner gets it)
    const after = resumed?.seqs ?? [];
    const seenBefore = new Set(before);
    return {
      edge: latEdge.summary(),
      provider: latProvider.summary(),
      edgeTicksPerSec: perSec(e1 - e0, ms),
      providerTicksPerSec: perSec(p1 - p0, ms),
      cpu: cpuUse,
      failover: {
        lastSeq,
        epoch: atEdge.epoch,
        detectMs: detectedAt === undefined ? null : round1(detectedAt - killedAt),
        firstResumedMs: firstResumedAt === undefined ? null : round1(firstResumedAt - killedAt),
        firstResumedSeq: firstResumedSeq ?? null,
        before: { events: before.length, ...breaks(before, 0) },
        after: (({ lost, repeated }) => ({
          events: after.length,
          lost: lost + Math.max(0, (after[0] ?? lastSeq + 1) - lastSeq - 1),
          repeated,
          duplicatesOfBefore: after.filter((s) => seenBefore.has(s)).length,
        }))(breaks(after, 0)),
        resumedStatuses: (resumed?.statuses ?? []).map((k) => StreamStatusKind[k]?.replace("STREAM_STATUS_KIND_", "") ?? String(k)),
        error: resumedError ?? resumed?.error,
      },
    };
  } finally {
    await r.close();
  }
}

// --- the scenario ---------------------------------------------------------------------------------------------

/** What run.ts's baseline and fan-out rounds give this scenario (their code, not a copy). */
export interface EdgeBaselines {
  /** The bare @stoqey/ib client on a full-rate flood (run.ts `bareClient`). */
  bare: () => Promise<{ ticksPerSec: number }>;
  /** The all-in-one process with one subscriber at full rate (run.ts `serviceRound(1)`). */
  allInOneSingle: () => Promise<{ ticksPerSec: number }>;
}

export interface EdgeResult {
  bareTicksPerSec: number | null;
  allInOneSingleTicksPerSec: number | null;
  single: SingleEdge | null;
  fanout: FanoutRound[];
  latency: LatencyAndFailover | null;
  failures: string[];
}

async function tryRound<T>(what: string, run: () => Promise<T>, failures: string[]): Promise<T | null> {
  try {
    return await run();
  } catch (err) {
    const message = `edge ${what}: ${err instanceof Error ? err.message : String(err)}`;
    failures.push(message);
    progress(`FAILED ${message}`);
    return null;
  }
}

export async function edgeRounds(baselines: EdgeBaselines, t: EdgeTimes): Promise<EdgeResult> {
  const failures: string[] = [];
  let [bare, single, allInOne, latency] = [null, null, null, null] as [{ ticksPerSec: number } | null, SingleEdge | null, { ticksPerSec: number } | null, LatencyAndFailover | null];
  if (PARTS.has("single")) {
    progress("edge: the bare client (baseline)");
    bare = await tryRound("bare client", baselines.bare, failures);
    single = await tryRound("1 subscriber", () => edgeSingle(t), failures);
    progress("edge: the all-in-one process, 1 subscriber");
    allInOne = await tryRound("all-in-one 1 subscriber", baselines.allInOneSingle, failures);
  }
  const fanout: FanoutRound[] = [];
  if (PARTS.has("fanout")) {
    for (const rate of FANOUT_FRAMES_PER_SEC) {
      for (const shape of ["all-in-one", "2 edges"] as const) {
        const f = await tryRound(`${SUBSCRIBERS} subscribers ${shape} at ${rate} frames/s`, () => fanoutRound(shape, rate, SUBSCRIBERS, t), failures);
        if (f) fanout.push(f);
      }
    }
  }
  if (PARTS.has("latency")) latency = await tryRound("latency and failover", () => latencyAndFailover(t), failures);
  return { bareTicksPerSec: bare?.ticksPerSec ?? null, allInOneSingleTicksPerSec: allInOne?.ticksPerSec ?? null, single, fanout, latency, failures };
}

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? null : Math.round((a / b) * 1000) / 1000);
const lat = (l: ReturnType<Histogram["summary"]>) => `${fmt(l.p50)}/${fmt(l.p99)}/${fmt(l.max)}`;

export function edgeReport(r: EdgeResult): string[] {
  const out = ["edge: streams served by edges (provider → nats-server → edge → client), CPU as % of one core per process over each window:"];
  const s = r.single;
  out.push(
    `  1. 1 subscriber at full rate: bare @stoqey/ib ${fmt(r.bareTicksPerSec)} ticks/s; on an edge ${fmt(s?.ticksPerSec)} (÷ bare ${fmt(ratio(s?.ticksPerSec, r.bareTicksPerSec))}, target ≥ 0.5; simulator ${fmt(s?.gatewayFramesPerSec)} frames/s, ${fmt(s?.statusesInWindow)} statuses in the window, latency p50/p99/max ${s ? lat(s.latencyMs) : "-"} ms${s?.error ? `, error ${s.error}` : ""}); all-in-one ${fmt(r.allInOneSingleTicksPerSec)} (÷ bare ${fmt(ratio(r.allInOneSingleTicksPerSec, r.bareTicksPerSec))})`,
  );
  if (s) out.push(`     CPU: ${cpuText(s.cpu)}`);
  for (const rate of FANOUT_FRAMES_PER_SEC) {
    const rounds = r.fanout.filter((f) => f.framesPerSec === rate);
    if (rounds.length === 0) continue;
    out.push(`  2. ${SUBSCRIBERS} subscribers of BTCUSDT at ${fmt(rate)} frames/s (≈ ${fmt(rate * 1.5)} events/s each offered):`);
    for (const f of rounds) {
      out.push(
        `     ${f.shape.padEnd(10)} ${fmt(f.eventsPerSec)} events/s of ${fmt(f.offeredPerSec)} offered (per subscriber min/med/max ${fmt(f.perSubscriber.min)}/${fmt(f.perSubscriber.median)}/${fmt(f.perSubscriber.max)}), ${fmt(f.messagesPerSec)} msgs/s, ${f.withData}/${f.subscribers} live before the window (after ${fmt(f.openMs)} ms), ${f.failed} ended with an error, ${fmt(f.statusesInWindow)} statuses in the window${f.errors.length ? ` (${f.errors.join("; ")})` : ""}`,
      );
      // The serving side's CPU per event delivered: the all-in-one process, or the provider, nats-server and the edges.
      const serving = Object.entries(f.cpu).filter(([k]) => k === "all-in-one" || k === "provider" || k === "nats-server" || k.startsWith("edge ")).reduce((sum, [, v]) => sum + v, 0);
      out.push(`       CPU: ${cpuText(f.cpu)}; serving ${serving} % of a core: ${f.eventsPerSec > 0 ? fmt(round1((serving * 1e4) / f.eventsPerSec)) : "-"} µs per event delivered`);
      for (const e of f.edgeLogs) out.push(`       ${e.name} logged ${e.warnings} warnings, ${e.errors} errors${e.samples.length ? `: ${e.samples.join(" | ")}` : ""}`);
    }
    const aio = rounds.find((f) => f.shape === "all-in-one");
    const edges = rounds.find((f) => f.shape === "2 edges");
    out.push(`     2 edges ÷ all-in-one: ${fmt(ratio(edges?.eventsPerSec, aio?.eventsPerSec))}`);
  }
  const l = r.latency;
  if (l) {
    const added = (p: "p50" | "p99") => (l.edge[p] === null || l.provider[p] === null ? null : round1(l.edge[p]! - l.provider[p]!));
    out.push(`  3. at ${fmt(LATENCY_TICKS_PER_SEC)} ticks/s in, every tick's latency from the simulator's send, p50/p99/max ms (same window):`);
    out.push(`     on the provider  ${lat(l.provider)}  (${fmt(l.providerTicksPerSec)} ticks/s, ${fmt(l.provider.samples)} samples)`);
    out.push(`     on an edge       ${lat(l.edge)}  (${fmt(l.edgeTicksPerSec)} ticks/s, ${fmt(l.edge.samples)} samples)`);
    out.push(`     added by the bus p50 ${fmt(added("p50"))} ms, p99 ${fmt(added("p99"))} ms`);
    out.push(`     CPU: ${cpuText(l.cpu)}`);
    const f = l.failover;
    if (f) {
      out.push(
        `  4. failover: kill -9 edge A → stream ended after ${fmt(f.detectMs)} ms → first resumed event at edge B after ${fmt(f.firstResumedMs)} ms (target < 2,000); resumed after ${f.lastSeq} of epoch ${f.epoch ?? "-"}, first resumed seq ${fmt(f.firstResumedSeq)}`,
      );
      out.push(
        `     before the kill ${fmt(f.before.events)} events (${f.before.lost} lost, ${f.before.repeated} repeated); resumed ${fmt(f.after.events)} events (${f.after.lost} lost, ${f.after.repeated} repeated, ${f.after.duplicatesOfBefore} already received); statuses ${f.resumedStatuses.join(", ") || "-"}${f.error ? `; error ${f.error}` : ""}`,
      );
    }
  }
  for (const f of r.failures) out.push(`  FAILED ${f}`);
  return out;
}
