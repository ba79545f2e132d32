/**
 * Scenario `console` (issue 19): what open consoles (/ui) cost the service at IB's normal rates.
 *
 * Three processes: a simulated Gateway at its default cadence (startSimulator: L1 and depth pumped every
 * 250 ms, tick-by-tick trades every 25 ms, 5 s real-time bars; not the flood simulator), the service
 * (startApp, IB_GATEWAY_URL → that simulator, bench/config.provider.json: BTCUSDT listed, no configured
 * subscriptions) and this one, whose plain HTTP clients (node:http, not browsers) make the calls an open
 * console makes (src/rest/ui/static/*.js): the overview's and the feeds view's state stream (GET
 * /ui/live/state: the service sends every console one state every 2 s), and the instrument view's GET
 * /api/candles/ib/spot/BTCUSDT/min1?days=1 once, then its shared SSE streams (GET /ui/live/api/…/stream with
 * Accept: text/event-stream) of min1 candles, the order book (depth=10) and trades. A browser shows one
 * view at a time; each simulated console runs all three at once (the worst case).
 *
 * The service's CPU (process.cpuUsage, user + system, over the window, through the IPC probe) is measured
 * with 0 consoles, 1, then N (50), then 0 again after they closed; with the IB lines the service holds in
 * each window (one per instrument and kind whatever the number of consoles) and the bytes served.
 *
 * The simulator and the service are the other scenarios' child processes: floodSimulator.ts with
 * BENCH_SIM_CADENCE=default, and serviceWorker.ts (a fresh store, its REST port in its ready message).
 * Env: BENCH_CONSOLES (50), BENCH_CONSOLE_WINDOW_MS (30000), BENCH_CONSOLE_WARMUP_MS (6000),
 * BENCH_CONSOLE_VIEWS (`overview,feeds,instrument`: a subset tells what each view costs), BENCH_SERVICE_NODE_ARGS
 * (as the other scenarios: e.g. --cpu-prof for the service).
 */
import { Agent, request, type IncomingMessage } from "node:http";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Child, fmt, perSec, progress, round1, SERVICE_NODE_ARGS, TOKEN, waitFor } from "./harness.js";
import type { ServiceProbe } from "./serviceWorker.js";

const CONSOLES = Number(process.env.BENCH_CONSOLES ?? 50);
const WINDOW_MS = Number(process.env.BENCH_CONSOLE_WINDOW_MS ?? 30_000);
const WARMUP_MS = Number(process.env.BENCH_CONSOLE_WARMUP_MS ?? 6_000);
/** How long the 49 further consoles take to connect (spread, as consoles opening one after another). */
const CONNECT_SPREAD_MS = 3_000;
const PATH = "ib/spot/BTCUSDT";
const VIEWS = new Set((process.env.BENCH_CONSOLE_VIEWS ?? "overview,feeds,instrument").split(",").map((v) => v.trim()));

// --- the simulated consoles (this process) -----------------------------------------------------------------

/** Bytes and events received, by what asked for them. */
interface Counters {
  pollBytes: number;
  streamBytes: number;
  requests: number;
  /** SSE messages (one StreamX response each), all streams. */
  messages: number;
  failures: number;
}

/**
 * One console: its own keep-alive agent (a browser holds up to 6 connections per origin), the state stream
 * of the overview and feeds views (one for both, as stateFeed.js), the candles' history once then three
 * SSE streams that reconnect after 1 s if they end. `parse`: decode every SSE message
 * with the console's own parser to count events by kind (one console does, the others count bytes).
 */
