/**
 * Scenario 7 of the benchmark (issue 15): ticks recorded by the service from a flood in a store file, then
 * the raw SQLite read of those rows against their StreamTicks replay to one client (bench/README.md).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { status, type Client, type ServiceError } from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { StreamTicksRequest, TickEvent } from "../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind } from "../gen/ibprovider/v1/types.js";
import { nextEvent } from "../src/grpc/streamEncoding.js";
import { authMetadata, channels, Consumer, fmt, identity, MB, perSec, progress, round1, startFloodSim, startService, STREAM_TICKS, waitFor, type ServiceHandle } from "./harness.js";
import type { ServiceJournal } from "./serviceWorker.js";

/** Tick events recorded from the flood before the replay (at least; the service records on until stopped). */
export const REPLAY_EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 200_000);
/** Raw reads and replays of the recorded events, alternated (the best of each counts: the machine is shared). */
export const REPLAY_REPEATS = 5;
/** The live feed's rate while replaying (frames/s): low, so that the replay catches up with it. */
const REPLAY_LIVE_FRAMES_PER_SEC = 20;

export interface ReplayRun {
  /** Data events received before REPLAY_COMPLETE. */
  events: number;
  /** From the first replayed data event to REPLAY_COMPLETE, ms. */
  ms: number;
  eventsPerSec: number;
  /** From the request to the first replayed data event, ms. */
  firstEventMs: number;
  messages: number;
}

export interface ReplayResult {
  /** Data rows of the tick feed in the store file (what is replayed), and all its rows (statuses too). */
  recordedEvents: number;
  recordedRows: number;
  /** Sequences between the first and the last recorded that have no row (shed: the writer too far behind). */
  notRecorded: number;
  /** Rows the recording service shed (its store's eventsShed) by the time REPLAY_EVENTS were committed. */
  shedWhileRecording: number;
  /** While flooding: committed data events ÷ the time to reach REPLAY_EVENTS (the writer under load). */
  recordMs: number;
  recordedPerSec: number;
  storeFileMB: number;
  /** The feed row was closed cleanly (the replaying service continues its epoch). */
  closedCleanly: boolean;
  epoch: number;
  firstSeq: number;
  /** Best of REPLAY_REPEATS plain better-sqlite3 reads of the recorded rows (bytes, in position order), this process. */
  rawReadMs: number;
  rawRowsPerSec: number;
  /** Every replay (best first is not assumed: runs in order). */
  replays: ReplayRun[];
  best: ReplayRun;
  /** Best replay events/s ÷ raw rows/s. */
  ratio: number;
  statusesBeforeComplete: number;
}

/**
 * One StreamTicks replay (after_sequence, epoch) read straight from the wire: data events counted until the
 * REPLAY_COMPLETE status (statuses are decoded, a handful), then the call is cancelled.
 */
