import { EventEmitter } from "node:events";
import { Metadata, status, type ServerUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import { until } from "../testing/until.js";
import { DEFAULT_STREAM_SETTINGS } from "../stream/streamSettings.js";
import { ApiError } from "./apiError.js";
import { CallRegistry } from "./callContext.js";
import { unary } from "./handlers.js";

/** A grpc-js unary call as the handler sees it (request, metadata, peer, 'cancelled'). */
function fakeCall(): ServerUnaryCall<object, object> {
  return Object.assign(new EventEmitter(), { request: {}, metadata: new Metadata(), getPeer: () => "ipv4:127.0.0.1:1" }) as unknown as ServerUnaryCall<object, object>;
}

describe("unary calls", () => {
  it("a unary call's signal aborts when the call ends, so work it started and no longer needs (history requests still queued for it) is withdrawn", async () => {
    const deps = { calls: new CallRegistry(), log: createLogger("silent"), streams: DEFAULT_STREAM_SETTINGS };
    for (const fails of [true, false]) {
      let signal: AbortSignal | undefined;
      const handle = unary<object, object>(
        "/test/Unary",
        async (_request, ctx) => {
          signal = ctx.signal;
          if (fails) throw new ApiError(status.RESOURCE_EXHAUSTED, "refused", "QUOTA_EXCEEDED");
          return {};
        },
        deps,
      );
      const ended = new Promise<ServiceError | null>((resolve) => handle(fakeCall(), (err) => resolve(err as ServiceError | null)));
      const err = await ended;
      expect(err?.code ?? status.OK).toBe(fails ? status.RESOURCE_EXHAUSTED : status.OK);
      // The call is released once it has ended (answered, measured): by then its signal has aborted.
      await until(() => deps.calls.size === 0, { what: "the call to be released", timeoutMs: 2_000 });
      expect(signal!.aborted).toBe(true);
    }
  });
});
