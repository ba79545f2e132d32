import { credentials, Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthClient, type HealthCheckResponse } from "../../gen/grpc/health/v1/health.js";
import { createLogger } from "../log/logger.js";
import { TokenAuthenticator } from "./auth.js";
import { GrpcServer } from "./server.js";
import { selfSignedCertificate } from "../testing/selfSignedCertificate.js";
import { noInstruments } from "./testing/noInstruments.js";

describe("TLS", () => {
  it("serves gRPC over TLS with the configured certificate and key", async () => {
    const certificate = selfSignedCertificate();
    const { certFile, keyFile } = certificate;
    const server = new GrpcServer({
      host: "127.0.0.1",
      port: 0,
      auth: new TokenAuthenticator(undefined),
      log: createLogger("silent"),
      tls: { certFile, keyFile },
      runtime: { provider: { apiToken: undefined, ib: undefined, ignoredConnectors: [] }, startedAt: new Date(), serviceVersion: "t", gateway: () => undefined, subscriptions: () => [] },
      adapter: noInstruments,
    });
    await server.start();
    const client = new HealthClient(server.address, credentials.createSsl(certificate.cert));
    try {
      const res = await new Promise<HealthCheckResponse>((resolve, reject) =>
        client.check({ service: "" }, new Metadata(), { deadline: Date.now() + 5_000 }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(res.status).toBe(ServingStatus.SERVING);
      // A plaintext client cannot talk to it.
      const plain = new HealthClient(server.address, credentials.createInsecure());
      const failed = await new Promise<unknown>((resolve) => plain.check({ service: "" }, new Metadata(), { deadline: Date.now() + 2_000 }, (err) => resolve(err)));
      plain.close();
      expect(failed).toBeTruthy();
    } finally {
      client.close();
      await server.shutdown();
      certificate.remove();
    }
  });
});
