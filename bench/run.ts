/**
 * Streaming benchmark (`npm run bench`; bench/README.md explains every figure, BENCHMARKS.md records them).
 * It prints figures and ratios against baselines measured in the same run; it asserts nothing.
 *
 *  1. baseline: a bare @stoqey/ib client decoding the flood simulator's L1 feed at full rate;
 *  2. fan-out: the real service (startApp in its own process, IB_GATEWAY_URL → a flood simulator in
 *     another) and N = 1, 10, 100, 500 StreamTicks subscribers of one symbol at full rate: ticks/s
 *     delivered, latency from the simulator's send to the client's receipt, service RSS per subscriber;
 *  3. added latency at 10k ticks/s in: the bare client and the service (1 subscriber) on a rate-limited
 *     simulator, latency from the simulator's send for both, and the difference;
 *  4. 1000 concurrent streams over 20 instruments held for a window;
 *  5. handler layer: our grpc-js layer vs nice-grpc, the same pre-encoded stream, messages/s;
 *  6. store (storeBench.ts): a cached GetCandles of a year of min1 vs the raw SQLite read of the same rows;
 *  7. replay (issue 15): ticks recorded by the service from a flood, then the raw SQLite read of those rows
 *     vs a StreamTicks replay of them (after_sequence) to one client, counted on the wire;
 *  8. recording (issue 15): scenario 3's added latency with recording off and on, alternated;
 *  9. console (consoleBench.ts, issue 19; only when named in BENCH_SCENARIOS): the service's CPU with 0, 1 and
 *     50 simulated consoles (/ui's polls and SSE streams over HTTP) on the simulator at its default cadence.
 * 10. bus (busBench.ts; only when named in BENCH_SCENARIOS): the provider role's latency through JetStream.
 * 11. edge (edgeBench.ts; only when named in BENCH_SCENARIOS): streams served by edge processes: 1 subscriber
 *     ÷ bare decode, N subscribers over 2 edges ÷ the all-in-one, the bus hop's added latency, failover.
 * 12. orders (orderBench.ts; only when named in BENCH_SCENARIOS): an order's round trip, place → acknowledged
 *     and place → filled, on the simulator's matching engine, against a unary call in the same run.
 *
 * The simulator stamps each flood frame's size with its send time (wall-clock µs), so latency is measured
 * from the Gateway's send, across processes on the same host clock. Consumers count events straight from
 * the wire (top-level frames) and decode one message in `sampleEvery` for latency, so that the measuring
 * process costs little next to the service.
 * Env: BENCH_WINDOW_MS (5000), BENCH_WARMUP_MS (1000), BENCH_FANOUT ("1,10,100,500"), BENCH_SCENARIOS
 * ("baseline,fanout,latency,held,layer,store,replay,recording"), BENCH_STORE_DAYS (365), BENCH_REPLAY_EVENTS (200000),
 * BENCH_RECORDING_PAIRS (3), BENCH_SERVICE_NODE_ARGS (extra node flags for the service).
 */
import { performance } from "node:perf_hooks";
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Client } from "@grpc/grpc-js";
import { EventName, IBApi, type Contract } from "@stoqey/ib";
import type { ServiceJournal } from "./serviceWorker.js";
import {
  Child,
  channels,
  children,
  Consumer,
  fmt,
  Histogram,
  MB,
  nowUs,
  perSec,
  probe,
  processMonitor,
  progress,
  round1,
  startFloodSim,
  startService,
  waitFor,
  type ServiceHandle,
} from "./harness.js";
import { consoleReport, consoleRound } from "./consoleBench.js";
import { busReport, busRounds } from "./busBench.js";
import { edgeReport, edgeRounds } from "./edgeBench.js";
import { orderRounds } from "./orderBench.js";
import { REPLAY_REPEATS, replayRound } from "./replayBench.js";
import { backfillRound, storeRound } from "./storeBench.js";

const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 5000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1000);
const FANOUT = (process.env.BENCH_FANOUT ?? "1,10,100,500").split(",").map((s) => Number(s.trim())).filter((n) => n > 0);
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? "baseline,fanout,latency,held,layer,store,replay,recording").split(",").map((s) => s.trim()));
/** Scenario 3: IB tick events per second in (the flood's frames give ≈ 1.5 events each). */
const LATENCY_TICKS_PER_SEC = 10_000;
/** Scenario 4: streams, instruments, and flood frames per second in total. */
const HELD_STREAMS = 1_000;
const HELD_FRAMES_PER_SEC = 400;
/** Scenario 8: rounds of the service at scenario 3's rate with recording off and on (alternated, pooled). */
const RECORDING_PAIRS = Number(process.env.BENCH_RECORDING_PAIRS ?? 3);
const HARD_DEADLINE_MS = 900_000;
const BTC = { symbol: "BTC", secType: "CRYPTO", exchange: "PAXOS", currency: "USD" } as const;
const DECODE_ERROR = /unprocessed data|underrun|no parser implementation/i;

