import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricsRegistry } from "../../metrics/metrics.js";
import { fetchOnce } from "../../testing/fetchOnce.js";
import { startTestApp, type TestApp } from "../../testing/testApp.js";
import { until } from "../../testing/until.js";
import { followSse } from "../testing/sseMessages.js";

// The console's live endpoints (/ui/live) against the whole service on the simulator, over real HTTP: one
// state for every open console, and API streams shared by the consoles that show them.
const TOKEN = "console-live-token";
const AUTH = { Authorization: `Bearer ${TOKEN}` };

interface State {
  proof: { value?: { gatewayMode: string } };
  subscriptions: { value?: { subscriptions: { symbol: string; kind: string; consumers: number; lastSequence: string; epoch: string }[] } };
  errors: { value?: { errors: { reason: string; method: string; code: string }[] } };
  metrics: { text?: string };
}

describe("the console's live endpoints", () => {
  let testApp: TestApp;
  let base: string;
  const leave = new AbortController();

  beforeAll(async () => {
    testApp = await startTestApp({ token: TOKEN });
    base = testApp.app.rest.url;
  }, 20_000);

  afterAll(async () => {
    leave.abort();
    await testApp?.stop();
  });

  const proofCalls = async () => {
    const metric = await metricsRegistry.getSingleMetric("ibprovider_grpc_request_duration_seconds")!.get();
    return metric.values.filter((v) => (v as { metricName?: string }).metricName?.endsWith("_count") === true && v.labels.method === "ibprovider.v1.RuntimeService.GetRuntimeProof").reduce((n, v) => n + v.value, 0);
  };

  it("sends every open console the same state (proof, subscriptions with their sequences, recent errors, metrics), read once per refresh for all", async () => {
    const refused = await fetchOnce(`${base}/api/candles/ib/spot/NOSUCH1/min1?days=1`, { headers: AUTH });
    expect(refused.status).toBe(404);
    const before = await proofCalls();
    const consoles: State[][] = [[], [], []];
    for (const into of consoles) void followSse(`${base}/ui/live/state`, into, leave.signal, AUTH);
    await until(() => consoles.every((c) => c.length >= 2), { what: "two states at each of three consoles", timeoutMs: 8_000 });
    const state = consoles[0]![1]!;
    expect(state.proof.value?.gatewayMode).toBe("GATEWAY_MODE_SIMULATOR");
    const trades = state.subscriptions.value?.subscriptions.find((s) => s.symbol === "BTCUSDT" && s.kind === "SUBSCRIPTION_KIND_TRADE");
    expect(Number(trades?.lastSequence)).toBeGreaterThan(0);
    expect(Number(trades?.epoch)).toBeGreaterThan(0);
    expect(state.errors.value?.errors[0]).toMatchObject({ reason: "SYMBOL_NOT_FOUND", code: "NOT_FOUND", method: "ibprovider.v1.MarketDataService.GetCandles" });
    expect(state.metrics.text).toMatch(/ibprovider_ib_lines_limit\{line="marketDataLines"\} 100/);
    // The states each console got were read once for all three.
    const refreshes = Math.max(...consoles.map((c) => c.length));
    expect((await proofCalls()) - before).toBeLessThanOrEqual(refreshes + 1);
  });

  it("shares an API stream between consoles: one call of the bridge, one more consumer of the feed, the state first for a late joiner", async () => {
    const consumers = async () => {
      const { subscriptions } = (await (await fetchOnce(`${base}/api/subscriptions`, { headers: AUTH })).json()) as { subscriptions: { symbol: string; kind: string; consumers: number }[] };
      return subscriptions.find((s) => s.symbol === "BTCUSDT" && s.kind === "SUBSCRIPTION_KIND_ORDER_BOOK")?.consumers ?? 0;
    };
    const configured = await consumers();
    const path = `${base}/ui/live/api/orderbook/ib/spot/BTCUSDT/stream?depth=10`;
    const shared = testApp.app.rest.sharedStreams;
    const first: { events: { update?: { isSnapshot: boolean; bids: unknown[] } }[] }[] = [];
    const leaveFirst = new AbortController();
    void followSse(path, first, leaveFirst.signal, AUTH);
    await until(() => first.some((m) => m.events.some((e) => e.update !== undefined)), { what: "the book at the first console" });
    const second: typeof first = [];
    const leaveSecond = new AbortController();
    void followSse(path, second, leaveSecond.signal, AUTH);
    await until(() => second.length > 0, { what: "the late joiner's state" });
    // Its first message holds the whole book as one snapshot.
    expect(second[0]!.events.find((e) => e.update !== undefined)?.update).toMatchObject({ isSnapshot: true });
    expect(second[0]!.events.find((e) => e.update !== undefined)!.update!.bids.length).toBeGreaterThan(0);
    expect(shared.upstreamCount).toBe(1);
    expect(await consumers()).toBe(configured + 1);
    leaveFirst.abort();
    leaveSecond.abort();
    await until(async () => shared.upstreamCount === 0 && (await consumers()) === configured, { what: "the shared stream to close with its last console" });
  });

  it("carries no account id in full: the runtime proof's accounts are masked in the state (the console shows them masked)", async () => {
    const proof = (await (await fetchOnce(`${base}/api/exchanges/runtime-proof`, { headers: AUTH })).json()) as { activeAccount: string; managedAccounts: string[] };
    expect(proof.activeAccount).toMatch(/^[A-Z]+\d{5,}$/);
    const states: State[] = [];
    const leaveState = new AbortController();
    const consoles = testApp.app.rest.consoleState.consoleCount;
    void followSse(`${base}/ui/live/state`, states, leaveState.signal, AUTH);
    await until(() => states.length > 0, { what: "a state" });
    leaveState.abort();
    await until(() => testApp.app.rest.consoleState.consoleCount === consoles, { what: "the console to leave" });
    const text = JSON.stringify(states[0]);
    for (const account of [proof.activeAccount, ...proof.managedAccounts]) expect(text).not.toContain(account);
    expect((states[0]!.proof.value as unknown as { activeAccount: string }).activeAccount).toBe(`${proof.activeAccount.slice(0, 2)}***${proof.activeAccount.slice(-3)}`);
  });

  it("answers HEAD on the state with its headers and holds no console for it (no reads for a request that takes no body)", async () => {
    const consoleState = testApp.app.rest.consoleState;
    // The first test's consoles are still open (they leave with the suite).
    const open = consoleState.consoleCount;
    const { hostname, port } = new URL(base);
    // A keep-alive connection that stays open: only the answer's end can release what the request took.
    const socket = connect(Number(port), hostname);
    socket.on("error", () => undefined);
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    try {
      socket.write(`HEAD /ui/live/state HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: keep-alive\r\n\r\n`);
      await until(() => answer.includes("\r\n\r\n"), { what: "the HEAD answer's headers" });
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(answer.toLowerCase()).toContain("content-type: text/event-stream");
      await until(() => consoleState.consoleCount === open, { what: "no console held for the HEAD request", timeoutMs: 2_000 });
    } finally {
      socket.destroy();
    }
  });

  it("names a shared stream's route as /ui/live + the API's template in the request metrics (and the access log): not as the API's own stream", async () => {
    const routes = async () => (await metricsRegistry.getSingleMetric("ibprovider_http_request_duration_seconds")!.get()).values.map((v) => String(v.labels.route));
    const template = "/api/trades/{connector_type}/{market_type}/{symbol}/stream";
    const apiCallsBefore = (await routes()).filter((r) => r === template).length;
    const messages: unknown[] = [];
    const leaveStream = new AbortController();
    void followSse(`${base}/ui/live/api/trades/ib/spot/BTCUSDT/stream`, messages, leaveStream.signal, AUTH);
    await until(() => messages.length > 0, { what: "a message of the shared trades stream" });
    leaveStream.abort();
    await until(async () => (await routes()).includes(`/ui/live${template}`), { what: `a request observed as /ui/live${template}` });
    expect((await routes()).filter((r) => r === template).length).toBe(apiCallsBefore);
  });

  it("refuses what the API refuses, and serves no unary route", async () => {
    expect(await followSse(`${base}/ui/live/api/trades/ib/spot/BTCUSDT/stream`, [], leave.signal)).toBe(401);
    expect(await followSse(`${base}/ui/live/state`, [], leave.signal)).toBe(401);
    expect(await followSse(`${base}/ui/live/api/trades/ib/spot/NOSUCH1/stream`, [], leave.signal, AUTH)).toBe(404);
    const unary = await fetchOnce(`${base}/ui/live/api/subscriptions`, { headers: AUTH });
    expect(unary.status).toBe(404);
    expect(await unary.json()).toMatchObject({ details: [expect.objectContaining({ reason: "ROUTE_NOT_FOUND" })] });
    expect(testApp.app.rest.sharedStreams.upstreamCount).toBe(0);
  });
});

