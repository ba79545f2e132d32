/**
 * The recorded events' writer alone (src/store/eventWriter.ts), this process, a fresh store file each round:
 * the in-thread writer (StoreWriter jobs on the event loop, as before the worker) against the worker thread,
 * at a steady rate (BENCH_EW_RATE rows/s, 60-byte rows, appended every 25 ms as the recorder's flush does) and
 * as a flood (1,000 rows every turn for 2 s). Figures: the event loop's delay (p99, max: what a tick arriving
 * meanwhile waits for), its utilisation, and rows committed per second.
 *
 *   npx tsx bench/eventWriterBench.ts        # ≈ 30 s
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { openDatabase } from "../src/store/database.js";
import { EventStore } from "../src/store/eventStore.js";
import { WorkerEventWriter } from "../src/store/eventWriter.js";
import { StoreWriter } from "../src/store/storeWriter.js";
import type { RecordedEvent } from "../src/stream/feedJournal.js";
import { isBusy } from "../src/store/database.js";

const RATE = Number(process.env.BENCH_EW_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_EW_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_EW_ROUNDS ?? 3);
const bytes = Buffer.alloc(60, 7);

type Mode = "thread" | "worker";

function open(mode: Mode, path: string) {
  const db = openDatabase(path, 0);
  const writer = new StoreWriter(() => undefined, undefined, isBusy);
  const eventWriter = mode === "worker" ? new WorkerEventWriter(path) : undefined;
  if (eventWriter !== undefined) writer.gate = eventWriter.gate;
  const events = new EventStore(db, writer, eventWriter);
  return {
    events,
    rowCount: () => db.prepare("SELECT COUNT(*) FROM events").pluck().get() as number,
    idle: async () => {
      do {
        await events.idle();
        await writer.idle();
      } while (events.pendingRows > 0 || writer.pending > 0);
    },
    close: () => {
      events.sendAll();
      eventWriter?.drain();
      writer.close();
      eventWriter?.close();
      db.close();
    },
  };
}

async function round(mode: Mode, flood: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "ibp-bench-ew-"));
  const store = open(mode, join(dir, "store.sqlite"));
  try {
    const journal = store.events.openFeed("tick:BENCH", "tick", "BENCH", Date.now());
    let seq = 0;
    const rows = (n: number): RecordedEvent[] => Array.from({ length: n }, () => ({ seq: ++seq, sub: 0, timeMs: Date.now(), kind: "data" as const, bytes }));
    const delay = monitorEventLoopDelay({ resolution: 1 });
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    delay.enable();
    if (flood) {
      while (performance.now() - t0 < 2_000) {
        journal.append(rows(1_000));
        await new Promise((resolve) => setImmediate(resolve));
      }
    } else {
      const perFlush = Math.round(RATE / 40);
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          journal.append(rows(perFlush));
          if (performance.now() - t0 >= SECONDS * 1_000) {
            clearInterval(timer);
            resolve();
          }
        }, 25);
      });
    }
    delay.disable();
    const elu = performance.eventLoopUtilization(elu0).utilization;
    await store.idle();
    const ms = performance.now() - t0;
    const committed = store.rowCount();
    return { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, elu, appended: seq, committedPerSec: Math.round((committed / ms) * 1000), shed: store.events.shedRows };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = (n: number) => n.toFixed(2);
for (const flood of [false, true]) {
  console.log(flood ? "flood: 1,000 rows every turn for 2 s" : `steady: ${RATE.toLocaleString("en-US")} rows/s for ${SECONDS} s, appended every 25 ms`);
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of ["thread", "worker"] as Mode[]) {
      const x = await round(mode, flood);
      console.log(`  ${mode.padEnd(6)} loop delay p99/max ${f(x.p99)}/${f(x.max)} ms, ELU ${f(x.elu)}, ${x.appended.toLocaleString("en-US")} rows appended, ${x.committedPerSec.toLocaleString("en-US")} committed/s, ${x.shed.toLocaleString("en-US")} shed`);
    }
  }
}