class SimulatedConsole {
  readonly counters: Counters = { pollBytes: 0, streamBytes: 0, requests: 0, messages: 0, failures: 0 };
  readonly events = { candles: 0, bookUpdates: 0, trades: 0, statuses: 0 };
  readonly streamsWithData = new Set<string>();
  historyCandles = -1;
  lastFailure: string | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 6 });
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly open = new Set<IncomingMessage>();
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly parse: boolean,
    private readonly SseParser: new () => { push(text: string): { event: string; data: string }[] },
  ) {}

  start(): void {
    if (VIEWS.has("overview") || VIEWS.has("feeds")) this.follow("state", "/ui/live/state");
    if (VIEWS.has("instrument")) void this.instrument();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const r of this.open) r.destroy();
    this.agent.destroy();
  }

  get ready(): boolean {
    const streams = (VIEWS.has("instrument") ? 3 : 0) + (VIEWS.has("overview") || VIEWS.has("feeds") ? 1 : 0);
    return (!VIEWS.has("instrument") || this.historyCandles >= 0) && this.streamsWithData.size === streams;
  }

  private later(ms: number, run: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) run();
    }, ms);
    this.timers.add(t);
  }

  private fail(what: string): void {
    this.counters.failures++;
    this.lastFailure = what;
  }

  /** A GET read whole; resolves the body (undefined on a failure). */
  private get(path: string, accept?: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.counters.requests++;
      const req = request({ host: "127.0.0.1", port: this.port, path, agent: this.agent, headers: { authorization: `Bearer ${TOKEN}`, ...(accept ? { accept } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          this.counters.pollBytes += c.length;
          chunks.push(c);
        });
        res.on("end", () => {
          if (res.statusCode !== 200) {
            this.fail(`${path}: HTTP ${res.statusCode}`);
            resolve(undefined);
          } else resolve(Buffer.concat(chunks).toString("utf8"));
        });
        res.on("error", () => resolve(undefined));
      });
      req.on("error", (err) => {
        if (!this.stopped) this.fail(`${path}: ${err.message}`);
        resolve(undefined);
      });
      req.end();
    });
  }

  private async instrument(): Promise<void> {
    this.follow("book", `/ui/live/api/orderbook/${PATH}/stream?depth=10`);
    this.follow("trades", `/ui/live/api/trades/${PATH}/stream`);
    const history = await this.get(`/api/candles/${PATH}/min1?days=1`, "application/json");
    if (history === undefined || this.stopped) return;
    this.historyCandles = ((JSON.parse(history) as { candles?: unknown[] }).candles ?? []).length;
    this.follow("candles", `/ui/live/api/candles/${PATH}/min1/stream`);
  }

  /** An SSE stream, reconnected after 1 s when it ends or fails (api.js follow()). */
  private follow(name: string, path: string): void {
    if (this.stopped) return;
    this.counters.requests++;
    const again = () => this.later(1_000, () => this.follow(name, path));
    const req = request({ host: "127.0.0.1", port: this.port, path, agent: this.agent, headers: { authorization: `Bearer ${TOKEN}`, accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) {
        this.fail(`${path}: HTTP ${res.statusCode}`);
        res.resume();
        return again();
      }
      this.open.add(res);
      const parser = this.parse ? new this.SseParser() : undefined;
      res.setEncoding("utf8");
      res.on("data", (text: string) => {
        this.counters.streamBytes += Buffer.byteLength(text);
        this.streamsWithData.add(name);
        if (parser === undefined) {
          // One message per SSE event, which ends with a blank line.
          for (let i = text.indexOf("\n\n"); i >= 0; i = text.indexOf("\n\n", i + 2)) this.counters.messages++;
          return;
        }
        for (const event of parser.push(text)) {
          this.counters.messages++;
          if (event.event === "error") {
            this.fail(`${path}: error event ${event.data}`);
            continue;
          }
          for (const e of (JSON.parse(event.data) as { events?: Record<string, unknown>[] }).events ?? []) {
            if (e.candle) this.events.candles++;
            else if (e.update) this.events.bookUpdates++;
            else if (e.trade) this.events.trades++;
            else if (e.status) this.events.statuses++;
          }
        }
      });
      res.on("close", () => {
        this.open.delete(res);
        if (!this.stopped) {
          this.fail(`${path}: stream ended`);
          again();
        }
      });
    });
    req.on("error", (err) => {
      if (this.stopped) return;
      this.fail(`${path}: ${err.message}`);
      again();
    });
    req.end();
  }
}

// --- the scenario -------------------------------------------------------------------------------------------

export interface ConsoleWindow {
  consoles: number;
  /** The service's CPU time over the window ÷ the window: % of one core. */
  cpuPercent: number | null;
  elu: number | null;
  rssMB: number | null;
  /** IB lines in use at the window's end: shared subscriptions requested at IB, by kind, with their consumers. */
  lines: Record<string, { lines: number; consumers: number }>;
  bytesPerSec: { polls: number; streams: number };
  requestsPerSec: number;
  sseMessagesPerSec: number;
  /** Events per second on one console's streams (the simulator's rates as served). */
  oneConsoleEventsPerSec: { candles: number; bookUpdates: number; trades: number } | null;
  failures: number;
  /** The machine's 1-minute load average at the window's end (2 cores: other work moves the figures). */
  loadAvg1: number;
  /** This (measuring) process's CPU over the window, % of one core: the clients' own cost, not the service's. */
  clientCpuPercent: number;
}

