import { credentials, Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountServiceClient, type StreamAccountResponse } from "../../gen/ibprovider/v1/account_service.js";
import { StreamStatusKind, type StreamStatus } from "../../gen/ibprovider/v1/types.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { Collector, type StreamedEvent } from "./testing/streamCollector.js";

// Review of issue 15's replay end to end: generated client ↔ gRPC ↔ adapter ↔ the simulated Gateway, every
// feed recorded in the app's store (in memory). Each test was a bug found in review, fixed since.
const TOKEN = "replay-review-token";
let testApp: TestApp;
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);

beforeAll(async () => {
  testApp = await startTestApp({ token: TOKEN, simulator: { seed: 7 } });
});

afterAll(async () => {
  await testApp?.stop();
});

const statusOf = (e: StreamedEvent) => (e.event?.$case === "status" ? (e.event.value as StreamStatus) : undefined);
const symbolsOf = (events: StreamedEvent[], kind: "position" | "asset") =>
  events.filter((e) => e.event?.$case === kind).map((e) => (e.event!.value as { symbol: string }).symbol);

describe("review: StreamAccount resumed", () => {
  // Found in review (fixed; high), end to end: a StreamAccount resumed with after_sequence + epoch (or started from a time)
  // replays every position and asset with symbol "" — streamEncoding.ts `rerender` renames the values to the
  // stream's symbol, "" for the account (see replayReview.test.ts for the unit and the fix).
  it("replays the positions and assets it sent live, with their symbols", async () => {
    const account = new AccountServiceClient(testApp.grpcAddress, credentials.createInsecure());
    const request = { connectorType: "ib", marketType: "spot", accountId: "" };
    const live = new Collector(account.streamAccount(request, md) as ClientReadableStream<StreamAccountResponse>);
    await live.until(() => symbolsOf(live.events, "position").length > 0 && symbolsOf(live.events, "asset").length > 0, { timeoutMs: 15_000, what: "positions and assets live" });
    const epoch = live.events.map(statusOf).find((s) => s?.kind === StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED)!.epoch;
    live.call.cancel();
    await new Promise((r) => setTimeout(r, 200)); // recorded (flushed every 25 ms, then written)

    const resumed = new Collector(account.streamAccount({ ...request, afterSequence: "0", epoch }, md) as ClientReadableStream<StreamAccountResponse>);
    await resumed.until(() => resumed.statuses(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE) > 0 || resumed.error !== undefined, { timeoutMs: 10_000, what: "the replay" });
    resumed.call.cancel();
    account.close();
    const replayed = resumed.events.slice(0, resumed.events.findIndex((e) => statusOf(e)?.kind === StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE));
    expect(symbolsOf(replayed, "position").length).toBeGreaterThan(0);
    expect(new Set(symbolsOf(replayed, "position"))).toEqual(new Set(symbolsOf(live.events, "position"))); // got: Set {""}
    expect(new Set(symbolsOf(replayed, "asset"))).toEqual(new Set(symbolsOf(live.events, "asset"))); // got: Set {""}
  });
});
