import { credentials, status, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthClient } from "../../gen/grpc/health/v1/health.js";
import { createLogger } from "../log/logger.js";
import { noInstruments } from "./testing/noInstruments.js";
import { TokenAuthenticator } from "./auth.js";
import { readRichStatus } from "./statusDetails.js";
import { GrpcServer } from "./server.js";

describe("graceful shutdown", () => {
  it("ends open streams with UNAVAILABLE 'shutting down' instead of waiting for them", async () => {
    const grace = 10_000;
    const server = new GrpcServer({
      host: "127.0.0.1",
      port: 0,
      auth: new TokenAuthenticator(undefined),
      log: createLogger("silent"),
      shutdownGraceMs: grace,
      runtime: { provider: { apiToken: undefined, ib: undefined, ignoredConnectors: [] }, startedAt: new Date(), serviceVersion: "t", gateway: () => undefined, subscriptions: () => [] },
      adapter: noInstruments,
    });
    await server.start();
    const client = new HealthClient(server.address, credentials.createInsecure());
    const streams = [0, 1, 2].map(() => client.watch({ service: "" }));
    const received = streams.map(() => [] as ServingStatus[]);
    const ended = streams.map(
      (stream, i) =>
        new Promise<ServiceError | "ok">((resolve) => {
          stream.on("data", (m: { status: ServingStatus }) => received[i]!.push(m.status));
          stream.on("error", (e: ServiceError) => resolve(e));
          stream.on("end", () => resolve("ok"));
        }),
    );
    // Each stream has its first message before we shut down.
    await Promise.all(streams.map((s) => new Promise((r) => s.once("data", r))));

    const started = Date.now();
    await server.shutdown();
    const outcomes = await Promise.all(ended);
    client.close();

    expect(Date.now() - started).toBeLessThan(grace / 2);
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome).not.toBe("ok");
      const err = outcome as ServiceError;
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(readRichStatus(err)?.errorInfo?.reason).toBe("SHUTTING_DOWN");
      expect(received[i]).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    }
  });
});