function replayOnce(client: Client, afterSequence: number, epoch: number, timeoutMs: number): Promise<ReplayRun & { statuses: number }> {
  return new Promise((resolve, reject) => {
    const request = Buffer.from(StreamTicksRequest.encode({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", afterSequence: String(afterSequence), epoch: String(epoch) }).finish());
    const t0 = performance.now();
    let first: number | undefined;
    let events = 0;
    let statuses = 0;
    let messages = 0;
    let done = false;
    const call = client.makeServerStreamRequest(STREAM_TICKS, identity, identity, request, authMetadata(), {});
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      call.cancel();
      if (err !== undefined) return reject(err);
      const ms = performance.now() - first!;
      resolve({ events, ms: Math.round(ms), eventsPerSec: perSec(events, ms), firstEventMs: Math.round(first! - t0), messages, statuses });
    };
    const timer = setTimeout(() => finish(new Error(`no REPLAY_COMPLETE within ${timeoutMs / 1000} s (${events} events replayed)`)), timeoutMs);
    call.on("data", (buf: Buffer) => {
      if (done) return;
      messages++;
      for (let pos = 0; pos < buf.length; ) {
        const { start, end } = nextEvent(buf, pos);
        const kind = buf[start];
        if (kind === 0x0a) {
          events++;
          first ??= performance.now();
        } else if (kind === 0x12) {
          statuses++;
          const decoded = TickEvent.decode(buf.subarray(start, end)).event;
          if (decoded?.$case === "status" && decoded.value.kind === StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE) {
            first ??= performance.now();
            return finish();
          }
        }
        pos = end;
      }
    });
    call.on("error", (err: ServiceError) => {
      if (err.code !== status.CANCELLED) finish(new Error(`${status[err.code] ?? err.code}: ${err.details}`));
    });
  });
}

/**
 * Records at least REPLAY_EVENTS ticks in a store file (the service on a full-rate flood, one subscriber),
 * stops the service (every row committed), then starts a service on the same file with a slow live feed and,
 * REPLAY_REPEATS times, reads the recorded rows raw from SQLite here and replays them to one client (from the
 * first recorded event to REPLAY_COMPLETE): the best of each.
 */
export async function replayRound(): Promise<ReplayResult> {
  const dir = mkdtempSync(join(tmpdir(), "ibp-bench-replay-"));
  const path = join(dir, "store.sqlite");
  try {
    let recordMs = 0;
    let committed = 0;
    let shed = 0;
    {
      const sim = await startFloodSim();
      let svc: ServiceHandle | undefined;
      const clients: Client[] = [];
      try {
        svc = await startService(sim.port, { BENCH_STORE_PATH: path });
        clients.push(...channels(svc.grpcPort, 1));
        progress(`replay: recording ${fmt(REPLAY_EVENTS)} ticks from a full-rate flood`);
        const t0 = performance.now();
        const consumer = new Consumer(clients[0]!, "BTCUSDT", "spot", undefined, 1, { messages: 0 });
        const by = t0 + 90_000;
        while (performance.now() < by && consumer.error === undefined) {
          const j = await svc.svc.ask<ServiceJournal>({ type: "journal" }, 15_000);
          committed = j?.feeds.find((f) => f.kind === "tick")?.lastSeq ?? 0;
          shed = j?.eventsShed ?? shed;
          if (committed >= REPLAY_EVENTS) break;
          await sleep(100);
        }
        recordMs = performance.now() - t0;
        consumer.cancel();
        if (committed < REPLAY_EVENTS) throw new Error(`only ${committed} ticks recorded in ${Math.round(recordMs / 1000)} s${consumer.error ? ` (${consumer.error})` : ""}`);
      } finally {
        for (const c of clients) c.close();
        if (svc !== undefined && !(await svc.svc.stop(60_000))) progress("replay: the recording service had to be killed");
        await sim.stop();
      }
    }

    // The feed as recorded: its epoch, the first sequence and the rows to read (live rows appended later are not counted).
    const recorded = (() => {
      const db = new Database(path, { readonly: true });
      try {
        const feed = db.prepare("SELECT id, epoch, open, last_seq FROM feeds WHERE kind = 'tick'").get() as { id: number; epoch: number; open: number; last_seq: number } | undefined;
        if (feed === undefined) throw new Error("no tick feed recorded in the store");
        const firstSeq = db.prepare("SELECT MIN(seq) FROM events WHERE feed_id = ? AND kind = 0").pluck().get(feed.id) as number;
        const dataRows = db.prepare("SELECT COUNT(*) FROM events WHERE feed_id = ? AND kind = 0").pluck().get(feed.id) as number;
        const lastDataSeq = db.prepare("SELECT MAX(seq) FROM events WHERE feed_id = ? AND kind = 0").pluck().get(feed.id) as number;
        return { id: feed.id, epoch: feed.epoch, closedCleanly: feed.open === 0, lastSeq: feed.last_seq, firstSeq, dataRows, notRecorded: lastDataSeq - firstSeq + 1 - dataRows };
      } finally {
        db.close();
      }
    })();
    const storeFileMB = round1(statSync(path).size / MB);
    progress(`replay: ${fmt(recorded.dataRows)} ticks recorded; raw reads and replays, alternated`);

    const sim = await startFloodSim(REPLAY_LIVE_FRAMES_PER_SEC);
    let svc: ServiceHandle | undefined;
    const clients: Client[] = [];
    const replays: (ReplayRun & { statuses: number })[] = [];
    // The raw read, as storeBench's: this process, better-sqlite3, rows as arrays; alternated with the replays
    // (the same load on the machine for both), the best of each.
    let rawRows = 0;
    let rawReadMs = Infinity;
    const db = new Database(path, { readonly: true });
    try {
      svc = await startService(sim.port, { BENCH_STORE_PATH: path });
      clients.push(...channels(svc.grpcPort, 2));
      // A live subscriber keeps the feed (and its journal) open between the replays.
      const live = new Consumer(clients[1]!, "BTCUSDT", "spot", undefined, 1, { messages: 0 });
      await waitFor(() => live.data > 0 || live.error !== undefined, 15_000);
      if (live.data === 0) throw new Error(`the replaying service's live feed gave no tick: ${live.error ?? "no error"}`);
      const read = db.prepare("SELECT bytes FROM events WHERE feed_id = ? AND (seq, sub) > (?, 0) AND seq <= ? ORDER BY seq, sub").raw(true);
      for (let i = 0; i < REPLAY_REPEATS; i++) {
        const t0 = performance.now();
        rawRows = read.all(recorded.id, recorded.firstSeq - 1, recorded.lastSeq).length;
        const ms = performance.now() - t0;
        rawReadMs = Math.min(rawReadMs, ms);
        const r = await replayOnce(clients[0]!, recorded.firstSeq - 1, recorded.epoch, 120_000);
        replays.push(r);
        progress(`replay ${i + 1}: raw read ${fmt(rawRows)} rows in ${fmt(Math.round(ms))} ms (${fmt(perSec(rawRows, ms))}/s); replay ${fmt(r.events)} ticks in ${fmt(r.ms)} ms (${fmt(r.eventsPerSec)}/s), first after ${r.firstEventMs} ms`);
      }
      live.cancel();
    } finally {
      db.close();
      for (const c of clients) c.close();
      await svc?.svc.stop(10_000);
      await sim.stop();
    }
    const raw = { rows: rawRows, ms: rawReadMs };
    const best = replays.reduce((a, b) => (b.eventsPerSec > a.eventsPerSec ? b : a));
    const rawRowsPerSec = perSec(raw.rows, raw.ms);
    return {
      recordedEvents: recorded.dataRows,
      recordedRows: raw.rows,
      notRecorded: recorded.notRecorded,
      shedWhileRecording: shed,
      recordMs: Math.round(recordMs),
      recordedPerSec: perSec(committed, recordMs),
      storeFileMB,
      closedCleanly: recorded.closedCleanly,
      epoch: recorded.epoch,
      firstSeq: recorded.firstSeq,
      rawReadMs: round1(raw.ms),
      rawRowsPerSec,
      replays: replays.map(({ statuses: _, ...r }) => r),
      best,
      ratio: Math.round((best.eventsPerSec / rawRowsPerSec) * 1000) / 1000,
      statusesBeforeComplete: best.statuses,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