export interface ConsoleResult {
  windows: ConsoleWindow[];
  /** The service's CPU while the N consoles connected (history, streams opened), ms, and how long that took. */
  connectCpuMs: number | null;
  connectMs: number;
  historyCandles: number;
  linesReleasedAfterClose: boolean;
  addedPercent: { fromNone: number | null; fromOne: number | null };
  serviceLogWarnings: number | null;
  serviceLogErrors: number | null;
  lastFailure: string | undefined;
}

function linesOf(p: ServiceProbe | undefined): ConsoleWindow["lines"] {
  const out: ConsoleWindow["lines"] = {};
  for (const l of p?.lines ?? []) {
    if (!l.requestedAtIb) continue;
    const k = (out[l.kind] ??= { lines: 0, consumers: 0 });
    k.lines++;
    k.consumers += l.consumers;
  }
  return out;
}

export async function consoleRound(): Promise<ConsoleResult> {
  const { SseParser } = (await import("../src/rest/ui/static/sseParser.js")) as { SseParser: new () => { push(text: string): { event: string; data: string }[] } };
  const sim = new Child("./floodSimulator.ts", { BENCH_SIM_CADENCE: "default" });
  const simReady = await sim.next<{ port: number }>("ready", 20_000);
  if (!simReady) {
    await sim.stop(1000);
    throw new Error("simulator did not start within 20 s");
  }
  const svc = new Child("./serviceWorker.ts", { BENCH_GATEWAY_PORT: String(simReady.port), BENCH_TOKEN: TOKEN }, SERVICE_NODE_ARGS);
  const consoles: SimulatedConsole[] = [];
  let probeId = 0;
  const ask = () => svc.ask<ServiceProbe>({ type: "probe", id: ++probeId }, 15_000);
  try {
    const ready = await svc.next<{ restPort: number }>("ready", 30_000);
    if (!ready) throw new Error("service did not start within 30 s");
    const port = ready.restPort;
    const windows: ConsoleWindow[] = [];

    const window = async (n: number): Promise<void> => {
      progress(`console: ${n} console(s), ${WINDOW_MS / 1000} s window`);
      const sum = () => consoles.reduce((s, c) => ({ poll: s.poll + c.counters.pollBytes, stream: s.stream + c.counters.streamBytes, req: s.req + c.counters.requests, msg: s.msg + c.counters.messages, fail: s.fail + c.counters.failures }), { poll: 0, stream: 0, req: 0, msg: 0, fail: 0 });
      const one = consoles[0];
      const e0 = one ? { ...one.events } : undefined;
      const c0 = sum();
      await ask();
      const t0 = performance.now();
      const own0 = process.cpuUsage();
      await sleep(WINDOW_MS);
      const end = await ask();
      const ms = performance.now() - t0;
      const own = process.cpuUsage(own0);
      const c1 = sum();
      const e1 = one ? { ...one.events } : undefined;
      windows.push({
        consoles: n,
        cpuPercent: end === undefined ? null : round1((end.cpuMs / ms) * 100),
        elu: end?.elu ?? null,
        rssMB: end?.rssMB ?? null,
        lines: linesOf(end),
        bytesPerSec: { polls: perSec(c1.poll - c0.poll, ms), streams: perSec(c1.stream - c0.stream, ms) },
        requestsPerSec: round1(((c1.req - c0.req) * 1000) / ms),
        sseMessagesPerSec: perSec(c1.msg - c0.msg, ms),
        oneConsoleEventsPerSec: e0 && e1 ? { candles: round1(((e1.candles - e0.candles) * 1000) / ms), bookUpdates: round1(((e1.bookUpdates - e0.bookUpdates) * 1000) / ms), trades: round1(((e1.trades - e0.trades) * 1000) / ms) } : null,
        failures: c1.fail - c0.fail,
        loadAvg1: round1(loadavg()[0]!),
        clientCpuPercent: round1(((own.user + own.system) / 1000 / ms) * 100),
      });
    };

    const openConsoles = async (upTo: number): Promise<void> => {
      // Started over one overview period, as consoles opened at different times: their polls do not align.
      const from = consoles.length;
      for (let i = from; i < upTo; i++) {
        const c = new SimulatedConsole(port, i === 0, SseParser);
        consoles.push(c);
        c.start();
        if (upTo - from > 1) await sleep(CONNECT_SPREAD_MS / (upTo - from));
      }
      if (!(await waitFor(() => consoles.every((c) => c.ready), 60_000))) {
        const notReady = consoles.filter((c) => !c.ready);
        throw new Error(`${notReady.length} console(s) without history or data on every stream after 60 s (${notReady[0]?.lastFailure ?? "no failure seen"})`);
      }
    };

    await sleep(WARMUP_MS);
    await window(0);
    await openConsoles(1);
    await sleep(WARMUP_MS);
    await window(1);
    await ask(); // the connect phase's CPU counts from here
    const t0 = performance.now();
    await openConsoles(CONSOLES);
    const connected = await ask();
    const connectMs = Math.round(performance.now() - t0);
    await sleep(WARMUP_MS);
    await window(CONSOLES);
    const historyCandles = consoles[0]!.historyCandles;
    const lastFailure = consoles.map((c) => c.lastFailure).find((f) => f !== undefined);
    for (const c of consoles) c.stop();
    let linesReleased = false;
    for (let i = 0; i < 50 && !linesReleased; i++) {
      await sleep(200);
      const p = await ask();
      linesReleased = p !== undefined && p.lines.every((l) => !l.requestedAtIb);
    }
    consoles.length = 0;
    await sleep(WARMUP_MS);
    await window(0);
    const last = await ask();
    const cpu = (n: number, i = 0) => windows.filter((w) => w.consoles === n)[i]?.cpuPercent ?? null;
    const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : round1(a - b));
    return {
      windows,
      connectCpuMs: connected?.cpuMs ?? null,
      connectMs,
      historyCandles,
      linesReleasedAfterClose: linesReleased,
      addedPercent: { fromNone: diff(cpu(CONSOLES), cpu(0)), fromOne: diff(cpu(CONSOLES), cpu(1)) },
      serviceLogWarnings: last?.logWarnings ?? null,
      serviceLogErrors: last?.logErrors ?? null,
      lastFailure,
    };
  } finally {
    for (const c of consoles) c.stop();
    await svc.stop(10_000);
    await sim.stop(5_000);
  }
}

