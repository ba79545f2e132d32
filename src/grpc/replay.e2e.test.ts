import { credentials, Metadata, status, type ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MarketDataServiceClient,
  type StreamCandlesResponse,
  type StreamOrderBookResponse,
  type StreamTicksResponse,
  type StreamTradesResponse,
} from "../../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import { timestampFromMs } from "./mapping/protoTime.js";
import { readRichStatus } from "./statusDetails.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { Collector } from "./testing/streamCollector.js";
import { epochOf, expectContiguous, liveAfterReplay, replayCompleteAt, seqs, statusOf } from "./testing/replayEvents.js";

// Replay and resume end to end: generated client ↔ gRPC ↔ adapter ↔ a simulated Gateway in flood mode,
// every feed recorded in the app's store (in memory here; a file in the restart tests).
const TOKEN = "replay-token";
let testApp: TestApp;
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);

beforeAll(async () => {
  testApp = await startTestApp({
    token: TOKEN,
    simulator: { seed: 11, flood: true, floodRatePerSec: 2_000, floodBatch: 8 },
    env: { PROVIDER_CONFIG_FILE: "bench/config.provider.json", STREAM_HEARTBEAT_MS: "1000" },
  });
});

afterAll(async () => {
  await testApp?.stop();
});

function client(): MarketDataServiceClient {
  return new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure(), { "grpc-node.flow_control_window": 8 * 1024 * 1024 });
}


/**
 * Waits until the open feed of `kind` has recorded `count` more data events after `sinceMs` (a client receives events later than the
 * service records them: counting what it received would count events from before).
 */
async function recordedSince(kind: string, sinceMs: number, count: number): Promise<void> {
  const rows = () => testApp.app.store.events.feedInfos().find((f) => f.kind === kind && f.open)?.lastSeq ?? 0;
  // Rows committed 100 ms after `sinceMs` include everything recorded before it (flushed every 25 ms).
  await until(() => Date.now() >= sinceMs + 100, { what: "100 ms to pass" });
  const before = rows();
  await until(() => rows() >= before + count, { timeoutMs: 10_000, what: `${count} events recorded` });
}



const trades = { connectorType: "ib", marketType: "spot", symbol: "ETHUSDT" };

describe("resume after a sequence", () => {
  it("a client that drops during a trades flood and resumes with after_sequence gets every event exactly once, in order", async () => {
    const md1 = client();
    const witness = new Collector(md1.streamTrades(trades, md) as ClientReadableStream<StreamTradesResponse>);
    await witness.until(() => witness.data.length >= 50, { timeoutMs: 10_000, what: "the witness's first trades" });
    const dropping = new Collector(md1.streamTrades(trades, md) as ClientReadableStream<StreamTradesResponse>);
    await dropping.until(() => dropping.data.length >= 100, { timeoutMs: 10_000, what: "the dropping client's trades" });
    dropping.call.cancel();
    const epoch = epochOf(dropping);
    const last = Math.max(...seqs(dropping.data));
    // Away while the flood goes on: the witness receives a few thousand more prints meanwhile.
    await witness.until(() => Math.max(...seqs(witness.data)) >= last + 2_000, { timeoutMs: 15_000, what: "2,000 prints while the client is away" });
    const resumed = new Collector(md1.streamTrades({ ...trades, afterSequence: String(last), epoch }, md) as ClientReadableStream<StreamTradesResponse>);
    await resumed.until(() => replayCompleteAt(resumed) >= 0 && resumed.data.length >= 2_500, { timeoutMs: 15_000, what: "the replay and live prints after it" });
    const upTo = Math.max(...seqs(resumed.data));
    await witness.until(() => Math.max(...seqs(witness.data)) >= upTo, { timeoutMs: 10_000, what: "the witness to reach the resumed client" });
    resumed.call.cancel();
    witness.call.cancel();
    md1.close();

    expectContiguous(seqs(resumed.data));
    expect(seqs(resumed.data)[0]).toBe(last + 1);
    // The very prints the uninterrupted client got, byte for byte the same events.
    const witnessed = witness.data.filter((e) => Number(e.sequence) > last && Number(e.sequence) <= upTo);
    expect(resumed.data).toEqual(witnessed);
    expect(statusOf(resumed.events[0]!)?.kind).toBe(StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED);
    expect(statusOf(resumed.events[replayCompleteAt(resumed)]!)?.epoch).toBe(epoch);
  });

  it("a sequence of another epoch the service does not know is a GAP status, then live", async () => {
    const md1 = client();
    const c = new Collector(md1.streamTrades({ ...trades, afterSequence: "5", epoch: "12345" }, md) as ClientReadableStream<StreamTradesResponse>);
    await c.until(() => c.data.length >= 5, { timeoutMs: 10_000, what: "live prints after the gap" });
    c.call.cancel();
    md1.close();
    const gap = c.events.map(statusOf).find((s) => s?.kind === StreamStatusKind.STREAM_STATUS_KIND_GAP);
    expect(gap?.message).toMatch(/epoch 12345\b.*not retained/);
  });

  it("after_sequence without its epoch, or with start_time, is INVALID_ARGUMENT naming the field", async () => {
    const md1 = client();
    for (const [request, field] of [
      [{ ...trades, afterSequence: "5" }, "epoch"],
      [{ ...trades, afterSequence: "5", epoch: "1", startTime: timestampFromMs(Date.now() - 1000) }, "after_sequence"],
      [{ ...trades, startTime: timestampFromMs(Date.now() + 3_600_000) }, "start_time"],
    ] as const) {
      const c = new Collector(md1.streamTrades(request, md) as ClientReadableStream<StreamTradesResponse>);
      await c.until(() => c.error !== undefined, { what: `the refusal naming ${field}` });
      expect(c.error!.code).toBe(status.INVALID_ARGUMENT);
      expect(readRichStatus(c.error!)?.badRequest?.fieldViolations[0]?.field).toBe(field);
    }
    md1.close();
  });
});

