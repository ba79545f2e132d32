import { credentials, Metadata, status, type ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountServiceClient, type StreamAccountResponse } from "../../gen/ibprovider/v1/account_service.js";
import {
  MarketDataServiceClient,
  type StreamCandlesResponse,
  type StreamOrderBookResponse,
  type StreamTicksResponse,
  type StreamTradesResponse,
} from "../../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import type { RunningApp } from "../app.js";
import type { SimulatorHandle } from "../simulator/index.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { readRichStatus } from "./statusDetails.js";
import { Collector, type StreamedEvent as Event } from "./testing/streamCollector.js";
import { activeStreams, conflatedMessages, droppedMessages, grpcRequestDuration, streamMessagesOut } from "../metrics/metrics.js";

// End to end over loopback sockets: generated client ↔ gRPC server ↔ IB adapter ↔ a simulated Gateway in
// flood mode at a bounded rate (so streams carry thousands of events a second and a stalled client fills
// its buffers within a second), reached through IB_GATEWAY_URL like a real one.
const TOKEN = "streaming-token";
const FLOOD_FRAMES_PER_SEC = 4_000;
const BUFFER_EVENTS = 2_000;
let testApp: TestApp;
let sim: SimulatorHandle;
let app: RunningApp;
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);

/** 20 instruments the simulator knows, across markets. */
const INSTRUMENTS: { marketType: string; symbol: string }[] = [
  ...["AAPL", "MSFT", "SPY", "AMZN", "GOOGL", "NVDA", "META", "JPM", "V", "KO", "XOM", "NFLX", "AMD", "IBM", "INTC"].map((symbol) => ({ marketType: "spot", symbol })),
  { marketType: "spot", symbol: "BTCUSDT" },
  { marketType: "spot", symbol: "ETHUSDT" },
  { marketType: "spot", symbol: "EURUSD" },
  { marketType: "futures", symbol: "ES" },
  { marketType: "margin", symbol: "TSLA" },
];

beforeAll(async () => {
  testApp = await startTestApp({
    token: TOKEN,
    simulator: { seed: 7, flood: true, floodRatePerSec: FLOOD_FRAMES_PER_SEC, floodBatch: 16 },
    env: {
      // BTCUSDT listed, no configured subscriptions: every IB line in these tests is opened by a client.
      PROVIDER_CONFIG_FILE: "bench/config.provider.json",
      STREAM_BUFFER_EVENTS: String(BUFFER_EVENTS),
      STREAM_HEARTBEAT_MS: "1000",
    },
  });
  app = testApp.app;
  sim = testApp.simulator!;
});

afterAll(async () => {
  await testApp?.stop();
});

/**
 * A client on its own HTTP/2 connection (as separate client processes would be), with the window the
 * README recommends for grpc-js (its 64 KiB default throttles a busy stream); a stalled client keeps the
 * default, so that its stall reaches the server within a second.
 */
function marketData(window: "wide" | "default" = "wide"): MarketDataServiceClient {
  const options = window === "wide" ? { "grpc-node.flow_control_window": 8 * 1024 * 1024 } : {};
  return new MarketDataServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure(), options);
}

const seqs = (events: Event[]) => events.map((e) => Number(e.sequence));
const ticksOpen = () => app.adapter.subscriptions().filter((s) => s.kind === "tick");

