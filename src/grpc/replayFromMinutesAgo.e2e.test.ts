import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { credentials, Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient, type StreamOrderBookResponse, type StreamTicksResponse } from "../../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import { timestampFromMs } from "./mapping/protoTime.js";
import { startTestApp } from "../testing/testApp.js";
import { dataOf, expectContiguous, liveAfterReplay, replayCompleteAt, seqs, statusAt, statusOf } from "./testing/replayEvents.js";
import { Collector } from "./testing/streamCollector.js";

// Issue 15: "start_time 10 min back on ticks and depth, then live, contiguous, no duplicate at the switch".
// Ten minutes of recording in a test: a first service records ticks and a book into a store file for a few
// seconds, then its recording is moved ten minutes into the past — the seam: the events' recorded times
// are shifted in the file (UPDATE events SET time_ms = time_ms - 10 min) while no service has it open — and
// a second service on that file serves a client asking for the last ten minutes.
const TEN_MINUTES = 600_000;
const FLOOD = { seed: 5, flood: true, floodRatePerSec: 2_000, floodBatch: 8 };
const env = (path: string) => ({ PROVIDER_CONFIG_FILE: "bench/config.provider.json", STORE_PATH: path, STREAM_HEARTBEAT_MS: "1000" });
const ticks = { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" };
const book = { connectorType: "ib", marketType: "spot", symbol: "AAPL", depth: 5 };
const md = new Metadata();

const dir = mkdtempSync(join(tmpdir(), "ibp-replay-minutes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a stream from ten minutes ago", () => {
  it("ticks and the book from 10 min back: what was recorded then (the book from its snapshot), the GAP of the restart, REPLAY_COMPLETE, then live, contiguous", { timeout: 60_000 }, async () => {
    const path = join(dir, "store.sqlite");
    const first = await startTestApp({ simulator: FLOOD, env: env(path) });
    const c1 = new MarketDataServiceClient(first.grpcAddress, credentials.createInsecure());
    const t1 = new Collector(c1.streamTicks(ticks, md) as ClientReadableStream<StreamTicksResponse>);
    const b1 = new Collector(c1.streamOrderBook(book, md) as ClientReadableStream<StreamOrderBookResponse>);
    await t1.until(() => t1.data.length >= 300, { timeoutMs: 15_000, what: "ticks recorded" });
    await b1.until(() => b1.data.length >= 30, { timeoutMs: 15_000, what: "book updates recorded" });
    t1.call.cancel();
    b1.call.cancel();
    c1.close();
    await first.stop();

    const shift = new Database(path);
    const moved = shift.prepare("UPDATE events SET time_ms = time_ms - ?").run(TEN_MINUTES).changes;
    shift.close();
    expect(moved).toBeGreaterThan(300);

    const second = await startTestApp({ simulator: FLOOD, env: env(path) });
    try {
      const c2 = new MarketDataServiceClient(second.grpcAddress, credentials.createInsecure(), { "grpc-node.flow_control_window": 8 * 1024 * 1024 });
      // 30 s before what was recorded ten minutes ago: OUT_OF_RANGE naming the oldest time each stream can start from.
      const tooEarly = timestampFromMs(Date.now() - TEN_MINUTES - 30_000);
      const refusals = [
        new Collector(c2.streamTicks({ ...ticks, startTime: tooEarly }, md) as ClientReadableStream<StreamTicksResponse>),
        new Collector(c2.streamOrderBook({ ...book, startTime: tooEarly }, md) as ClientReadableStream<StreamOrderBookResponse>),
      ];
      const [tickFrom, bookFrom] = await Promise.all(
        refusals.map(async (r) => {
          await r.until(() => r.error !== undefined, { what: "OUT_OF_RANGE" });
          const oldest = Date.parse(/at (\d{4}-\S+?Z)/.exec(r.error!.details.split("oldest")[1] ?? "")![1]!);
          expect(oldest).toBeLessThan(Date.now() - TEN_MINUTES + 1_000);
          return timestampFromMs(oldest);
        }),
      );
      const t2 = new Collector(c2.streamTicks({ ...ticks, startTime: tickFrom }, md) as ClientReadableStream<StreamTicksResponse>);
      const b2 = new Collector(c2.streamOrderBook({ ...book, startTime: bookFrom }, md) as ClientReadableStream<StreamOrderBookResponse>);
      await t2.until(() => liveAfterReplay(t2) >= 100, { timeoutMs: 15_000, what: "ticks: replay then live" });
      await b2.until(() => liveAfterReplay(b2) >= 10, { timeoutMs: 15_000, what: "book: replay then live" });
      t2.call.cancel();
      b2.call.cancel();
      c2.close();

      for (const c of [t2, b2]) {
        const switchAt = replayCompleteAt(c);
        const gap = statusAt(c.events, StreamStatusKind.STREAM_STATUS_KIND_GAP);
        // The first service's events, then the GAP of the restart (nothing recorded while no service ran), the switch, live.
        expect(dataOf(c.events.slice(0, gap)).length).toBeGreaterThan(0);
        expect(statusOf(c.events[gap]!)?.message).toMatch(/subscribed again after \d+: nothing was recorded in between/);
        expect(gap).toBeLessThan(switchAt);
        expect(dataOf(c.events.slice(switchAt)).length).toBeGreaterThan(0);
      }
      expectContiguous(seqs(t2.data));
      expect(seqs(t2.data)[0]).toBe(1);
      // The book starts with the snapshot recorded before the time (its sequence: the last delta it includes).
      expect((b2.data[0]!.event!.value as { isSnapshot: boolean }).isSnapshot).toBe(true);
      expectContiguous(seqs(b2.data).slice(1));
    } finally {
      await second.stop();
    }
  });
});
