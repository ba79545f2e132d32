import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus, HealthClient } from "../../gen/grpc/health/v1/health.js";
import { SymbolServiceClient } from "../../gen/ibprovider/v1/symbol_service.js";
import { loadConfig } from "../config/loadConfig.js";
import { readRichStatus } from "../grpc/statusDetails.js";
import { createLogger } from "../log/logger.js";
import { SERVICE_VERSION } from "../config/serviceVersion.js";
import { fetchOnce } from "../testing/fetchOnce.js";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { startEdge, type RunningEdge } from "./edgeApp.js";

// The edge role end to end: a real nats-server -js, the provider (the service on the simulator with
// BUS_URL) and an edge (no IB connection) in this process, each on its own loopback ports. The same calls
// asked of both must get the same answers, errors with the same reasons.
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

const TOKEN = "edge-e2e-token";

describe.skipIf(!verdict.run)("an edge serves the API from the provider over the bus", () => {
  let nats: NatsServer;
  let provider: TestApp;
  let edge: RunningEdge;
  const auth = new Metadata();
  auth.set("authorization", `Bearer ${TOKEN}`);

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    nats = await startNatsServer();
    provider = await startTestApp({ token: TOKEN, env: { BUS_URL: nats.url, BUS_SUBJECT_PREFIX: "edgee2e" } });
    const config = loadConfig({ env: { BUS_URL: nats.url, BUS_SUBJECT_PREFIX: "edgee2e", PROVIDER_API_TOKEN: TOKEN, GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", REST_HOST: "127.0.0.1", REST_PORT: "0" } });
    edge = await startEdge(config, SERVICE_VERSION, createLogger("silent"));
  }, 30_000);

  afterAll(async () => {
    await edge?.stop();
    await provider?.stop();
    await nats?.close();
  });

  const symbols = (address: string) => new SymbolServiceClient(address, credentials.createInsecure());
  const getSymbol = (client: SymbolServiceClient, symbol: string, md = auth) =>
    new Promise<unknown>((resolve, reject) => client.getSymbol({ connectorType: "ib", marketType: "spot", symbol }, md, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))));

  it("answers a unary call as the provider does", async () => {
    const [atProvider, atEdge] = await Promise.all([getSymbol(symbols(provider.grpcAddress), "AAPL"), getSymbol(symbols(`127.0.0.1:${edge.grpc.port}`), "AAPL")]);
    expect(atEdge).toEqual(atProvider);
    expect(atEdge).toMatchObject({ symbol: { name: "AAPL" } });
  });

  it("passes the provider's errors on with their reasons, and refuses a wrong token at the edge itself", async () => {
    const failure = (address: string, md = auth) => getSymbol(symbols(address), "NOSUCH1", md).then(() => undefined, (err: ServiceError) => err);
    const [atProvider, atEdge] = await Promise.all([failure(provider.grpcAddress), failure(`127.0.0.1:${edge.grpc.port}`)]);
    expect(atEdge?.code).toBe(atProvider?.code);
    expect(atEdge?.details).toBe(atProvider?.details);
    expect(readRichStatus(atEdge!)?.errorInfo?.reason).toBe("SYMBOL_NOT_FOUND");
    const wrong = new Metadata();
    wrong.set("authorization", "Bearer not-the-token");
    const refused = await failure(`127.0.0.1:${edge.grpc.port}`, wrong);
    expect(readRichStatus(refused!)?.errorInfo?.reason).toBe("INVALID_TOKEN");
  });

  it("serves the REST bridge, unary routes and streams (SSE) alike", async () => {
    const res = await fetchOnce(`${edge.rest.url}/api/symbols/ib/spot/AAPL`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ symbol: { name: "AAPL" } });
    expect(await (await fetchOnce(`${edge.rest.url}/api/health/ready`)).json()).toMatchObject({ status: "ok", role: "edge", bus: { connected: true } });
    const controller = new AbortController();
    const stream = await fetch(`${edge.rest.url}/api/ticks/ib/spot/BTCUSDT/stream`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: controller.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let text = "";
    try {
      while (!/"sequence":"[1-9]/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    } finally {
      controller.abort();
    }
    expect(text).toContain("STREAM_STATUS_KIND_SUBSCRIBED");
  }, 20_000);

  it("answers grpc.health.v1 without a token: SERVING while its bus is up, NOT_SERVING while it is away, SERVING again after", async () => {
    const health = new HealthClient(`127.0.0.1:${edge.grpc.port}`, credentials.createInsecure());
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        health.check({ service }, new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(HealthCheckResponse_ServingStatus[res!.status]))),
      );
    try {
      expect(await check("")).toBe("SERVING");
      expect(await check("ibprovider.v1.SymbolService")).toBe("SERVING");
      await nats.stop();
      await until(async () => (await check("ibprovider.v1.SymbolService")) === "NOT_SERVING", { what: "the edge's services NOT_SERVING with the bus away", timeoutMs: 10_000 });
      await nats.restart();
      await until(async () => (await check("ibprovider.v1.SymbolService")) === "SERVING", { what: "the edge's services SERVING with the bus back", timeoutMs: 15_000 });
    } finally {
      health.close();
    }
  }, 40_000);
});
