import { describe, expect, it } from "vitest";
import { StreamStatusKind } from "../../../gen/ibprovider/v1/types.js";
import { statusToProto } from "../mapping/streamStatus.js";
import { RuntimeService } from "./runtimeService.js";

describe("what the runtime status says about a subscription IB does not have open", () => {
  it("ListSubscriptions gives requested_at_ib, and what a waiting subscription waits for and until when", async () => {
    const service = new RuntimeService({
      provider: { apiToken: undefined, ib: undefined, ignoredConnectors: [] },
      startedAt: new Date(0),
      serviceVersion: "test",
      gateway: () => undefined,
      now: () => 10_000,
      subscriptions: () => [
        { key: "candle/1/min1", kind: "candle", marketType: "spot", symbol: "BTCUSDT", interval: "min1", consumers: 2, configured: false, lastMessageAt: new Date(4_000), lastSequence: 41, epoch: 1_700, state: "waiting", requestedAtIb: false, waiting: { message: "waiting for the Gateway connection to settle", untilMs: 12_500 } },
        { key: "tick/1", kind: "tick", marketType: "spot", symbol: "BTCUSDT", interval: "", consumers: 1, configured: false, lastMessageAt: undefined, lastSequence: 0, epoch: 1_800, state: "live", requestedAtIb: true, waiting: undefined },
      ],
    });
    const { subscriptions } = await service.listSubscriptions();
    expect(subscriptions[0]).toMatchObject({ state: "waiting", requestedAtIb: false, waitingFor: "waiting for the Gateway connection to settle", waitingUntil: { seconds: "12", nanos: 500_000_000 }, lastSequence: "41", epoch: "1700" });
    expect(subscriptions[1]).toMatchObject({ state: "live", requestedAtIb: true, waitingFor: "", waitingUntil: undefined });
  });

  it("a WAITING stream status carries its until time; other statuses none", () => {
    expect(statusToProto({ kind: "waiting", atMs: 1_000, message: "waiting for IB's historical pacing budget", untilMs: 61_000 })).toMatchObject({
      kind: StreamStatusKind.STREAM_STATUS_KIND_WAITING,
      until: { seconds: "61", nanos: 0 },
    });
    expect(statusToProto({ kind: "live", atMs: 1_000, message: "" }).until).toBeUndefined();
  });

  it("the runtime proof names the bus the provider publishes on, and none in the all-in-one process", async () => {
    const sources = { provider: { apiToken: undefined, ib: undefined, ignoredConnectors: [] }, startedAt: new Date(0), serviceVersion: "test", gateway: () => undefined, subscriptions: () => [] };
    expect((await new RuntimeService(sources).getRuntimeProof()).bus).toBeUndefined();
    const bus = () => ({ address: "nats://user:***@127.0.0.1:4222", subjectPrefix: "ibp", connected: false, published: 1_200, queued: 30, shed: 4 });
    expect((await new RuntimeService({ ...sources, bus }).getRuntimeProof()).bus).toEqual({ address: "nats://user:***@127.0.0.1:4222", subjectPrefix: "ibp", connected: false, published: "1200", queued: "30", shed: "4" });
  });
});
