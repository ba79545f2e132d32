import { Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { TickEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import { backoffPolicy, DEFAULT_BACKOFF } from "./backoff.js";
import { resumableStream } from "./resumableStream.js";

describe("backoff policy", () => {
  it("keeps the default for a setting passed as undefined, NaN or negative (a NaN delay would retry in a tight loop), and clamps jitter", () => {
    expect(backoffPolicy({ maxMs: undefined, initialMs: Number.NaN, multiplier: -2 })).toEqual(DEFAULT_BACKOFF);
    expect(backoffPolicy({ initialMs: 20, jitter: 5 })).toEqual({ ...DEFAULT_BACKOFF, initialMs: 20, jitter: 1 });
  });
});

// Seam: `open` returns a scripted stream instead of a grpc-js call (each call: one SUBSCRIBED status,
// then UNAVAILABLE), to prove the retry accounting without a server.
function failingAfterSubscribed(): ClientReadableStream<{ events: TickEvent[] }> {
  const subscribed: TickEvent = { event: { $case: "status", value: { kind: StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED, time: undefined, message: "", ibCode: 0, sinceLastData: undefined, until: undefined, epoch: "0" } }, sequence: "0" };
  const error = Object.assign(new Error("14 UNAVAILABLE: feed failed"), { code: status.UNAVAILABLE, details: "feed failed", metadata: new Metadata() }) as ServiceError;
  return {
    async *[Symbol.asyncIterator]() {
      yield { events: [subscribed] };
      throw error;
    },
    cancel: () => undefined,
  } as unknown as ClientReadableStream<{ events: TickEvent[] }>;
}

describe("resumable streams", () => {
  it("count a failure right after SUBSCRIBED as consecutive: maxRetries ends it and the delays grow", async () => {
    const delays: number[] = [];
    const stream = resumableStream(failingAfterSubscribed, { maxRetries: 3, backoff: { initialMs: 4, multiplier: 2, jitter: 0 } });
    const err = await (async () => {
      for await (const item of stream) if (item.kind === "reconnecting") delays.push(item.delayMs);
    })().catch((e: unknown) => e);
    expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
    expect(delays).toEqual([4, 8, 16]);
  });
});