describe("every stream RPC", () => {
  it("delivers typed data events numbered by the shared feed, the same numbers for every client; statuses carry 0", async () => {
    const client = marketData();
    const req = { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" };
    const a = new Collector(client.streamTicks(req, md) as ClientReadableStream<StreamTicksResponse>);
    await a.until(() => a.data.length >= 5, { timeoutMs: 10_000, what: "first subscriber's ticks" });
    const b = new Collector(client.streamTicks(req, md) as ClientReadableStream<StreamTicksResponse>);
    await b.until(() => b.data.length >= 50, { timeoutMs: 10_000, what: "second subscriber's ticks" });
    a.call.cancel();
    b.call.cancel();
    expect(a.events[0]).toMatchObject({ sequence: "0", event: { $case: "status" } });
    // Strictly increasing; the joiner starts from the current state (numbered as of the last event it
    // includes) and from then on sees exactly the first subscriber's numbers.
    for (const c of [a, b]) expect(seqs(c.data)).toEqual([...new Set(seqs(c.data))].sort((x, y) => x - y));
    const shared = seqs(b.data).slice(1).filter((s) => seqs(a.data).includes(s));
    expect(shared.length).toBeGreaterThan(0);
    const tick = a.data[0]!.event!.value as { symbol: string; bid: string };
    expect(tick.symbol).toBe("BTCUSDT");
    expect(tick.bid).toMatch(/^\d+(\.\d+)?$/);
    client.close();
  });

  it("trades, order book, candles and account streams carry numbered data too", async () => {
    const client = marketData();
    const account = new AccountServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const streams = [
      new Collector(client.streamTrades({ connectorType: "ib", marketType: "spot", symbol: "ETHUSDT" }, md) as ClientReadableStream<StreamTradesResponse>),
      new Collector(client.streamOrderBook({ connectorType: "ib", marketType: "spot", symbol: "AAPL", depth: 5 }, md) as ClientReadableStream<StreamOrderBookResponse>),
      new Collector(client.streamCandles({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", interval: "min1", completeOnly: false }, md) as ClientReadableStream<StreamCandlesResponse>),
      new Collector(account.streamAccount({ connectorType: "ib", marketType: "spot", accountId: "" }, md) as ClientReadableStream<StreamAccountResponse>),
    ];
    await Promise.all(streams.map((s, i) => s.until(() => s.data.length >= 2, { timeoutMs: 15_000, what: `stream ${i} data` })));
    for (const s of streams) {
      s.call.cancel();
      const numbers = seqs(s.data);
      expect(numbers.every((n) => n > 0)).toBe(true);
      expect([...numbers].sort((x, y) => x - y)).toEqual(numbers); // account updates can span several events
    }
    expect(streams.map((s) => s.data[0]!.event!.$case)).toEqual(["trade", "update", "candle", expect.stringMatching(/summary|asset|position|pnl/)]);
    client.close();
    account.close();
  });
});

describe("many clients", () => {
  it("200 concurrent streaming clients on 20 instruments share 20 IB lines, all get ticks, and cancelling releases every line", async () => {
    const channels = Array.from({ length: 4 }, () => marketData());
    const collectors: Collector[] = [];
    for (let i = 0; i < 200; i++) {
      const { marketType, symbol } = INSTRUMENTS[i % INSTRUMENTS.length]!;
      collectors.push(new Collector(channels[i % channels.length]!.streamTicks({ connectorType: "ib", marketType, symbol }, md) as ClientReadableStream<StreamTicksResponse>));
    }
    await Promise.all(collectors.map((c, i) => c.until(() => c.data.length > 0 || c.error !== undefined, { timeoutMs: 20_000, what: `client ${i}` })));
    expect(collectors.filter((c) => c.error !== undefined).map((c) => c.error!.details)).toEqual([]);
    expect(ticksOpen()).toHaveLength(20);
    expect(ticksOpen().reduce((n, s) => n + s.consumers, 0)).toBe(200);
    for (const c of collectors) c.call.cancel();
    await until(() => ticksOpen().length === 0, { what: "every IB line released" });
    for (const ch of channels) ch.close();
  });
});

/** A counter's value summed over the series matching `labels`. */
async function countOf(metric: { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> }, labels: Record<string, string>): Promise<number> {
  return (await metric.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

describe("slow clients", () => {
  it("a stalled L1 client is conflated alone: the others get every event, it gets the newest state when it reads again", async () => {
    const req = { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" };
    const fast = Array.from({ length: 3 }, () => {
      const ch = marketData();
      return { ch, c: new Collector(ch.streamTicks(req, md) as ClientReadableStream<StreamTicksResponse>) };
    });
    const stalledChannel = marketData("default");
    const stalled = new Collector(stalledChannel.streamTicks(req, md) as ClientReadableStream<StreamTicksResponse>);
    await stalled.until(() => stalled.data.length > 0, { timeoutMs: 10_000, what: "stalled client's first tick" });
    stalled.call.pause(); // stops reading: its HTTP/2 window fills, then what the server has in flight, then its buffer
    const pausedAt = Number(stalled.data.at(-1)!.sequence);
    const countAtPause = stalled.data.length;
    // Far enough behind that neither the window, nor the 512 KiB in flight, nor the buffer can hold it (the
    // cursor conflates when it reads again): 15 buffers, ≈ 5 s of the flood.
    const LAG = 15 * BUFFER_EVENTS;
    await until(() => Number(fast[0]!.c.data.at(-1)?.sequence ?? 0) > pausedAt + LAG, { timeoutMs: 30_000, what: "the stalled client far behind" });
    stalled.call.resume();
    await stalled.until(() => Number(stalled.data.at(-1)!.sequence) > pausedAt + LAG, { timeoutMs: 15_000, what: "stalled client catches up" });
    for (const { ch, c } of fast) {
      c.call.cancel();
      ch.close();
    }
    stalled.call.cancel();
    stalledChannel.close();

    // The fast clients lost nothing: consecutive numbers from their first event on.
    for (const { c } of fast) {
      const s = seqs(c.data);
      expect(s.slice(1).every((n, i) => n === s[i]! + 1)).toBe(true);
    }
    // The stalled one skipped states (conflation: the jump in sequence says how many), no error, no gap lies.
    const after = seqs(stalled.data.slice(countAtPause));
    const jumps = after.slice(1).filter((n, i) => n > after[i]! + 1);
    expect(jumps.length).toBeGreaterThan(0);
    expect(stalled.error?.code ?? status.CANCELLED).toBe(status.CANCELLED);
  }, 50_000);

  it("a stalled trades client is ended with RESOURCE_EXHAUSTED CONSUMER_TOO_SLOW while another keeps every print", async () => {
    const req = { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" };
    const tradeConsumers = () => app.adapter.subscriptions().find((x) => x.kind === "trade")?.consumers ?? 0;
    const fastChannel = marketData();
    const fast = new Collector(fastChannel.streamTrades(req, md) as ClientReadableStream<StreamTradesResponse>);
    const stalledChannel = marketData("default");
    const stalled = new Collector(stalledChannel.streamTrades(req, md) as ClientReadableStream<StreamTradesResponse>);
    await stalled.until(() => stalled.data.length > 0, { timeoutMs: 10_000, what: "stalled client's first trade" });
    await until(() => tradeConsumers() === 2, { what: "both trade subscribers in place" });
    stalled.call.pause();
    // The server ends the stalled call (and frees what it held) as soon as it falls BUFFER_EVENTS behind;
    // the client hears it after reading what was already in flight (trailers follow the data).
    await until(() => tradeConsumers() === 1, { timeoutMs: 15_000, what: "the server ends the stalled trades stream" });
    const before = fast.data.length;
    await fast.until(() => fast.data.length > before + 100, { what: "the other client keeps streaming" });
    stalled.call.resume();
    await stalled.until(() => stalled.error !== undefined, { what: "the stalled client gets the error" });
    expect(stalled.error!.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(readRichStatus(stalled.error!)?.errorInfo?.reason).toBe("CONSUMER_TOO_SLOW");
    expect(stalled.error!.details).toMatch(/fell 2000 events behind/);
    const s = seqs(fast.data);
    expect(s.slice(1).every((n, i) => n === s[i]! + 1)).toBe(true);
    fast.call.cancel();
    fastChannel.close();
    stalledChannel.close();
    await until(() => tradeConsumers() === 0, { what: "trade line released" });
  });
});

describe("Gateway restart mid-stream", () => {
  it("streams say RECONNECTING, then GAP, then data again, with sequence numbers continuing", async () => {
    const client = marketData();
    const c = new Collector(client.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "ETHUSDT" }, md) as ClientReadableStream<StreamTicksResponse>);
    await c.until(() => c.data.length > 10, { timeoutMs: 10_000, what: "ticks before the restart" });
    const before = Number(c.data.at(-1)!.sequence);
    await sim.faults.restart(500);
    await c.until(() => c.statuses(StreamStatusKind.STREAM_STATUS_KIND_GAP) > 0, { timeoutMs: 15_000, what: "GAP after the reconnect" });
    const gapAt = c.events.findIndex((e) => e.event?.$case === "status" && (e.event.value as { kind: StreamStatusKind }).kind === StreamStatusKind.STREAM_STATUS_KIND_GAP);
    await c.until(() => c.events.slice(gapAt).some((e) => e.event?.$case === "tick"), { timeoutMs: 10_000, what: "data after the gap" });
    c.call.cancel();
    client.close();
    expect(c.statuses(StreamStatusKind.STREAM_STATUS_KIND_RECONNECTING)).toBeGreaterThan(0);
    const firstAfter = c.events.slice(gapAt).find((e) => e.event?.$case === "tick")!;
    expect(Number(firstAfter.sequence)).toBeGreaterThan(before);
    expect(c.error?.code ?? status.CANCELLED).toBe(status.CANCELLED);
  });
});

describe("metrics", () => {
  it("count open streams, messages out, conflated and dropped events, and call durations by status", async () => {
    const value = countOf;
    // The slow-client tests above conflated ticks and dropped trades.
    expect(await value(conflatedMessages, { kind: "tick" })).toBeGreaterThan(0);
    expect(await value(droppedMessages, { kind: "trade" })).toBeGreaterThan(0);
    expect(await value(streamMessagesOut, { kind: "tick" })).toBeGreaterThan(100);
    expect(await value(grpcRequestDuration, { method: "ibprovider.v1.MarketDataService.StreamTrades", code: "RESOURCE_EXHAUSTED" })).toBeGreaterThan(0);
    const client = marketData();
    const c = new Collector(client.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" }, md) as ClientReadableStream<StreamTicksResponse>);
    await c.until(() => c.data.length > 0, { timeoutMs: 10_000, what: "a tick" });
    expect(await value(activeStreams, { kind: "tick" })).toBe(1);
    c.call.cancel();
    await until(() => ticksOpen().length === 0, { what: "released" });
    await until(async () => (await value(activeStreams, { kind: "tick" })) === 0, { what: "the stream gauge back at 0" });
    client.close();
  });
});
