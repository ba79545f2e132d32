import { createHash } from "node:crypto";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient, type GetCandlesRequest, type GetCandlesResponse } from "../../gen/ibprovider/v1/market_data_service.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { captureLog } from "../testing/logCapture.js";
import { until } from "../testing/until.js";
import { timestampFromMs } from "./mapping/protoTime.js";
import { readRichStatus, retryDelayMsOf } from "./statusDetails.js";

// Issue 13 item 3 (history quotas) and issue 14 item 3 (long downloads are visible): the whole service
// against a simulated Gateway whose historical pacing (IB: 60 per 10 minutes) is scaled down on both sides.
const ALPHA_TOKEN = "alpha-history-token-0123";
const BETA_TOKEN = "beta-history-token-4567";
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");
const DAY = 86_400_000;

async function startPacedApp(window: { ms: number; budget: number }, log?: ReturnType<typeof captureLog>): Promise<TestApp> {
  return startTestApp({
    token: "history-api-token-89ab",
    clients: {
      clients: [
        { name: "alpha", tokenSha256: sha256(ALPHA_TOKEN), quotas: { historyRequests: 3 } },
        { name: "beta", tokenSha256: sha256(BETA_TOKEN) },
      ],
    },
    simulator: { seed: 31, tickIntervalMs: 50, limits: { historicalWindowMs: window.ms, historicalMaxInWindow: window.budget, historicalIdenticalMs: 500 } },
    historicalPacing: { globalWindowMs: window.ms, globalMax: window.budget, userReserve: 1, clientReserve: 1, identicalWindowMs: 500, safetyMarginMs: 100 },
    // No configured subscriptions: every IB request here is a client's.
    env: { PROVIDER_CONFIG_FILE: "bench/config.provider.json" },
    ...(log === undefined ? {} : { log: pino({ level: "info" }, log.sink) }),
  });
}

function auth(token: string): Metadata {
  const md = new Metadata();
  md.set("authorization", `Bearer ${token}`);
  return md;
}

/** Daily candles of a 5-day window `back` windows ago: one IB request each, never one the store already holds. */
function dayWindow(back: number, interval = "day", days = 5): GetCandlesRequest {
  const to = Math.floor(Date.now() / DAY) * DAY - back * 10 * DAY;
  return { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", interval, from: timestampFromMs(to - days * DAY), to: timestampFromMs(to) };
}

function getCandles(client: MarketDataServiceClient, request: GetCandlesRequest, token: string, deadlineMs = 30_000): Promise<GetCandlesResponse> {
  return new Promise((resolve, reject) => client.getCandles(request, auth(token), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res))));
}

function failure(promise: Promise<unknown>): Promise<ServiceError> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );
}

