import { describe, expect, it } from "vitest";
import { conflatedMessages, droppedMessages } from "./metrics.js";
import { recordShed, streamKindOfMethod } from "./streamMetrics.js";

describe("stream metrics helpers", () => {
  it("names the stream kind of every streaming RPC, in both method notations", () => {
    expect(streamKindOfMethod("ibprovider.v1.MarketDataService.StreamTicks")).toBe("tick");
    expect(streamKindOfMethod("/ibprovider.v1.MarketDataService/StreamOrderBook")).toBe("orderBook");
    expect(streamKindOfMethod("ibprovider.v1.AccountService.StreamAccount")).toBe("account");
    expect(streamKindOfMethod("grpc.health.v1.Health.Watch")).toBe("health");
    expect(streamKindOfMethod("ibprovider.v1.MarketDataService.GetCandles")).toBeUndefined();
  });

  it("counts an overflow as dropped and a conflation or snapshot as conflated", async () => {
    const value = async (metric: typeof droppedMessages) => (await metric.get()).values.find((v) => v.labels.kind === "trade")?.value ?? 0;
    const dropped = await value(droppedMessages);
    const conflated = await value(conflatedMessages);
    recordShed("trade", "overflow", 7);
    recordShed("trade", "conflated", 3);
    recordShed("trade", "snapshot", 2);
    expect(await value(droppedMessages)).toBe(dropped + 7);
    expect(await value(conflatedMessages)).toBe(conflated + 5);
  });
});
