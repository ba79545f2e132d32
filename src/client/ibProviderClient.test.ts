import { status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TradeEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import { GatewayMode } from "../../gen/ibprovider/v1/runtime_service.js";
import type { RunningApp } from "../app.js";
import { runProgram } from "../sdk/runProgram.js";
import { cleanEnv, REPO_ROOT } from "../sdk/sdkPaths.js";
import { startTestApp } from "../testing/testApp.js";
import { createIbProviderClient, type IbProviderClient, type IbProviderClientOptions } from "./ibProviderClient.js";
import type { StreamGap, StreamItem, StreamReconnecting } from "./streamItem.js";
import { until } from "../testing/until.js";
import { TcpProxy } from "./testing/tcpProxy.js";

// The client against the whole service on the simulator (real sockets). Connection drops are made with a
// TCP proxy between the client and the server, so the service and its shared feeds keep running.
const TOKEN = "client-test-token";
let app: RunningApp;
let proxy: TcpProxy;
const opened: IbProviderClient[] = [];

// Small delays so a test sees several retries within its time budget.
const FAST = { backoff: { initialMs: 50, maxMs: 400, jitter: 0 } };
const fastChannel: IbProviderClientOptions["channelOptions"] = { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 400 };

function client(options: IbProviderClientOptions = {}): IbProviderClient {
  const c = createIbProviderClient({ address: `127.0.0.1:${app.grpc.port}`, token: TOKEN, channelOptions: fastChannel, ...options });
  opened.push(c);
  return c;
}

/** Consumes a stream in the background, bounded: the returned promise settles when it ends or fails. */
function consume<E>(stream: AsyncIterable<StreamItem<E>>, items: Array<StreamItem<E>>): Promise<void> {
  return (async () => {
    for await (const item of stream) items.push(item);
  })();
}

const trades = (items: Array<StreamItem<TradeEvent>>) => items.flatMap((i) => (i.kind === "event" && i.event.event?.$case === "trade" ? [i.sequence!] : []));
const tickConsumers = (symbol: string) => app.adapter.subscriptions().filter((s) => s.kind === "tick" && s.symbol === symbol).reduce((n, s) => n + s.consumers, 0);

beforeAll(async () => {
  app = await startTestApp({ token: TOKEN }).then((t) => t.app);
  proxy = await TcpProxy.start(app.grpc.port);
});

afterAll(async () => {
  for (const c of opened) c.close();
  await proxy?.close();
  await app?.stop();
});

describe("typed unary calls", () => {
  it("sends the bearer token and fills connectorType/marketType defaults", async () => {
    const c = client();
    expect((await c.runtime.getRuntimeProof()).gatewayMode).toBe(GatewayMode.GATEWAY_MODE_SIMULATOR);
    const { symbol } = await c.symbols.getSymbol({ symbol: "BTCUSDT", marketType: undefined });
    expect(symbol).toMatchObject({ name: "BTCUSDT", exchange: "PAXOS", secType: "CRYPTO" });
  });

  it("rejects with UNAUTHENTICATED for a wrong token", async () => {
    const err = (await client({ token: "wrong" }).runtime.getRuntimeProof().catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.UNAUTHENTICATED);
  });

  it("cancels a unary call when its signal aborts", async () => {
    const stop = new AbortController();
    const pending = client().marketData.getCandles({ symbol: "BTCUSDT", interval: "h1", days: 7 }, { signal: stop.signal });
    stop.abort();
    expect(((await pending.catch((e: unknown) => e)) as ServiceError).code).toBe(status.CANCELLED);
  });
});

describe("resumable streams", () => {
  it("resumes a trade stream after its connection drops and yields the trades it missed, no gap", async () => {
    // A second subscriber on a direct connection sees every trade of the shared feed: the reference.
    const stop = new AbortController();
    const reference: Array<StreamItem<TradeEvent>> = [];
    const referenceDone = consume(client().marketData.streamTrades({ symbol: "BTCUSDT" }, { signal: stop.signal }), reference);
    const items: Array<StreamItem<TradeEvent>> = [];
    const done = consume(client({ address: proxy.address }).marketData.streamTrades({ symbol: "BTCUSDT" }, { ...FAST, signal: stop.signal }), items);
    let lastSeen = 0n;
    try {
      await until(() => trades(items).length >= 2, { timeoutMs: 10_000, what: "two trades through the proxy" });
      proxy.cut();
      lastSeen = trades(items).at(-1)!;
      await until(() => items.some((i) => i.kind === "reconnecting"), { timeoutMs: 10_000, what: "the stream to notice the drop" });
      // Keep the connection down until the feed has moved on by at least two trades.
      await until(() => trades(reference).some((s) => s >= lastSeen + 2n), { timeoutMs: 15_000, what: "two trades while disconnected" });
      proxy.restore();
      await until(() => trades(items).at(-1)! > lastSeen + 2n, { timeoutMs: 15_000, what: "trades after the resume" });
    } finally {
      proxy.restore();
      stop.abort();
      await Promise.all([done, referenceDone]);
    }
    expect(items.filter((i) => i.kind === "gap")).toEqual([]);
    const reconnects = items.filter((i): i is StreamReconnecting => i.kind === "reconnecting");
    expect(reconnects[0]!.error.code).toBe(status.UNAVAILABLE);
    // Every trade the reference saw over the same range, once, in order: those missed came as a replay.
    const seqs = trades(items);
    expect(seqs).toEqual(trades(reference).filter((s) => s >= seqs[0]! && s <= seqs.at(-1)!));
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + BigInt(i)));
    expect(seqs.at(-1)!).toBeGreaterThan(lastSeen + 2n);
  }, 40_000);

  it("backs off with growing delays while the service is unreachable, then resumes the re-created feed where its numbering left off", async () => {
    // AAPL ticks have no other consumer: when this stream's connection drops the service cancels the feed;
    // the resumed stream gets a new feed instance whose numbering continues the recorded one, and the replay
    // says (SUBSCRIBED within the stream) that nothing was recorded while the feed was closed.
    const stop = new AbortController();
    const items: Array<StreamItem<unknown>> = [];
    const ticks = () => items.flatMap((i) => (i.kind === "event" && i.sequence !== undefined ? [i.sequence] : []));
    const done = consume(client({ address: proxy.address }).marketData.streamTicks({ symbol: "AAPL" }, { ...FAST, signal: stop.signal }), items);
    let lastSeen = 0n;
    try {
      await until(() => ticks().length >= 2, { timeoutMs: 10_000, what: "AAPL ticks" });
      proxy.cut();
      lastSeen = ticks().at(-1)!;
      await until(() => items.filter((i) => i.kind === "reconnecting").length >= 4 && tickConsumers("AAPL") === 0, { timeoutMs: 10_000, what: "four retries and the feed released" });
      proxy.restore();
      await until(() => ticks().at(-1)! > lastSeen, { timeoutMs: 15_000, what: "the resumed stream" });
    } finally {
      proxy.restore();
      stop.abort();
      await done;
    }
    const delays = items.flatMap((i) => (i.kind === "reconnecting" ? [i.delayMs] : []));
    expect(delays.slice(0, 4)).toEqual([50, 100, 200, 400]);
    const gaps = items.filter((i): i is StreamGap => i.kind === "gap");
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ cause: "server", message: expect.stringMatching(/^subscribed again after \d+: nothing was recorded in between/) });
    // Same epoch, numbering contiguous across the drop: no restart, no jump.
    const seqs = ticks().filter((s) => s >= lastSeen);
    expect(seqs).toEqual(seqs.map((_, i) => lastSeen + BigInt(i)));
  }, 40_000);

  it("ends cleanly when aborted, and the service releases the subscription", async () => {
    const stop = new AbortController();
    const items: Array<StreamItem<unknown>> = [];
    const done = consume(client().marketData.streamTicks({ symbol: "MSFT" }, { signal: stop.signal }), items);
    await until(() => tickConsumers("MSFT") === 1 && items.length > 0, { timeoutMs: 10_000, what: "the MSFT stream" });
    stop.abort();
    await expect(done).resolves.toBeUndefined();
    await until(() => tickConsumers("MSFT") === 0, { what: "the service to release MSFT ticks" });
  });

  it("cancels the call when the consumer breaks out of the loop", async () => {
    for await (const item of client().marketData.streamTicks({ symbol: "SPY" })) if (item.kind === "event") break;
    await until(() => tickConsumers("SPY") === 0, { what: "the service to release SPY ticks" });
  });

  it("throws errors that would fail again (UNAUTHENTICATED) without retrying", async () => {
    const items: Array<StreamItem<unknown>> = [];
    const err = (await consume(client({ token: "wrong" }).marketData.streamTicks({ symbol: "BTCUSDT" }, FAST), items).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(items).toEqual([]);
  });

  it("gives up after maxRetries consecutive failures with the last error", async () => {
    proxy.cut();
    try {
      const items: Array<StreamItem<unknown>> = [];
      const err = (await consume(client({ address: proxy.address }).marketData.streamTicks({ symbol: "BTCUSDT" }, { ...FAST, maxRetries: 2 }), items).catch((e: unknown) => e)) as ServiceError;
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(items.map((i) => i.kind)).toEqual(["reconnecting", "reconnecting"]);
    } finally {
      proxy.restore();
    }
  });
});

describe("examples/ts/stream_ticks.ts", () => {
  it("runs as the README says: runtime proof, h1 candles as Decimals, then sequenced ticks", async () => {
    const env = cleanEnv({ IB_PROVIDER_ADDR: `127.0.0.1:${app.grpc.port}`, PROVIDER_API_TOKEN: TOKEN });
    const { stdout } = await runProgram("npx", ["tsx", "examples/ts/stream_ticks.ts", "BTCUSDT", "3"], { cwd: REPO_ROOT, env, timeoutMs: 30_000 });
    expect(stdout).toContain("gateway: GATEWAY_MODE_SIMULATOR");
    expect(stdout).toMatch(/^\d+ h1 candles, last close [\d.]+, volume [\d.]+$/m);
    expect(stdout.split("\n").filter((line) => /^#\d+ BTCUSDT bid /.test(line))).toHaveLength(3);
  });
});
