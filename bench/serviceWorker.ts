/**
 * Child process of the benchmark: the real service (startApp) pointed at the flood simulator given in
 * BENCH_GATEWAY_PORT (so its gateway mode is "real"). Runs in its own process so that a service whose
 * event loop is saturated cannot stall the measuring process.
 * IPC: sends { type: "ready", grpcPort, restPort }; answers { type: "probe", id } with process and feed figures and
 * { type: "journal" } with the recorded feeds; on "stop" stops the app and exits.
 * Store: BENCH_STORE_PATH (a file that outlives the process: the replay scenario records in one service and
 * replays from another), else a fresh temporary file deleted at exit. BENCH_STORE_RECORDING → STORE_RECORDING.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config/loadConfig.js";

/** The store's recorded feeds (EventStore.feedInfos), as the journal IPC answers. */
export interface ServiceJournal {
  type: "journal";
  feeds: { key: string; kind: string; epoch: number; lastSeq: number; open: boolean }[];
  /** Rows dropped because the writer was too far behind (MarketStore.stats().eventsShed). */
  eventsShed: number;
}

export interface ServiceProbe {
  type: "probe";
  id: number;
  rssMB: number;
  heapUsedMB: number;
  /** Event loop utilisation since the previous probe (0..1). */
  elu: number;
  /** CPU time (user + system) since the previous probe, ms: unlike ELU, not inflated when other processes take the CPU. */
  cpuMs: number;
  /** Event loop delay since probe 1 (the window start), ms; null when no delay sample completed since. */
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
  /** Every shared subscription: its kind, key, consumers and whether it holds its IB line now. */
  lines: { kind: string; key: string; consumers: number; requestedAtIb: boolean }[];
  tickLines: number;
  tickLineConsumers: number;
  logWarnings: number;
  logErrors: number;
  logSamples: string[];
}

const MB = 1024 * 1024;
const round1 = (n: number) => Math.round(n * 10) / 10;
const send = (m: unknown) => process.send?.(m);

// The service's warnings and errors are counted (and a few kept), not printed.
const logCounts = { warnings: 0, errors: 0, samples: [] as string[] };
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      try {
        const rec = JSON.parse(line) as { level: number; msg?: string; component?: string };
        if (rec.level >= 50) logCounts.errors++;
        else if (rec.level >= 40) logCounts.warnings++;
        if (logCounts.samples.length < 5) logCounts.samples.push(`${rec.component ?? ""}: ${rec.msg ?? ""}`);
      } catch {
        /* not JSON */
      }
    }
    cb();
  },
});
const log = pino({ level: "warn", base: { service: "ib-provider" } }, sink);

// Never the repository's data/ib-provider.sqlite (the default STORE_PATH): a flood recorded there would stay.
const ownStoreDir = process.env.BENCH_STORE_PATH === undefined ? mkdtempSync(join(tmpdir(), "ibp-bench-service-")) : undefined;
const config = loadConfig({
  cwd: fileURLToPath(new URL("..", import.meta.url)),
  env: {
    GRPC_PORT: "0",
    REST_PORT: "0",
    SIMULATOR_PORT: "0",
    IB_GATEWAY_URL: `127.0.0.1:${process.env.BENCH_GATEWAY_PORT}`,
    PROVIDER_API_TOKEN: process.env.BENCH_TOKEN ?? "bench-token",
    // BTCUSDT listed, no configured subscriptions: the ticks feed is the only load.
    PROVIDER_CONFIG_FILE: "bench/config.provider.json",
    LOG_LEVEL: "warn",
    STORE_PATH: process.env.BENCH_STORE_PATH ?? join(ownStoreDir!, "store.sqlite"),
    ...(process.env.BENCH_STORE_RECORDING === undefined ? {} : { STORE_RECORDING: process.env.BENCH_STORE_RECORDING }),
    // The provider role (busBench.ts): the bus and how often the recorders hand events to it.
    ...(process.env.BENCH_BUS_URL === undefined ? {} : { BUS_URL: process.env.BENCH_BUS_URL, BUS_SUBJECT_PREFIX: "ibpbench" }),
    ...(process.env.BENCH_BUS_FLUSH_MS === undefined ? {} : { BUS_FLUSH_MS: process.env.BENCH_BUS_FLUSH_MS }),
  },
});
const app = await startApp(config, log);

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let elu = performance.eventLoopUtilization();
let cpu = process.cpuUsage();

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void app.stop().finally(() => {
    if (ownStoreDir !== undefined) rmSync(ownStoreDir, { recursive: true, force: true });
    process.exit(0);
  });
};

process.on("message", (m: { type: string; id?: number }) => {
  if (m.type === "stop") stop();
  else if (m.type === "journal") {
    const feeds = app.store.events.feedInfos().map((f) => ({ key: f.key, kind: f.kind, epoch: f.epoch, lastSeq: f.lastSeq, open: f.open }));
    send({ type: "journal", feeds, eventsShed: app.store.stats().eventsShed } satisfies ServiceJournal);
  } else if (m.type === "probe") {
    const mem = process.memoryUsage();
    const lines = app.adapter.subscriptions().filter((s) => s.kind === "tick");
    const probe: ServiceProbe = {
      type: "probe",
      id: m.id ?? 0,
      rssMB: round1(mem.rss / MB),
      heapUsedMB: round1(mem.heapUsed / MB),
      elu: Math.round(performance.eventLoopUtilization(elu).utilization * 1000) / 1000,
      cpuMs: (({ user, system }) => Math.round((user + system) / 1000))(process.cpuUsage(cpu)),
      loopDelayP99Ms: delay.count === 0 ? null : round1(delay.percentile(99) / 1e6),
      loopDelayMaxMs: delay.count === 0 ? null : round1(delay.max / 1e6),
      lines: app.adapter.subscriptions().map((s) => ({ kind: s.kind, key: s.key, consumers: s.consumers, requestedAtIb: s.requestedAtIb })),
      tickLines: lines.length,
      tickLineConsumers: lines.reduce((sum, l) => sum + l.consumers, 0),
      logWarnings: logCounts.warnings,
      logErrors: logCounts.errors,
      logSamples: logCounts.samples,
    };
    elu = performance.eventLoopUtilization();
    cpu = process.cpuUsage();
    if (probe.id === 1) delay.reset();
    send(probe);
  }
});
process.on("disconnect", stop);
send({ type: "ready", grpcPort: app.grpc.port, restPort: app.rest.port });
