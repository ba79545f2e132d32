import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TradeEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { createIbProviderClient, type IbProviderClient, type IbProviderClientOptions } from "./ibProviderClient.js";
import type { StreamItem } from "./streamItem.js";
import { TcpProxy } from "./testing/tcpProxy.js";

// The TS client's exact resume against the whole service: a simulated Gateway in flood mode, every feed
// recorded in the app's store, and a TCP proxy that drops the client's connection while the service and
// its feeds keep running (issue 15: "a client that drops for 5 s during a trades flood ... gets every
// event exactly once in order").
const TOKEN = "resume-token";
let testApp: TestApp;
let proxy: TcpProxy;
const opened: IbProviderClient[] = [];

beforeAll(async () => {
  testApp = await startTestApp({
    token: TOKEN,
    simulator: { seed: 12, flood: true, floodRatePerSec: 2_000, floodBatch: 8 },
    env: { PROVIDER_CONFIG_FILE: "bench/config.provider.json", STREAM_HEARTBEAT_MS: "1000" },
  });
  proxy = await TcpProxy.start(testApp.app.grpc.port);
});

afterAll(async () => {
  for (const c of opened) c.close();
  await proxy?.close();
  await testApp?.stop();
});

const fastChannel: IbProviderClientOptions["channelOptions"] = { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 400 };

function client(address: string): IbProviderClient {
  const c = createIbProviderClient({ address, token: TOKEN, channelOptions: fastChannel });
  opened.push(c);
  return c;
}

function consume<E>(stream: AsyncIterable<StreamItem<E>>, items: Array<StreamItem<E>>): Promise<void> {
  return (async () => {
    for await (const item of stream) items.push(item);
  })();
}

const tradeItems = (items: Array<StreamItem<TradeEvent>>) => items.flatMap((i) => (i.kind === "event" && i.event.event?.$case === "trade" ? [i] : []));
const lastTrade = (items: Array<StreamItem<TradeEvent>>) => tradeItems(items).at(-1)?.sequence ?? 0n;
const statusKinds = (items: Array<StreamItem<TradeEvent>>) => items.flatMap((i) => (i.kind === "event" && i.event.event?.$case === "status" ? [i.event.event.value.kind] : []));

describe("the TS client resumes a dropped stream exactly", () => {
  it("a client cut off for 5 s during a trades flood yields every print exactly once, in order, as an uninterrupted client does", async () => {
    const stop = new AbortController();
    const witness: Array<StreamItem<TradeEvent>> = [];
    const resumed: Array<StreamItem<TradeEvent>> = [];
    const request = { symbol: "ETHUSDT" };
    const witnessDone = consume(client(testApp.grpcAddress).marketData.streamTrades(request, { signal: stop.signal }), witness);
    const resumedDone = consume(client(proxy.address).marketData.streamTrades(request, { signal: stop.signal, backoff: { initialMs: 50, maxMs: 400, jitter: 0 } }), resumed);
    let cutAfter = 0n;
    let restoredAt = 0n;
    try {
      await until(() => tradeItems(resumed).length >= 200 && tradeItems(witness).length >= 200, { timeoutMs: 10_000, what: "both clients' first prints" });
      proxy.cut();
      cutAfter = lastTrade(resumed);
      const cutAtMs = Date.now();
      await until(() => resumed.some((i) => i.kind === "reconnecting"), { timeoutMs: 5_000, what: "the client to notice the drop" });
      // Away for 5 s while the flood goes on (the witness's prints prove it does).
      await until(() => Date.now() - cutAtMs >= 5_000 && lastTrade(witness) >= cutAfter + 5_000n, { timeoutMs: 15_000, what: "5 s and 5,000 prints while cut off" });
      proxy.restore();
      restoredAt = lastTrade(witness);
      await until(() => lastTrade(resumed) >= restoredAt + 2_000n, { timeoutMs: 20_000, what: "the replay and 2,000 live prints after it" });
      const upTo = lastTrade(resumed);
      await until(() => lastTrade(witness) >= upTo, { timeoutMs: 10_000, what: "the witness to reach the resumed client" });
    } finally {
      proxy.restore();
      stop.abort();
      await Promise.all([witnessDone, resumedDone]);
    }

    expect(resumed.filter((i) => i.kind === "gap")).toEqual([]);
    expect(resumed.filter((i) => i.kind === "reconnecting").every((i) => i.kind === "reconnecting" && i.error.code === status.UNAVAILABLE)).toBe(true);
    expect(statusKinds(resumed)).toContain(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE);
    const got = tradeItems(resumed);
    const seqs = got.map((i) => i.sequence!);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + BigInt(i)));
    // The same prints, event for event, as the client that was never cut off received over that range.
    const seen = tradeItems(witness).filter((i) => i.sequence! >= seqs[0]! && i.sequence! <= seqs.at(-1)!);
    expect(got.map((i) => i.event)).toEqual(seen.map((i) => i.event));
    expect(seqs.at(-1)! - cutAfter).toBeGreaterThan(7_000n); // the replay (≥ 5,000) and live prints after it
    // One epoch throughout, and the resume point is the last print's.
    expect(new Set(got.map((i) => i.epoch)).size).toBe(1);
  }, 60_000);
});