describe("start from a time", () => {
  it("candles from ten minutes back: the complete candles of history (sequence 0), REPLAY_COMPLETE, then the live feed from the forming candle", async () => {
    const md1 = client();
    const startMs = Date.now() - 10 * 60_000;
    const c = new Collector(
      md1.streamCandles({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", interval: "min1", completeOnly: false, startTime: timestampFromMs(startMs) }, md) as ClientReadableStream<StreamCandlesResponse>,
    );
    await c.until(() => liveAfterReplay(c) >= 2, { timeoutMs: 15_000, what: "history candles, REPLAY_COMPLETE and live candles" });
    c.call.cancel();
    md1.close();
    const switchAt = replayCompleteAt(c);
    const candle = (e: (typeof c.events)[number]) => e.event!.value as { time: { seconds: string }; isComplete: boolean };
    const history = c.events.slice(0, switchAt).filter((e) => e.event?.$case === "candle");
    const live = c.events.slice(switchAt).filter((e) => e.event?.$case === "candle");
    // Ten minutes of complete min1 candles from history, in order, each a minute after the one before.
    expect(history.length).toBeGreaterThanOrEqual(9);
    expect(history.every((e) => e.sequence === "0" && candle(e).isComplete)).toBe(true);
    const starts = history.map((e) => Number(candle(e).time.seconds));
    expect(starts).toEqual(starts.map((_, i) => starts[0]! + i * 60));
    expect(starts[0]! * 1000).toBeGreaterThanOrEqual(startMs - 60_000);
    // Then the live feed: numbered, and nothing of a minute history already sent.
    expect(live.every((e) => Number(e.sequence) > 0 && Number(candle(e).time.seconds) > starts.at(-1)!)).toBe(true);
    expect(statusOf(c.events[0]!)?.kind).toBe(StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED);
  });

  it("ticks from a time seconds back: the recorded ticks from then, REPLAY_COMPLETE, then live, contiguous with no duplicate", async () => {
    const md1 = client();
    const req = { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" };
    const live = new Collector(md1.streamTicks(req, md) as ClientReadableStream<StreamTicksResponse>);
    await live.until(() => live.data.length >= 50, { timeoutMs: 10_000, what: "ticks being recorded" });
    const startMs = Date.now();
    await recordedSince("tick", startMs, 200);
    const replaying = new Collector(md1.streamTicks({ ...req, startTime: timestampFromMs(startMs) }, md) as ClientReadableStream<StreamTicksResponse>);
    await replaying.until(() => liveAfterReplay(replaying) >= 50, { timeoutMs: 10_000, what: "replay then live" });
    replaying.call.cancel();
    live.call.cancel();
    md1.close();
    const numbers = seqs(replaying.data);
    expectContiguous(numbers);
    const switchAt = replayCompleteAt(replaying);
    expect(replaying.events.slice(0, switchAt).filter((e) => e.event?.$case === "tick").length).toBeGreaterThan(0);
    expect(replaying.events.slice(switchAt).filter((e) => e.event?.$case === "tick").length).toBeGreaterThan(0);
    // Replayed ticks are those of the time asked for (recorded at or after it).
    const first = replaying.data[0]!.event!.value as { symbol: string };
    expect(first.symbol).toBe("BTCUSDT");
  });

  it("the order book from a time starts with the recorded snapshot before it, then its deltas, contiguous into live", async () => {
    const md1 = client();
    const req = { connectorType: "ib", marketType: "spot", symbol: "AAPL", depth: 5 };
    const live = new Collector(md1.streamOrderBook(req, md) as ClientReadableStream<StreamOrderBookResponse>);
    await live.until(() => live.data.length >= 10, { timeoutMs: 10_000, what: "book updates being recorded" });
    const startMs = Date.now();
    await recordedSince("orderBook", startMs, 30);
    const replaying = new Collector(md1.streamOrderBook({ ...req, startTime: timestampFromMs(startMs) }, md) as ClientReadableStream<StreamOrderBookResponse>);
    await replaying.until(() => liveAfterReplay(replaying) >= 10, { timeoutMs: 10_000, what: "book replay then live" });
    replaying.call.cancel();
    live.call.cancel();
    md1.close();
    const first = replaying.data[0]!.event!.value as { isSnapshot: boolean };
    expect(first.isSnapshot).toBe(true);
    const numbers = seqs(replaying.data);
    expectContiguous(numbers.slice(1)); // the snapshot carries the sequence of the last delta it includes
    expect(numbers[1]).toBe(numbers[0]! + 1);
  });

  it("a start older than anything recorded is OUT_OF_RANGE naming the oldest time available", async () => {
    const md1 = client();
    const c = new Collector(md1.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", startTime: timestampFromMs(Date.now() - 3_600_000) }, md) as ClientReadableStream<StreamTicksResponse>);
    await c.until(() => c.error !== undefined, { what: "the refusal" });
    md1.close();
    expect(c.error!.code).toBe(status.OUT_OF_RANGE);
    const info = readRichStatus(c.error!)?.errorInfo;
    expect(info?.reason).toBe("REPLAY_OUT_OF_RANGE");
    expect(Date.parse(info!.metadata.oldestAvailable!)).toBeGreaterThan(Date.now() - 3_600_000);
    expect(c.error!.details).toMatch(/start_time: .*oldest event retained is at \d{4}-/);
  });
});