describe("a client's historyRequests quota", () => {
  let testApp: TestApp;
  let client: MarketDataServiceClient;
  beforeAll(async () => {
    testApp = await startPacedApp({ ms: 60_000, budget: 20 });
    client = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await testApp?.stop();
  });

  it("refuses a call that would exceed it with QUOTA_EXCEEDED {quota, limit, client} and RetryInfo, at once, while another client is served", async () => {
    const sent = () => testApp.app.adapter.historicalPacing().sentTotal.user;
    // Minute candles of 5 days: more requests than alpha's whole quota of 3 — never servable, no RetryInfo.
    const tooBig = await failure(getCandles(client, dayWindow(1, "min1", 5), ALPHA_TOKEN));
    expect(tooBig.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(readRichStatus(tooBig)?.errorInfo).toMatchObject({ reason: "QUOTA_EXCEEDED", metadata: { quota: "historyRequests", limit: "3", client: "alpha" } });
    expect(readRichStatus(tooBig)?.retryInfo).toBeUndefined();
    expect(sent()).toBe(0); // refused before any request reached IB

    for (let i = 2; i <= 4; i++) await getCandles(client, dayWindow(i), ALPHA_TOKEN);
    expect(sent()).toBe(3);
    const started = Date.now();
    const over = await failure(getCandles(client, dayWindow(5), ALPHA_TOKEN));
    expect(Date.now() - started).toBeLessThan(3_000); // at once (a loaded 2-core machine may take seconds for any call)
    expect(readRichStatus(over)?.errorInfo).toMatchObject({ reason: "QUOTA_EXCEEDED", metadata: { quota: "historyRequests", limit: "3", client: "alpha" } });
    // Retry when alpha's first request leaves the 60 s window.
    const retryMs = retryDelayMsOf(readRichStatus(over)?.retryInfo);
    expect(retryMs).toBeGreaterThan(30_000);
    expect(retryMs).toBeLessThanOrEqual(61_000);
    expect(sent()).toBe(3);
    // GetTrades spends the same budget: refused too.
    const trades = await failure(
      new Promise((resolve, reject) =>
        client.getTrades({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", limit: 10 }, auth(ALPHA_TOKEN), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res))),
      ),
    );
    expect(readRichStatus(trades)?.errorInfo).toMatchObject({ reason: "QUOTA_EXCEEDED", metadata: { quota: "historyRequests", client: "alpha" } });
    expect(sent()).toBe(3);

    // beta has no quota of its own: served meanwhile.
    expect((await getCandles(client, dayWindow(6), BETA_TOKEN)).candles.length).toBeGreaterThan(0);
    expect(sent()).toBe(4);
  });
});

describe("a history call that must wait for IB's pacing", () => {
  const WINDOW = { ms: 12_000, budget: 4 };
  const log = captureLog();
  let testApp: TestApp;
  let client: MarketDataServiceClient;
  beforeAll(async () => {
    testApp = await startPacedApp(WINDOW, log);
    client = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await testApp?.stop();
  });

  it("fails at once with RESOURCE_EXHAUSTED and RetryInfo (Retry-After over REST) when its deadline is shorter than the wait; with a long enough deadline it is served and logs its wait once", async () => {
    const pacing = () => testApp.app.adapter.historicalPacing();
    // beta spends the whole window.
    await Promise.all([1, 2, 3, 4].map((i) => getCandles(client, dayWindow(i), BETA_TOKEN)));
    expect(pacing().sentInWindow).toBe(WINDOW.budget);

    const started = Date.now();
    // A 5 s deadline against a ~12 s wait: refused at once (a DEADLINE_EXCEEDED would mean it waited).
    const refused = await failure(getCandles(client, dayWindow(5), BETA_TOKEN, 5_000));
    const tookMs = Date.now() - started;
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(tookMs).toBeLessThan(3_000); // at once, not at the deadline
    const rich = readRichStatus(refused);
    expect(rich?.errorInfo).toMatchObject({ reason: "HISTORY_WAIT_EXCEEDS_DEADLINE" });
    const retryMs = retryDelayMsOf(rich?.retryInfo);
    expect(retryMs).toBeGreaterThanOrEqual(1_000);
    expect(retryMs).toBeLessThanOrEqual(WINDOW.ms);
    expect(pacing().requests.bars.ok).toBe(4); // nothing was sent for the refused call

    // The same over REST: 429, the RetryInfo detail and Retry-After in whole seconds.
    const res = await fetch(`${testApp.app.rest.url}/api/candles/ib/spot/BTCUSDT/day?from=${new Date(Date.now() - 70 * DAY).toISOString()}&to=${new Date(Date.now() - 65 * DAY).toISOString()}`, {
      headers: { authorization: `Bearer ${BETA_TOKEN}`, "grpc-timeout": "5S" },
    });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW.ms / 1000);
    const body = (await res.json()) as { details: { "@type": string; retryDelay?: string; reason?: string }[] };
    expect(body.details).toContainEqual(expect.objectContaining({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: expect.stringMatching(/^\d+(\.\d+)?s$/) }));
    expect(body.details).toContainEqual(expect.objectContaining({ reason: "HISTORY_WAIT_EXCEEDS_DEADLINE" }));

    // A deadline longer than the wait: queued, said once at info, and served when the window frees.
    const waits = () => log.lines.filter((l) => typeof l.msg === "string" && l.msg.includes("waits for IB's historical pacing budget"));
    const served = getCandles(client, dayWindow(7), BETA_TOKEN, 30_000);
    await until(() => pacing().queued === 1 && pacing().userWaitMs > 0, { what: "the call queued behind the budget" });
    expect((await served).candles.length).toBeGreaterThan(0);
    expect(waits()).toHaveLength(1);
    expect(waits()[0]).toMatchObject({ level: 30, client: "beta", requests: 1, waitSeconds: expect.any(Number) });
    expect(pacing().userWaitMs).toBe(0);
    console.info(`pacing-exhausted window: a 5 s-deadline call refused in ${tookMs} ms with retry after ${retryMs} ms; REST Retry-After ${retryAfter} s`);

    // What was sent to IB, by kind and outcome, and the queue gauges.
    const metrics = await (await fetch(`${testApp.app.rest.url}/api/metrics`, { headers: { authorization: `Bearer ${BETA_TOKEN}` } })).text();
    expect(metrics).toMatch(/^ibprovider_ib_history_requests_total\{kind="bars",outcome="ok"\} 5$/m);
    expect(metrics).toMatch(/^ibprovider_ib_history_requests_total\{kind="ticks",outcome="error"\} 0$/m);
    expect(metrics).toMatch(/^ibprovider_ib_historical_in_flight 0$/m);
    expect(metrics).toMatch(/^ibprovider_ib_historical_wait_seconds 0$/m);
  }, 40_000);
});
