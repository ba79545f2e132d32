import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { request } from "node:https";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthClient, HealthCheckResponse_ServingStatus as ServingStatus, type HealthCheckResponse } from "../../gen/grpc/health/v1/health.js";
import type { RunningApp } from "../app.js";
import { selfSignedCertificate, type TestCertificate } from "../testing/selfSignedCertificate.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { readAll } from "./testing/httpGet.js";

// PROVIDER_TLS_CERT/PROVIDER_TLS_KEY: REST and gRPC both serve TLS, and the bridge reaches gRPC over it.
const TOKEN = "tls-token";
let certificate: TestCertificate;
let testApp: TestApp;
let app: RunningApp;

beforeAll(async () => {
  certificate = selfSignedCertificate();
  testApp = await startTestApp({ token: TOKEN, env: { PROVIDER_TLS_CERT: certificate.certFile, PROVIDER_TLS_KEY: certificate.keyFile } });
  app = testApp.app;
}, 30_000);

afterAll(async () => {
  await testApp?.stop();
  certificate?.remove();
});

function httpsGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return readAll((onResponse) => request(url, { headers, ca: certificate.cert, timeout: 10_000 }, onResponse));
}

describe("HTTPS", () => {
  it("serves the seed's https://localhost:8081/api/exchanges/runtime-proof call over TLS (curl, as written)", async () => {
    const { stdout: out } = await promisify(execFile)(
      "curl",
      ["-sS", "--max-time", "10", "--cacert", certificate.certFile, "-H", `Authorization: Bearer ${TOKEN}`, `https://localhost:${app.rest.port}/api/exchanges/runtime-proof`],
      { encoding: "utf8", timeout: 15_000 },
    );
    expect(JSON.parse(out)).toMatchObject({ connectorType: "ib", gatewayMode: "GATEWAY_MODE_SIMULATOR" });
  });

  it("relays RPCs to the gRPC server over TLS, verifying its certificate", async () => {
    expect(app.rest.url).toMatch(/^https:/);
    const res = await httpsGet(`https://localhost:${app.rest.port}/api/candles/ib/spot/BTCUSDT/h1?days=1`, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { candles: unknown[] }).candles.length).toBeGreaterThan(0);
  });

  it("serves gRPC over TLS with the same certificate", async () => {
    const client = new HealthClient(`localhost:${app.grpc.port}`, credentials.createSsl(certificate.cert));
    try {
      const res = await new Promise<HealthCheckResponse>((resolve, reject) =>
        client.check({ service: "" }, new Metadata(), { deadline: Date.now() + 5_000 }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(res.status).toBe(ServingStatus.SERVING);
    } finally {
      client.close();
    }
  });

  it("does not answer plain HTTP on the TLS port", async () => {
    const outcome = await fetch(`http://127.0.0.1:${app.rest.port}/api/health/live`, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.status,
      () => "refused",
    );
    expect(outcome).not.toBe(200);
  });
});