/** The report's lines (run.ts prints them). */
export function consoleReport(r: ConsoleResult): string[] {
  const lines = (l: ConsoleWindow["lines"]) => Object.entries(l).map(([kind, v]) => `${kind} ${v.lines} (${v.consumers} consumers)`).join(", ") || "none";
  const views = [...VIEWS].join(" + ");
  const out = [`console (issue 19): ${CONSOLES} simulated consoles (plain HTTP clients, not browsers; views ${views}: the state stream of overview and feeds, BTCUSDT min1 history + shared candles/book/trades SSE) on the simulator at its default cadence, ${WINDOW_MS / 1000} s windows:`];
  for (const w of r.windows) {
    const ev = w.oneConsoleEventsPerSec;
    out.push(
      `  ${String(w.consoles).padStart(3)} console(s): service CPU ${fmt(w.cpuPercent)} % of a core (ELU ${fmt(w.elu)}, RSS ${fmt(w.rssMB)} MB); IB lines ${lines(w.lines)}; served ${fmt(w.bytesPerSec.polls + w.bytesPerSec.streams)} B/s (polls ${fmt(w.bytesPerSec.polls)}, streams ${fmt(w.bytesPerSec.streams)}), ${fmt(w.requestsPerSec)} requests/s, ${fmt(w.sseMessagesPerSec)} SSE messages/s${ev ? `; one console receives ${fmt(ev.trades)} trades/s, ${fmt(ev.bookUpdates)} book updates/s, ${fmt(ev.candles)} candle updates/s` : ""}; failures ${w.failures}; clients' own CPU ${fmt(w.clientCpuPercent)} %, load avg ${w.loadAvg1}`,
    );
  }
  out.push(`  connecting ${CONSOLES - 1} more consoles (streams opened, a day of min1 history each, ${r.historyCandles} candles): ${fmt(r.connectMs)} ms, service CPU ${fmt(r.connectCpuMs)} ms`);
  out.push(`  IB lines released after every console closed: ${r.linesReleasedAfterClose}; service log warnings ${fmt(r.serviceLogWarnings)}, errors ${fmt(r.serviceLogErrors)}${r.lastFailure ? `; a client failure: ${r.lastFailure}` : ""}`);
  out.push(`  ${CONSOLES} consoles add ${fmt(r.addedPercent.fromNone)} % of a core to the idle service (0 consoles), ${fmt(r.addedPercent.fromOne)} % to the service already serving one console (target < 5 %)`);
  return out;
}