describe("the console's live endpoints when the service stops", () => {
  it("end the consoles' state streams at once: stopping does not wait out the grace period for them", async () => {
    // A grace period far longer than the test may take: a stop that waits it out fails the test.
    const testApp = await startTestApp({ token: TOKEN, env: { SHUTDOWN_GRACE_MS: "60000" } });
    const leave = new AbortController();
    let stopping: Promise<void> | undefined;
    try {
      const base = testApp.app.rest.url;
      const states: unknown[] = [];
      const ended = followSse(`${base}/ui/live/state`, states, leave.signal, AUTH);
      const shared: unknown[] = [];
      const sharedEnded = followSse(`${base}/ui/live/api/trades/ib/spot/BTCUSDT/stream`, shared, leave.signal, AUTH);
      await until(() => states.length >= 1 && shared.length >= 1, { what: "a state and a trade stream message at the console", timeoutMs: 8_000 });
      stopping = testApp.stop();
      const outcome = await Promise.race([
        Promise.all([stopping, ended, sharedEnded]).then(() => "stopped" as const),
        new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 10_000).unref()),
      ]);
      expect(outcome).toBe("stopped");
      expect(testApp.app.rest.consoleState.consoleCount).toBe(0);
      expect(testApp.app.rest.sharedStreams.clientCount).toBe(0);
    } finally {
      leave.abort();
      await (stopping ?? testApp.stop());
    }
  }, 90_000);
});
