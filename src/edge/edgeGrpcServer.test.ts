import { Client, credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusCall, CallReply } from "../bus/busRpc.js";
import { CLIENT_SCOPES, sha256 } from "../config/clientsFile.js";
import { TokenAuthenticator } from "../grpc/auth.js";
import { createLogger } from "../log/logger.js";
import { metricsRegistry } from "../metrics/metrics.js";
import { captureLog } from "../testing/logCapture.js";
import { until } from "../testing/until.js";
import { OrderServiceService } from "../../gen/ibprovider/v1/order_service.js";
import { loadDescriptorSet } from "../grpc/descriptorImage.js";
import { readRichStatus } from "../grpc/statusDetails.js";
import { errorsOfEveryMethod } from "../grpc/testing/everyMethod.js";
import { apiMethods, unaryMethodsOf } from "./callableMethods.js";
import { EdgeGrpcServer } from "./edgeGrpcServer.js";

// The edge's gRPC server alone, its forwarding to the bus replaced by a function: what it sends the provider
// (headers, deadline) and what it logs.
const identity = (b: Buffer): Buffer => b;
const METHOD = "/ibprovider.v1.SymbolService/GetSymbol";

describe("the edge's gRPC server", () => {
  const log = captureLog();
  const forwarded: BusCall[] = [];
  let answer: CallReply = { ok: true, body: Buffer.from("reply") };
  const signals: AbortSignal[] = [];
  let server: EdgeGrpcServer;
  let client: Client;

  beforeAll(async () => {
    server = new EdgeGrpcServer({
      host: "127.0.0.1",
      port: 0,
      // Every scope, trade included: OrderService's actions reach the edge's own answer, not a scope refusal.
      auth: new TokenAuthenticator([{ name: "default", tokenSha256: sha256("tok"), scopes: CLIENT_SCOPES }]),
      log: createLogger("debug", { destination: log.sink, format: "json" }),
      accessLog: true,
      methods: apiMethods(loadDescriptorSet()),
      forward: async (call, cancelled) => {
        forwarded.push(call);
        signals.push(cancelled);
        if (Buffer.from(call.body).toString() === "hold") await new Promise((resolve) => cancelled.addEventListener("abort", resolve));
        return answer;
      },
      // Streams are not asked of this server (edgeStreams.e2e.test.ts serves them from a real bus).
      feeds: {
        lease: () => Promise.resolve({ ok: false, code: 14, message: "no bus here" }),
        release: () => undefined,
        findStart: () => Promise.reject(new Error("no bus here")),
        findStartAt: () => Promise.reject(new Error("no bus here")),
        read: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("no bus here")) }) }),
        call: () => Promise.resolve({ ok: false, code: 14, message: "no bus here" }),
      },
      streamSettings: { heartbeatMs: 1_000, staleAfterMs: 0, maxDrainWaitMs: 60_000, snapshotEveryMs: 60_000 },
    });
    const port = await server.start();
    client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await server?.stop(0);
  });

  const call = (md: Metadata, deadline?: number) =>
    new Promise<Buffer | ServiceError>((resolve) => client.makeUnaryRequest(METHOD, identity, identity, Buffer.from("req"), md, deadline === undefined ? {} : { deadline }, (err, value) => resolve(err ?? value!)));
  const withToken = () => {
    const md = new Metadata();
    md.set("authorization", "Bearer tok");
    return md;
  };

  const counted = async (code: string) => {
    const metric = await metricsRegistry.getSingleMetric("ibprovider_grpc_request_duration_seconds")!.get();
    return metric.values.find((v) => (v as { metricName?: string }).metricName?.endsWith("_count") === true && v.labels.method === "ibprovider.v1.SymbolService.GetSymbol" && v.labels.code === code && v.labels.client === "default")?.value ?? 0;
  };

  it("writes an access line for each forwarded call (its client, method, status, bytes) and counts it in the latency metric, as the provider does", async () => {
    const okBefore = await counted("OK");
    const before = log.accessLines().length;
    answer = { ok: true, body: Buffer.from("reply") };
    expect(Buffer.from((await call(withToken())) as Buffer).toString()).toBe("reply");
    answer = { ok: false, code: 5, message: "no such symbol" };
    expect(((await call(withToken())) as ServiceError).code).toBe(5);
    const lines = log.accessLines<{ client: string; method: string; status: string; bytesOut: number }>().slice(before);
    expect(lines).toMatchObject([
      { client: "default", method: "ibprovider.v1.SymbolService.GetSymbol", status: "OK", bytesOut: 5 },
      { client: "default", method: "ibprovider.v1.SymbolService.GetSymbol", status: "NOT_FOUND", bytesOut: 0 },
    ]);
    expect(await counted("OK")).toBe(okBefore + 1);
  });

  it("sends the caller's deadline (none without one: the provider must not act on a deadline the caller never set) and who called", async () => {
    forwarded.length = 0;
    answer = { ok: true, body: Buffer.alloc(0) };
    await call(withToken(), Date.now() + 5_000);
    await call(withToken());
    expect(forwarded[0]!.timeoutMs).toBeGreaterThan(2_000);
    expect(forwarded[0]!.timeoutMs).toBeLessThanOrEqual(5_000);
    expect(forwarded[1]!.timeoutMs).toBeUndefined();
    expect(forwarded[0]!.headers["x-forwarded-for"]).toMatch(/127\.0\.0\.1/);
  });

  it("answers every OrderService method UNIMPLEMENTED NOT_SERVED_AT_EDGE itself (orders are placed on the provider), and the provider takes none over the bus", async () => {
    forwarded.length = 0;
    const errors = await errorsOfEveryMethod(`127.0.0.1:${server.port}`, OrderServiceService, withToken);
    expect(errors.size).toBe(Object.keys(OrderServiceService).length);
    for (const [method, err] of errors) {
      expect(err?.code, method).toBe(status.UNIMPLEMENTED);
      expect(readRichStatus(err!)?.errorInfo?.reason, method).toBe("NOT_SERVED_AT_EDGE");
    }
    expect(forwarded).toEqual([]);
    const unary = unaryMethodsOf(loadDescriptorSet());
    expect([...unary].filter((path) => path.startsWith("/ibprovider.v1.OrderService/"))).toEqual([]);
    expect(unary).toContain(METHOD);
  });

  it("tells the bus when its caller cancels a call", async () => {
    signals.length = 0;
    const pending = client.makeUnaryRequest(METHOD, identity, identity, Buffer.from("hold"), withToken(), () => undefined);
    await until(() => signals.length === 1, { what: "the call to be forwarded" });
    expect(signals[0]!.aborted).toBe(false);
    pending.cancel();
    await until(() => signals[0]!.aborted, { what: "the forwarded call to be cancelled" });
  });
});
