import { credentials, Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient, type GetCandlesRequest, type GetCandlesResponse, type StreamCandlesResponse } from "../../gen/ibprovider/v1/market_data_service.js";
import { RuntimeServiceClient, type ListSubscriptionsResponse } from "../../gen/ibprovider/v1/runtime_service.js";
import { StreamStatusKind, type StreamStatus } from "../../gen/ibprovider/v1/types.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { timestampFromMs, timestampToMs } from "./mapping/protoTime.js";

// The whole service over gRPC against a simulated Gateway whose historical pacing (IB: 60 per 10 minutes)
// is scaled to 20 per 30 s on both sides, dropped five times in a row.
const WINDOW_MS = 30_000;
const BUDGET = 20;
let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({
    simulator: { seed: 23, tickIntervalMs: 50, limits: { historicalWindowMs: WINDOW_MS, historicalMaxInWindow: BUDGET, historicalIdenticalMs: 1_500 } },
    historicalPacing: { globalWindowMs: WINDOW_MS, globalMax: BUDGET, userReserve: 5, identicalWindowMs: 1_500, safetyMarginMs: 100, settleAfterReconnectMs: 300, settleMaxMs: 2_000 },
    // No configured subscriptions: every IB request in this test is a client's.
    env: { PROVIDER_CONFIG_FILE: "bench/config.provider.json", STREAM_HEARTBEAT_MS: "1000" },
  });
});

afterAll(async () => {
  await testApp?.stop();
});

type Event = StreamCandlesResponse["events"][number];

function collect(call: ClientReadableStream<StreamCandlesResponse>): Event[] {
  const events: Event[] = [];
  call.on("data", (res: StreamCandlesResponse) => events.push(...res.events));
  call.on("error", () => undefined);
  return events;
}

const statusOf = (e: Event): StreamStatus | undefined => (e.event?.$case === "status" ? e.event.value : undefined);

describe("StreamCandles, GetCandles and ListSubscriptions through a burst of Gateway reconnects", () => {
  it("say WAITING (what for, until when) and requested_at_ib false while the connection settles; GetCandles is answered at once; candles resume", async () => {
    const address = `127.0.0.1:${testApp.app.grpc.port}`;
    const marketData = new MarketDataServiceClient(address, credentials.createInsecure());
    const runtime = new RuntimeServiceClient(address, credentials.createInsecure());
    const streams = ["BTCUSDT", "ETHUSDT"].map((symbol) =>
      marketData.streamCandles({ connectorType: "ib", marketType: "spot", symbol, interval: "min1", completeOnly: false }) as ClientReadableStream<StreamCandlesResponse>,
    );
    const seen = streams.map(collect);
    const isCandle = (e: Event) => e.event?.$case === "candle";
    await until(() => seen.every((s) => s.some(isCandle)), { what: "a first candle on each stream", timeoutMs: 10_000 });

    const adapter = testApp.app.adapter;
    for (let i = 1; i <= 5; i++) {
      testApp.simulator!.faults.dropAll();
      await until(() => adapter.status.state === "connected" && adapter.status.reconnectCount === i, { what: `reconnect ${i}` });
      if (i < 5) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const lastReconnect = Date.now();

    const listed = await new Promise<ListSubscriptionsResponse>((resolve, reject) => runtime.listSubscriptions({}, (err, res) => (err ? reject(err) : resolve(res))));
    const candles = listed.subscriptions.filter((s) => s.interval === "min1");
    expect(candles).toHaveLength(2);
    for (const s of candles) {
      expect(s).toMatchObject({ state: "waiting", requestedAtIb: false, waitingFor: expect.stringMatching(/connection to settle/) });
      expect(timestampToMs(s.waitingUntil!)).toBeGreaterThan(lastReconnect);
    }

    const request: GetCandlesRequest = { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", interval: "day", from: timestampFromMs(lastReconnect - 5 * 86_400_000), to: timestampFromMs(lastReconnect) };
    const got = await new Promise<GetCandlesResponse>((resolve, reject) =>
      marketData.getCandles(request, new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expect(got.candles.length).toBeGreaterThan(0);
    expect(Date.now() - lastReconnect).toBeLessThan(3_000);

    // Each stream said what it waited for and until when after the last reconnect, then delivered candles again
    // (its GAPs come around the WAITING: usually before it, on a loaded machine a filled window's after it).
    const afterGap = (s: Event[]) => s.slice(s.findLastIndex((e) => statusOf(e)?.kind === StreamStatusKind.STREAM_STATUS_KIND_RECONNECTING));
    await until(() => seen.every((s) => afterGap(s).some(isCandle)), { what: "candles after the burst", timeoutMs: 12_000 });
    for (const s of seen) {
      const waiting = afterGap(s).map(statusOf).find((st) => st?.kind === StreamStatusKind.STREAM_STATUS_KIND_WAITING);
      expect(waiting?.message).toMatch(/connection to settle/);
      expect(timestampToMs(waiting!.until!)).toBeGreaterThan(lastReconnect - 1_000);
    }
    for (const call of streams) call.cancel();
    marketData.close();
    runtime.close();
  }, 40_000);
});