// Belt and braces: the run ends by itself even if something unforeseen hangs.
const hardDeadline = setTimeout(() => {
  console.error(`bench: not finished after ${HARD_DEADLINE_MS / 1000} s; aborting`);
  for (const c of children) c.kill("SIGKILL");
  process.exit(2);
}, HARD_DEADLINE_MS);
hardDeadline.unref();


// --- 1. baseline: bare @stoqey/ib decode -------------------------------------------------------------------

interface BareResult {
  ticksPerSec: number;
  gatewayFramesPerSec: number | null;
  latencyMs: ReturnType<Histogram["summary"]>;
  decodeErrors: number;
  clientElu: number;
}

/** A bare IBApi client on a flood simulator (full rate, or `framesPerSec`), counting tick events. */
async function bareClient(framesPerSec?: number): Promise<BareResult> {
  const sim = await startFloodSim(framesPerSec);
  const ib = new IBApi({ host: "127.0.0.1", port: sim.port, clientId: 0, maxReqPerSec: 1000 });
  let ticks = 0;
  let measuring = false;
  const latency = new Histogram();
  const decodeErrors: string[] = [];
  ib.on(EventName.tickPrice, (id: number) => {
    if (id === 1) ticks++;
  });
  ib.on(EventName.tickSize, (id: number, tickType?: number, size?: number) => {
    if (id !== 1) return;
    ticks++;
    // The ASK size carries the simulator's send stamp (µs).
    if (measuring && tickType === 3 && size !== undefined && size > 0) latency.add((nowUs() - Number(size)) / 1000);
  });
  ib.on(EventName.error, (err: Error, code: number) => {
    const message = err?.message ?? String(err);
    if (code === 505 || DECODE_ERROR.test(message)) decodeErrors.push(message);
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
    ib.reqMktData(1, { ...BTC } as Contract, "", false, false);
    if (!(await waitFor(() => ticks > 0, 10_000))) throw new Error("bare client: no tick within 10 s");
    await sleep(WARMUP_MS);
    const mon = processMonitor();
    const f0 = await sim.frames();
    const [n0, t0] = [ticks, performance.now()];
    measuring = true;
    await sleep(WINDOW_MS);
    measuring = false;
    const [n1, ms] = [ticks, performance.now() - t0];
    const f1 = await sim.frames();
    return {
      ticksPerSec: perSec(n1 - n0, ms),
      gatewayFramesPerSec: f0 === undefined || f1 === undefined ? null : perSec(f1 - f0, ms),
      latencyMs: latency.summary(),
      decodeErrors: decodeErrors.length,
      clientElu: mon.stop().elu,
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

// --- 2. fan-out at full rate, 3. service latency at a bounded rate -----------------------------------------

interface ServiceRound {
  consumers: number;
  ticksPerSec: number;
  perConsumer: { min: number; median: number; max: number };
  messagesPerSec: number;
  avgBatch: number;
  gatewayFramesPerSec: number | null;
  latencyMs: ReturnType<Histogram["summary"]>;
  consumersWithData: number;
  streamErrors: string[];
  ibTickLines: number | null;
  serviceRssMB: { idle: number | null; end: number | null };
  serviceHeapUsedMB: number | null;
  serviceElu: number | null;
  probeRttMs: number | null;
  lineReleasedAfterCancel: boolean | null;
  consumerElu: number;
  /** The service's CPU time over the window ÷ IB tick events in (gw frames × 1.5), µs. */
  serviceCpuUsPerTickIn: number | null;
  /** Data events the service's store holds for its feeds at the window's end (0 with recording off). */
  recordedEvents: number | null;
  /** Recorded rows the service's store dropped because its writer was too far behind (MAX_BUFFERED_ROWS), since it started. */
  eventsShed: number | null;
}

/**
 * The service on a flood simulator (full rate or `framesPerSec`) with `n` StreamTicks consumers spread over
 * `symbols` (one IB line each), over ⌈n/100⌉ connections.
 */
async function serviceRound(
  n: number,
  opts: {
    framesPerSec?: number;
    symbols?: { symbol: string; marketType: string }[];
    sampleEvery: number;
    firstDataTimeoutMs?: number;
    /** Service environment (serviceWorker.ts: BENCH_STORE_RECORDING…). */
    env?: Record<string, string>;
    /** Latency samples also go here (rounds pooled by the caller). */
    pooled?: Histogram;
    /** Told when the measurement window opens (true) and closes (false): busBench.ts measures its consumer in it. */
    onWindow?: (open: boolean) => void;
  },
): Promise<ServiceRound> {
  const sim = await startFloodSim(opts.framesPerSec);
  let svc: ServiceHandle | undefined;
  let consumers: Consumer[] = [];
  let clients: Client[] = [];
  try {
    svc = await startService(sim.port, opts.env);
    const idle = await probe(svc.svc, 0);
    clients = channels(svc.grpcPort, Math.ceil(n / 100));
    const latency = new Histogram(opts.pooled);
    const sampled = { messages: 0 };
    const symbols = opts.symbols ?? [{ symbol: "BTCUSDT", marketType: "spot" }];
    progress(`${n} consumer(s) of ${symbols.length} symbol(s)${opts.framesPerSec ? ` at ${opts.framesPerSec} frames/s` : " at full rate"}`);
    consumers = Array.from({ length: n }, (_, i) => {
      const s = symbols[i % symbols.length]!;
      return new Consumer(clients[i % clients.length]!, s.symbol, s.marketType, latency, opts.sampleEvery, sampled);
    });
    await waitFor(() => consumers.every((c) => c.data > 0 || c.error !== undefined), opts.firstDataTimeoutMs ?? 15_000);
    const withData = consumers.filter((c) => c.data > 0).length;
    if (withData === 0) throw new Error(`no consumer received data: ${consumers.find((c) => c.error)?.error ?? "no error"}`);
    await sleep(WARMUP_MS);
    await probe(svc.svc, 1); // starts the service's ELU window
    const mon = processMonitor();
    const f0 = await sim.frames();
    const before = consumers.map((c) => [c.data, c.messages] as const);
    for (const c of consumers) c.measuring = true;
    opts.onWindow?.(true);
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    const ms = performance.now() - t0;
    for (const c of consumers) c.measuring = false;
    opts.onWindow?.(false);
    const after = consumers.map((c) => [c.data, c.messages] as const);
    const f1 = await sim.frames();
    const consumerElu = mon.stop().elu;
    const end = await probe(svc.svc, 2);
    const journal = await svc.svc.ask<ServiceJournal>({ type: "journal" }, 15_000);
    for (const c of consumers) c.cancel();
    let released: boolean | null = null;
    const releaseBy = performance.now() + 5_000;
    for (let id = 3; performance.now() < releaseBy; id++) {
      const p = await probe(svc.svc, id);
      if (p === undefined) break;
      released = p.tickLines === 0;
      if (released) break;
      await sleep(100);
    }
    const perConsumer = after.map(([d], i) => perSec(d - before[i]![0], ms)).sort((a, b) => a - b);
    const data = after.reduce((sum, [d], i) => sum + d - before[i]![0], 0);
    const messages = after.reduce((sum, [, m], i) => sum + m - before[i]![1], 0);
    return {
      consumers: n,
      ticksPerSec: perSec(data, ms),
      perConsumer: { min: perConsumer[0]!, median: perConsumer[Math.floor(perConsumer.length / 2)]!, max: perConsumer.at(-1)! },
      messagesPerSec: perSec(messages, ms),
      avgBatch: messages === 0 ? 0 : round1(data / messages),
      gatewayFramesPerSec: f0 === undefined || f1 === undefined ? null : perSec(f1 - f0, ms),
      latencyMs: latency.summary(),
      consumersWithData: withData,
      streamErrors: [...new Set(consumers.map((c) => c.error).filter((e): e is string => e !== undefined))],
      ibTickLines: end?.tickLines ?? null,
      serviceRssMB: { idle: idle?.rssMB ?? null, end: end?.rssMB ?? null },
      serviceHeapUsedMB: end?.heapUsedMB ?? null,
      serviceElu: end?.elu ?? null,
      probeRttMs: end?.rttMs ?? null,
      lineReleasedAfterCancel: released,
      consumerElu,
      recordedEvents: journal === undefined ? null : journal.feeds.reduce((sum, f) => sum + f.lastSeq, 0),
      eventsShed: journal?.eventsShed ?? null,
      serviceCpuUsPerTickIn: end === undefined || f0 === undefined || f1 === undefined || f1 === f0 ? null : round1((end.cpuMs * 1000) / ((f1 - f0) * 1.5)),
    };
  } finally {
    for (const c of consumers) c.cancel();
    for (const c of clients) c.close();
    await svc?.svc.stop(10_000);
    await sim.stop();
  }
}

// --- 8. recording on vs off: scenario 3's added latency ---------------------------------------------------------

interface RecordingResult {
  bare: BareResult;
  /** Every sample of the rounds of each mode, pooled. */
  off: ReturnType<Histogram["summary"]>;
  on: ReturnType<Histogram["summary"]>;
  rounds: { recording: "on" | "off"; latencyMs: ReturnType<Histogram["summary"]>; ticksPerSec: number; recordedEvents: number | null; serviceElu: number | null; cpuUsPerTick: number | null }[];
  /** The median over the rounds of each mode (one stalled round on a shared machine moves the pooled p99, not this). */
  median: Record<"on" | "off", { p50: number | null; p99: number | null; elu: number | null; cpuUsPerTick: number | null }>;
}

function median(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : round1((v[v.length / 2 - 1]! + v[v.length / 2]!) / 2);
}

/** p99 with recording on − off, medians over the rounds (the same bare baseline: the difference in added p99), ms. */
function recordingAddsP99(r: RecordingResult): number | null {
  return r.median.on.p99 === null || r.median.off.p99 === null ? null : round1(r.median.on.p99 - r.median.off.p99);
}

/**
 * What recording adds to the p99 the service adds without it: (on − off) ÷ (off − bare). Null when the
 * service adds nothing measurable without recording (a noisy bare baseline: the ratio would mean nothing).
 */
function recordingShare(r: RecordingResult): number | null {
  const adds = recordingAddsP99(r);
  const base = r.median.off.p99 === null || r.bare.latencyMs.p99 === null ? null : r.median.off.p99 - r.bare.latencyMs.p99;
  return adds === null || base === null || base <= 0 ? null : Math.round((adds / base) * 100) / 100;
}

/** The bare client at scenario 3's rate, then RECORDING_PAIRS pairs of service rounds, recording off and on, alternated. */
async function recordingRounds(framesPerSec: number): Promise<RecordingResult> {
  const bare = await bareClient(framesPerSec);
  const pooled = { off: new Histogram(), on: new Histogram() };
  const rounds: RecordingResult["rounds"] = [];
  for (let pair = 0; pair < RECORDING_PAIRS; pair++) {
    // off, on, then on, off: neither mode always runs second.
    for (const mode of pair % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
      progress(`recording ${mode}, round ${pair + 1}`);
      const r = await serviceRound(1, { framesPerSec, sampleEvery: 1, env: { BENCH_STORE_RECORDING: mode }, pooled: pooled[mode] });
      rounds.push({ recording: mode, latencyMs: r.latencyMs, ticksPerSec: r.ticksPerSec, recordedEvents: r.recordedEvents, serviceElu: r.serviceElu, cpuUsPerTick: r.serviceCpuUsPerTickIn });
    }
  }
  const medianOf = (mode: "on" | "off") => {
    const of = rounds.filter((r) => r.recording === mode);
    return { p50: median(of.map((r) => r.latencyMs.p50)), p99: median(of.map((r) => r.latencyMs.p99)), elu: median(of.map((r) => r.serviceElu)), cpuUsPerTick: median(of.map((r) => r.cpuUsPerTick)) };
  };
  return { bare, off: pooled.off.summary(), on: pooled.on.summary(), rounds, median: { off: medianOf("off"), on: medianOf("on") } };
}

// --- 5. handler layers --------------------------------------------------------------------------------------

interface LayerResult {
  layer: string;
  streams: number;
  messagesPerSec: number;
}

async function layerRounds(): Promise<{ results: LayerResult[]; workerRssMB: number | null }> {
  const worker = new Child("./layerWorker.ts");
  const ready = await worker.next<{ ownPort: number; nicePort: number }>("ready", 30_000);
  if (!ready) {
    await worker.stop(2_000);
    throw new Error("layer worker did not start within 30 s");
  }
  const results: LayerResult[] = [];
  try {
    // Alternate the layers so that neither always runs on a warmer process.
    for (const streams of [1, 100]) {
      for (const [layer, port] of [["own (src/grpc/handlers.ts)", ready.ownPort], ["nice-grpc 2.1", ready.nicePort]] as const) {
        const clients = channels(port, 1);
        const consumers = Array.from({ length: streams }, () => new Consumer(clients[0]!, "BTCUSDT", "spot", undefined, 1, { messages: 0 }));
        await waitFor(() => consumers.every((c) => c.messages > 0), 10_000);
        await sleep(WARMUP_MS);
        const m0 = consumers.reduce((s, c) => s + c.messages, 0);
        const t0 = performance.now();
        await sleep(WINDOW_MS / 2);
        const ms = performance.now() - t0;
        const m1 = consumers.reduce((s, c) => s + c.messages, 0);
        for (const c of consumers) c.cancel();
        clients[0]!.close();
        results.push({ layer, streams, messagesPerSec: perSec(m1 - m0, ms) });
        progress(`layer ${layer}, ${streams} stream(s): ${fmt(perSec(m1 - m0, ms))} msgs/s`);
        await sleep(300);
      }
    }
    const p = await worker.ask<{ rssMB: number }>({ type: "probe", id: 1 }, 5_000);
    return { results, workerRssMB: p?.rssMB ?? null };
  } finally {
    await worker.stop(5_000);
  }
}

// --- report -----------------------------------------------------------------------------------------------

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? null : Math.round((a / b) * 1000) / 1000);
const lat = (l: ReturnType<Histogram["summary"]>) => `${fmt(l.p50)}/${fmt(l.p99)}/${fmt(l.max)}`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

const HELD_SYMBOLS = [
  ...["AAPL", "MSFT", "SPY", "AMZN", "GOOGL", "NVDA", "META", "JPM", "V", "KO", "XOM", "NFLX", "AMD", "IBM", "INTC", "TSLA"].map((symbol) => ({ symbol, marketType: "spot" })),
  { symbol: "BTCUSDT", marketType: "spot" },
  { symbol: "ETHUSDT", marketType: "spot" },
  { symbol: "EURUSD", marketType: "spot" },
  { symbol: "ES", marketType: "futures" },
];

async function attempt<T>(what: string, run: () => Promise<T>, failures: string[]): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    failures.push(message);
    progress(`FAILED ${message}`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const failures: string[] = [];
  console.log(`ib-provider streaming benchmark — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} CPUs, warm-up ${WARMUP_MS} ms, window ${WINDOW_MS} ms, 127.0.0.1`);
  console.log("processes: flood simulator | service (startApp, IB_GATEWAY_URL → simulator) | this one (bare client, gRPC consumers)");

  const bare = SCENARIOS.has("baseline") ? await attempt("baseline", () => bareClient(), failures) : undefined;
  const fanout: ServiceRound[] = [];
  if (SCENARIOS.has("fanout")) {
    for (const n of FANOUT) {
      const r = await attempt(`fan-out ${n}`, () => serviceRound(n, { sampleEvery: 16 }), failures);
      if (r) fanout.push(r);
    }
  }
  const latencyFrames = Math.round(LATENCY_TICKS_PER_SEC / 1.5);
  const bareAtRate = SCENARIOS.has("latency") ? await attempt("bare at 10k ticks/s", () => bareClient(latencyFrames), failures) : undefined;
  const serviceAtRate = SCENARIOS.has("latency") ? await attempt("service at 10k ticks/s", () => serviceRound(1, { framesPerSec: latencyFrames, sampleEvery: 1 }), failures) : undefined;
  const held = SCENARIOS.has("held")
    ? await attempt("1000 streams", () => serviceRound(HELD_STREAMS, { framesPerSec: HELD_FRAMES_PER_SEC, symbols: HELD_SYMBOLS, sampleEvery: 16, firstDataTimeoutMs: 30_000 }), failures)
    : undefined;
  const layers = SCENARIOS.has("layer") ? await attempt("handler layers", () => layerRounds(), failures) : undefined;
  const store = SCENARIOS.has("store") ? await attempt("store", () => storeRound(), failures) : undefined;
  const backfill = SCENARIOS.has("store") ? await attempt("backfill", () => backfillRound(), failures) : undefined;
  const replay = SCENARIOS.has("replay") ? await attempt("replay", () => replayRound(), failures) : undefined;
  const recording = SCENARIOS.has("recording") ? await attempt("recording on/off", () => recordingRounds(latencyFrames), failures) : undefined;
  // Not in the default list (≈ 2.5 minutes): BENCH_SCENARIOS=console npm run bench (consoleBench.ts).
  const consoleCost = SCENARIOS.has("console") ? await attempt("console", () => consoleRound(), failures) : undefined;
  // Not in the default list either (a nats-server, ≈ 1 minute): BENCH_SCENARIOS=bus (busBench.ts).
  const bus = SCENARIOS.has("bus")
    ? await attempt("bus", () => busRounds((env, onWindow) => serviceRound(1, { framesPerSec: latencyFrames, sampleEvery: 1, env, onWindow })), failures)
    : undefined;
  // Not in the default list either (a nats-server, a provider and edges, ≈ 2 minutes): BENCH_SCENARIOS=edge (edgeBench.ts).
  const edge = SCENARIOS.has("edge")
    ? await attempt("edge", () => edgeRounds({ bare: () => bareClient(), allInOneSingle: () => serviceRound(1, { sampleEvery: 16 }) }, { windowMs: WINDOW_MS, warmupMs: WARMUP_MS }), failures)
    : undefined;

  // Not in the default list either (≈ 10 s): BENCH_SCENARIOS=orders (orderBench.ts).
  const orders = SCENARIOS.has("orders") ? await attempt("orders", () => orderRounds(), failures) : undefined;

  const single = fanout.find((f) => f.consumers === 1);
  console.log();
  if (bare) console.log(`bare @stoqey/ib decode: ${fmt(bare.ticksPerSec)} ticks/s (simulator ${fmt(bare.gatewayFramesPerSec)} frames/s), latency p50/p99/max ${lat(bare.latencyMs)} ms, decode errors ${bare.decodeErrors}, client ELU ${bare.clientElu}`);
  if (fanout.length > 0) {
    console.log();
    console.log(
      table([
        ["subscribers", "ticks/s", "÷ bare", "per sub min/med/max", "msgs/s", "batch", "gw frames/s", "latency p50/p99/max ms", "svc RSS idle→end MB", "RSS/sub KB", "svc ELU", "probe ms", "errors"],
        ...fanout.map((f) => [
          String(f.consumers),
          fmt(f.ticksPerSec),
          fmt(ratio(f.ticksPerSec, bare?.ticksPerSec)),
          `${fmt(f.perConsumer.min)}/${fmt(f.perConsumer.median)}/${fmt(f.perConsumer.max)}`,
          fmt(f.messagesPerSec),
          String(f.avgBatch),
          fmt(f.gatewayFramesPerSec),
          lat(f.latencyMs),
          `${fmt(f.serviceRssMB.idle)}→${fmt(f.serviceRssMB.end)}`,
          single && f.consumers > 1 && f.serviceRssMB.end !== null && single.serviceRssMB.end !== null ? fmt(Math.round(((f.serviceRssMB.end - single.serviceRssMB.end) * 1024) / (f.consumers - 1))) : "-",
          fmt(f.serviceElu),
          fmt(f.probeRttMs),
          String(f.streamErrors.length),
        ]),
      ]),
    );
    for (const f of fanout) {
      console.log(`  ${f.consumers}: ${f.consumersWithData}/${f.consumers} had data before the window; IB tick lines ${fmt(f.ibTickLines)}; service heap ${fmt(f.serviceHeapUsedMB)} MB; line released after cancel ${f.lineReleasedAfterCancel ?? "no answer"}; consumer process ELU ${f.consumerElu}${f.streamErrors.length ? `; errors: ${f.streamErrors.join("; ")}` : ""}`);
    }
  }
  if (bareAtRate && serviceAtRate) {
    console.log();
    console.log(`at ${fmt(LATENCY_TICKS_PER_SEC)} ticks/s in (${fmt(latencyFrames)} frames/s), latency from the simulator's send, p50/p99/max ms:`);
    console.log(`  bare @stoqey/ib client   ${lat(bareAtRate.latencyMs)}  (${fmt(bareAtRate.ticksPerSec)} ticks/s)`);
    console.log(`  service, 1 subscriber    ${lat(serviceAtRate.latencyMs)}  (${fmt(serviceAtRate.ticksPerSec)} ticks/s, batch ${serviceAtRate.avgBatch})`);
    const added = (p: "p50" | "p99") => (serviceAtRate.latencyMs[p] === null || bareAtRate.latencyMs[p] === null ? null : round1(serviceAtRate.latencyMs[p]! - bareAtRate.latencyMs[p]!));
    console.log(`  added by the service     p50 ${fmt(added("p50"))} ms, p99 ${fmt(added("p99"))} ms`);
  }
  if (held) {
    console.log();
    console.log(
      `${fmt(held.consumers)} streams over ${HELD_SYMBOLS.length} instruments at ${fmt(HELD_FRAMES_PER_SEC)} frames/s in: ${held.consumersWithData}/${held.consumers} received data, ${fmt(held.ticksPerSec)} ticks/s delivered (per stream min/med/max ${fmt(held.perConsumer.min)}/${fmt(held.perConsumer.median)}/${fmt(held.perConsumer.max)}), IB lines ${fmt(held.ibTickLines)}, latency p50/p99/max ${lat(held.latencyMs)} ms, service RSS ${fmt(held.serviceRssMB.idle)}→${fmt(held.serviceRssMB.end)} MB (${held.serviceRssMB.idle !== null && held.serviceRssMB.end !== null ? fmt(Math.round(((held.serviceRssMB.end - held.serviceRssMB.idle) * 1024) / held.consumers)) : "-"} KB per stream), ELU ${fmt(held.serviceElu)}, probe ${fmt(held.probeRttMs)} ms, errors ${held.streamErrors.length}, lines released ${held.lineReleasedAfterCancel ?? "no answer"}; ${fmt(held.messagesPerSec)} msgs/s (batch ${held.avgBatch}); consumer process ELU ${held.consumerElu}`,
    );
  }
  if (layers) {
    console.log();
    console.log("handler layer, same pre-encoded one-tick stream (msgs/s):");
    for (const streams of [1, 100]) {
      const rows = layers.results.filter((r) => r.streams === streams);
      const own = rows.find((r) => r.layer.startsWith("own"));
      const nice = rows.find((r) => r.layer.startsWith("nice"));
      console.log(`  ${streams} stream(s): own ${fmt(own?.messagesPerSec)}, nice-grpc ${fmt(nice?.messagesPerSec)}, own ÷ nice-grpc ${fmt(ratio(own?.messagesPerSec, nice?.messagesPerSec))}`);
    }
  }
  if (store) {
    console.log();
    console.log(`store: ${fmt(store.bars)} min1 bars of one symbol (filled in ${fmt(store.fillMs)} ms); raw SQLite read ${fmt(store.rawReadMs)} ms, cached GetCandles over gRPC ${fmt(store.apiMs)} ms (first call ${fmt(store.apiFirstMs)} ms), raw ÷ API ${fmt(store.ratio)}; IB history requests during the calls: ${store.ibRequestsDuringApi}; the event loop held at most ${fmt(store.loopDelayMaxMs)} ms at a time`);
  }
  if (backfill) {
    console.log(`backfill: ${backfill.symbols} symbols × 7 days of min1 cold, ${backfill.requests} IB requests, ${fmt(backfill.bars)} bars in ${fmt(backfill.ms)} ms; IB's pacing minimum for them ${fmt(backfill.pacingMinimumMs)} ms (windows scaled ÷${backfill.pacingScale}); time ÷ minimum ${fmt(backfill.ratio)}`);
  }
  if (replay) {
    console.log();
    console.log(`replay: ${fmt(replay.recordedEvents)} ticks recorded from a full-rate flood (${fmt(replay.recordedRows)} rows, store file ${fmt(replay.storeFileMB)} MB; ${fmt(replay.recordedPerSec)} committed/s while flooding, ${fmt(replay.shedWhileRecording)} rows shed meanwhile, ${fmt(replay.notRecorded)} sequences without a row in the file; feed closed cleanly ${replay.closedCleanly}, epoch ${replay.epoch})`);
    console.log(`  raw SQLite read of the recorded rows (bytes, by position; best of ${REPLAY_REPEATS}, this process)   ${fmt(replay.rawReadMs)} ms  ${fmt(replay.rawRowsPerSec)} events/s`);
    console.log(`  StreamTicks replay to one client (after_sequence ${fmt(replay.firstSeq - 1)}, to REPLAY_COMPLETE) ${replay.replays.map((r) => `${fmt(r.ms)} ms ${fmt(r.eventsPerSec)}/s`).join(" | ")}  (best ${fmt(replay.best.eventsPerSec)} events/s, ${fmt(replay.best.events)} events in ${fmt(replay.best.messages)} messages, first event after ${fmt(replay.best.firstEventMs)} ms, ${replay.statusesBeforeComplete} statuses)`);
    console.log(`  replay ÷ raw ${fmt(replay.ratio)}`);
  }
  if (recording) {
    const added = (s: ReturnType<Histogram["summary"]>, p: "p50" | "p99") => (s[p] === null || recording.bare.latencyMs[p] === null ? null : round1(s[p]! - recording.bare.latencyMs[p]!));
    console.log();
    console.log(`recording on vs off at ${fmt(LATENCY_TICKS_PER_SEC)} ticks/s in, 1 subscriber, ${RECORDING_PAIRS} round(s) each (alternated, pooled), latency from the simulator's send, p50/p99/max ms:`);
    console.log(`  bare @stoqey/ib client   ${lat(recording.bare.latencyMs)}`);
    for (const r of recording.rounds) console.log(`  recording ${r.recording.padEnd(3)}  ${lat(r.latencyMs)}  (${fmt(r.ticksPerSec)} ticks/s, ${fmt(r.recordedEvents)} events recorded, svc ELU ${fmt(r.serviceElu)}, svc CPU ${fmt(r.cpuUsPerTick)} µs per tick in)`);
    console.log(`  pooled, recording off  ${lat(recording.off)}  (${fmt(recording.off.samples)} samples); added to the bare client: p50 ${fmt(added(recording.off, "p50"))} ms, p99 ${fmt(added(recording.off, "p99"))} ms`);
    console.log(`  pooled, recording on   ${lat(recording.on)}  (${fmt(recording.on.samples)} samples); added to the bare client: p50 ${fmt(added(recording.on, "p50"))} ms, p99 ${fmt(added(recording.on, "p99"))} ms`);
    const m = recording.median;
    console.log(`  median of the rounds, p50/p99 ms, service ELU, service CPU µs per tick in: off ${fmt(m.off.p50)}/${fmt(m.off.p99)}, ${fmt(m.off.elu)}, ${fmt(m.off.cpuUsPerTick)}; on ${fmt(m.on.p50)}/${fmt(m.on.p99)}, ${fmt(m.on.elu)}, ${fmt(m.on.cpuUsPerTick)}`);
    const cpuAdded = m.on.cpuUsPerTick === null || m.off.cpuUsPerTick === null ? null : round1(m.on.cpuUsPerTick - m.off.cpuUsPerTick);
    console.log(`  recording costs the service ${fmt(cpuAdded)} µs of CPU per tick (on − off, medians; not moved by other processes as latency and ELU are)`);
    console.log(`  recording adds at p99 (medians) ${fmt(recordingAddsP99(recording))} ms: ${fmt(recordingShare(recording))} of the service's added p99 without it ((on − off) ÷ (off − bare)); service p99 on ÷ off ${fmt(ratio(m.on.p99, m.off.p99))}`);
  }
  if (consoleCost) {
    console.log();
    for (const line of consoleReport(consoleCost)) console.log(line);
  }
  if (bus) {
    console.log();
    for (const line of busReport(bus)) console.log(line);
  }
  if (edge) {
    console.log();
    for (const line of edgeReport(edge)) console.log(line);
  }
  console.log();
  const n100 = fanout.find((f) => f.consumers === 100);
  const addedP99 = bareAtRate && serviceAtRate && serviceAtRate.latencyMs.p99 !== null && bareAtRate.latencyMs.p99 !== null ? round1(serviceAtRate.latencyMs.p99 - bareAtRate.latencyMs.p99) : null;
  console.log("targets (issue 5), measured in this run:");
  console.log(`  1 subscriber ÷ bare decode ≥ 0.5: ${fmt(ratio(single?.ticksPerSec, bare?.ticksPerSec))}`);
  console.log(`  100 subscribers aggregate ≥ 300,000 ticks/s: ${fmt(n100?.ticksPerSec)}`);
  console.log(`  p99 added latency at 10k ticks/s < 2 ms: ${fmt(addedP99)} ms`);
  console.log(`  1000 concurrent streams held: ${held ? `${held.consumersWithData}/${held.consumers} with data, ${held.streamErrors.length} errors` : "-"}`);
  console.log(`  (issue 14) raw store read ÷ cached GetCandles of a year of min1 ≥ 0.5: ${fmt(store?.ratio)}`);
  console.log(`  (issue 14) cold 10 × 7-day min1 backfill ÷ IB's pacing minimum ≤ 1.1: ${fmt(backfill?.ratio)}`);
  console.log(`  (issue 15) replay to one client ÷ raw store read of the same events ≥ 0.5: ${fmt(replay?.ratio)}`);
  console.log(`  (issue 15) what recording adds to the service's added p99 at 10k ticks/s < 0.1 (10 %): ${fmt(recording && recordingShare(recording))}`);
  const busP99 = bus?.filter((r) => r.busLatencyMs?.p99 != null).map((r) => `${r.busLatencyMs!.p99} ms at BUS_FLUSH_MS=${r.flushMs}`);
  console.log(`  (issue 16) p99 through the bus at 10k events/s < 5 ms (provider → JetStream → a consumer; edges not built): ${busP99?.join(", ") || "-"}`);
  console.log(`  (issue 19) CPU added to the service by 50 open consoles at IB's normal rates < 5 % of a core: ${fmt(consoleCost?.addedPercent.fromNone)} %`);
  for (const f of failures) console.log(`FAILED ${f}`);
  console.log();
  if (orders) {
    console.log();
    const ms = (p: { p50: number; p99: number; max: number }) => `${p.p50}/${p.p99}/${p.max}`;
    console.log(`orders (${orders.orders} each, ms p50/p99/max): baseline unary ${ms(orders.baselineMs)}; place → acknowledged ${ms(orders.acknowledgedMs)} (${(orders.acknowledgedMs.p50 / orders.baselineMs.p50).toFixed(1)}× baseline); place → filled ${ms(orders.filledMs)}; place → FILLED on StreamOrders ${ms(orders.streamedMs)}`);
  }
  console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, warmupMs: WARMUP_MS, windowMs: WINDOW_MS, bare, fanout, bareAtRate, serviceAtRate, held, layers, store, backfill, replay, recording, console: consoleCost, bus, edge, orders, failures, durationMs: Date.now() - started }));
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
