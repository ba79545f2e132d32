import { readdirSync, readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { eventCount, lineCount, readBody } from "./testing/httpStream.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";

// The whole service (config → simulator → adapter → gRPC → REST bridge) over real HTTP on loopback.
const TOKEN = "rest-token";
let testApp: TestApp;
let app: RunningApp;
let base: string;
let stopped = false;
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  testApp = await startTestApp({ token: TOKEN });
  app = testApp.app;
  base = app.rest.url;
}, 30_000);

afterAll(async () => {
  if (!stopped) await testApp?.stop();
});

const get = (path: string, headers: Record<string, string> = auth, init: RequestInit = {}) =>
  fetch(base + path, { headers, signal: AbortSignal.timeout(15_000), ...init });
const json = async <T = Record<string, unknown>>(path: string, headers?: Record<string, string>): Promise<{ status: number; body: T }> => {
  const res = await get(path, headers);
  return { status: res.status, body: (await res.json()) as T };
};

describe("the seed's calls work as written", () => {
  it("GET /api/exchanges/runtime-proof says which Gateway is live", async () => {
    const { status: code, body } = await json("/api/exchanges/runtime-proof");
    expect(code).toBe(200);
    expect(body).toMatchObject({
      connectorType: "ib",
      gatewayMode: "GATEWAY_MODE_SIMULATOR",
      gatewayAddress: `127.0.0.1:${app.simulator!.port}`,
      connectionState: "CONNECTION_STATE_CONNECTED",
      serverVersion: 176,
      isPaper: true,
      reconnectCount: 0,
    });
    expect(body.uptime).toMatch(/^\d+(\.\d+)?s$/);
    expect(Date.parse(body.startedAt as string)).not.toBeNaN();
  });

  it("GET /api/candles/ib/spot/BTCUSDT/h1?days=7 answers a week of hourly candles, ascending, decimals as strings", async () => {
    const { status: code, body } = await json<{ candles: { time: string; open: string; interval: string; tradeCount: string }[]; instrument: { name: string } }>(
      "/api/candles/ib/spot/BTCUSDT/h1?days=7",
    );
    expect(code).toBe(200);
    expect(body.candles.length).toBeGreaterThan(24 * 6);
    expect(body.candles.length).toBeLessThanOrEqual(24 * 7 + 1);
    expect(body.candles[0]).toMatchObject({ interval: "h1", open: expect.stringMatching(/^\d+(\.\d+)?$/), tradeCount: expect.stringMatching(/^\d+$/) });
    const times = body.candles.map((c) => Date.parse(c.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(body.instrument.name).toBe("BTCUSDT");
  });

  it("takes from/to as unix milliseconds, as Barfinex does", async () => {
    const to = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 24 * 3_600_000; // yesterday, on the hour
    const from = to - 6 * 3_600_000;
    const { status: code, body } = await json<{ candles: { time: string }[] }>(`/api/candles/ib/spot/BTCUSDT/h1?from=${from}&to=${to}`);
    expect(code).toBe(200);
    expect(body.candles.map((c) => c.time)).toEqual(Array.from({ length: 6 }, (_, i) => new Date(from + i * 3_600_000).toISOString().replace(".000Z", "Z")));
  });

  it.each([
    ["/api/trades/ib/spot/BTCUSDT?limit=5", "trades"],
    ["/api/orderbook/ib/spot/BTCUSDT", "orderBook"],
    ["/api/account/ib/spot", "account"],
    ["/api/accounts/ib/spot", "account"],
    ["/api/accounts/ib/spot/positions", "positions"],
    ["/api/accounts", "accounts"],
    ["/api/symbols/ib/spot", "symbols"],
    ["/api/symbols/ib/spot/BTCUSDT", "symbol"],
    ["/api/assets/ib/spot", "assets"],
    ["/api/connectors", "connectors"],
    ["/api/connectors/ib/spot", "connectors"],
    ["/api/subscriptions", "subscriptions"],
  ])("GET %s answers 200 with %s", async (path, key) => {
    const { status: code, body } = await json(path);
    expect(code).toBe(200);
    expect(body).toHaveProperty(key);
  });

  it("serves the seed's /api/account/ib/... and /api/accounts/ib/... as the same RPC", async () => {
    const a = await json<{ account: unknown }>("/api/account/ib/margin");
    const b = await json<{ account: unknown }>("/api/accounts/ib/margin");
    expect(a.body.account).toMatchObject({ marketType: "margin", accountId: (b.body.account as { accountId: string }).accountId });
  });

  it("says what BTCUSDT is at IB", async () => {
    const { body } = await json<{ symbol: Record<string, unknown> }>("/api/symbols/ib/spot/BTCUSDT");
    expect(body.symbol).toMatchObject({ name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USD", secType: "CRYPTO", exchange: "PAXOS", conId: "479624278" });
  });
});

describe("errors are the gRPC ones", () => {
  it("401 without a token, naming both headers", async () => {
    const { status: code, body } = await json<{ code: number; message: string; details: { reason: string }[] }>("/api/exchanges/runtime-proof", {});
    expect(code).toBe(401);
    expect(body.code).toBe(status.UNAUTHENTICATED);
    expect(body.message).toContain("x-api-token");
    expect(body.details[0]!.reason).toBe("MISSING_TOKEN");
  });

  it("401 with a wrong token", async () => {
    const { status: code, body } = await json<{ message: string }>("/api/exchanges/runtime-proof", { authorization: "Bearer wrong" });
    expect(code).toBe(401);
    expect(body.message).toBe("invalid provider API token");
  });

  it("401 comes before any complaint about the request itself", async () => {
    expect((await json("/api/candles/ib/spot/BTCUSDT/h1?days=seven", { authorization: "Bearer wrong" })).status).toBe(401);
  });

  it("accepts x-api-token and a bare token in Authorization", async () => {
    expect((await get("/api/exchanges/runtime-proof", { "x-api-token": TOKEN })).status).toBe(200);
    expect((await get("/api/exchanges/runtime-proof", { authorization: TOKEN })).status).toBe(200);
  });

  it("400 naming the interval the handler refuses", async () => {
    const { status: code, body } = await json<{ message: string; details: { "@type": string; fieldViolations?: { field: string }[] }[] }>("/api/candles/ib/spot/BTCUSDT/h3");
    expect(code).toBe(400);
    expect(body.message).toContain("interval");
    expect(body.details.some((d) => d["@type"] === "type.googleapis.com/google.rpc.BadRequest")).toBe(true);
  });

  it("400 naming a query parameter of the wrong type, before any IB request", async () => {
    const { status: code, body } = await json<{ message: string }>("/api/candles/ib/spot/BTCUSDT/h1?days=seven");
    expect(code).toBe(400);
    expect(body.message).toBe('invalid days: expected an unsigned 32-bit integer (got "seven")');
  });

  it.each([
    ["a month 13, day 45, hour 99 time", "2024-13-45T99:99:99Z"],
    ["February 30", "2023-02-30"],
    ["unix milliseconds beyond the year 9999", "999999999999999"],
  ])("400 naming the field for %s", async (_what, from) => {
    const { status: code, body } = await json<{ message: string }>(`/api/candles/ib/spot/BTCUSDT/h1?from=${from}`);
    expect(code).toBe(400);
    expect(body.message).toMatch(/^invalid from: /);
  });

  it("404 for a symbol IB does not know", async () => {
    const { status: code, body } = await json<{ code: number }>("/api/symbols/ib/spot/NOSUCHSYM");
    expect(code).toBe(404);
    expect(body.code).toBe(status.NOT_FOUND);
  });

  it("404 JSON for an unknown route and 405 for a wrong method", async () => {
    expect((await json("/api/nothing-here")).status).toBe(404);
    const res = await get("/api/exchanges/runtime-proof", auth, { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    const ops = await get("/api/health/live", {}, { method: "DELETE" });
    expect(ops.status).toBe(405);
  });
});

describe("operations endpoints", () => {
  it("GET /api/health/live needs no token", async () => {
    const { status: code, body } = await json<{ status: string; timestamp: string; uptimeSec: number }>("/api/health/live", {});
    expect(code).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.uptimeSec).toBeGreaterThanOrEqual(0);
  });

  it("GET /api/health/ready is 200 while the Gateway is connected, without a token", async () => {
    const { status: code, body } = await json("/api/health/ready", {});
    expect(code).toBe(200);
    expect(body).toMatchObject({ status: "ok", gateway: { mode: "simulator", state: "connected" } });
  });

  it("GET /api/metrics is Prometheus text with IB, subscription and REST metrics, behind the token", async () => {
    expect((await get("/api/metrics", {})).status).toBe(401);
    const res = await get("/api/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (line: RegExp) => Number(text.split("\n").find((l) => line.test(l))?.split(" ").pop());
    expect(value(/^ibprovider_ib_messages_in_total /)).toBeGreaterThan(0);
    expect(value(/^ibprovider_ib_messages_out_total /)).toBeGreaterThan(0);
    expect(value(/^ibprovider_ib_connected /)).toBe(1);
    expect(value(/^ibprovider_ib_subscriptions\{kind="candle"\} /)).toBeGreaterThanOrEqual(2);
    expect(value(/^ibprovider_ib_subscription_consumers\{kind="orderBook"\} /)).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^ibprovider_ib_outbound_queue_length \d+/m);
    expect(text).toMatch(/^ibprovider_http_request_duration_seconds_count\{method="GET",route="\/api\/exchanges\/runtime-proof",status="200"\} \d+/m);
    expect(text).toContain("# TYPE ibprovider_stream_messages_out_total counter");
    expect(text).toContain("process_cpu_seconds_total");
  });
});

describe("OpenAPI and docs", () => {
  /** Annotated RPCs read from the .proto sources themselves, independently of the bridge. */
  function annotatedRpcs(): string[] {
    const dir = new URL("../../proto/ibprovider/v1/", import.meta.url);
    const out: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".proto"))) {
      const source = readFileSync(new URL(file, dir), "utf8");
      const service = /service (\w+) \{/.exec(source)?.[1];
      for (const m of source.matchAll(/rpc (\w+)\([^)]*\) returns \([^)]*\) \{\s*option \(google\.api\.http\)/g)) out.push(`${service}_${m[1]}`);
    }
    return out;
  }

  it("GET /api/docs-json lists every annotated RPC, without a token", async () => {
    const { status: code, body } = await json<{ openapi: string; paths: Record<string, Record<string, { operationId: string; description: string }>> }>("/api/docs-json", {});
    expect(code).toBe(200);
    expect(body.openapi).toBe("3.0.3");
    const operationIds = Object.values(body.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    const rpcs = annotatedRpcs();
    expect(rpcs.length).toBeGreaterThanOrEqual(17);
    for (const rpc of rpcs) expect(operationIds).toContain(rpc);
    expect(body.paths["/api/candles/{connector_type}/{market_type}/{symbol}/{interval}"]!.get!.description).toContain("default window is 6 hours");
    expect(body.paths["/api/ticks/{connector_type}/{market_type}/{symbol}/stream"]!.get!.description).toContain("Server-Sent Events");
  });

  it("the document is valid OpenAPI 3 (schema and references)", async () => {
    const { body } = await json<object>("/api/docs-json", {});
    await expect(SwaggerParser.validate(structuredClone(body) as never)).resolves.toBeDefined();
  });

  it("GET /api/docs is a Swagger UI page whose assets come from this server", async () => {
    const page = await get("/api/docs", {});
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("/api/docs/swagger-ui-bundle.js");
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/api/docs/ib-provider-init.js"]) {
      const res = await get(asset, {});
      expect(res.status, asset).toBe(200);
      await res.arrayBuffer();
    }
  });
});

describe("live streams over HTTP", () => {
  const tickConsumers = async () => {
    const { body } = await json<{ subscriptions: { kind: string; symbol: string; consumers: number }[] }>("/api/subscriptions");
    return body.subscriptions.find((s) => s.kind === "SUBSCRIPTION_KIND_TICK" && s.symbol === "EURUSD")?.consumers ?? 0;
  };

  it("NDJSON: StreamTicks delivers several messages, and a disconnect releases the IB subscription", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/ticks/ib/spot/EURUSD/stream`, { headers: auth, signal: controller.signal });
    expect(res.status).toBe(200);
    const { text } = await readBody(res, lineCount(3));
    const lines = text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { result: { events: unknown[] } });
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines[0]!.result.events[0]).toMatchObject({ status: { kind: "STREAM_STATUS_KIND_SUBSCRIBED" } });
    expect(await tickConsumers()).toBe(1);
    controller.abort();
    await until(async () => (await tickConsumers()) === 0, { what: "the tick subscription released" });
  });

  it("SSE: StreamTrades delivers events to Accept: text/event-stream", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/trades/ib/spot/BTCUSDT/stream`, { headers: { ...auth, accept: "text/event-stream" }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const { text } = await readBody(res, eventCount(3));
    controller.abort();
    const events = text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => JSON.parse(e.slice(6)) as { events: unknown[] });
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events.flatMap((e) => e.events).some((e) => typeof e === "object" && e !== null && "trade" in e)).toBe(true);
  });

  it("POST /api/store/backfill takes a JSON body and streams NDJSON progress lines, then the summary", async () => {
    const to = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 50 * 86_400_000;
    const res = await fetch(`${base}/api/store/backfill`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ connectorType: "ib", marketType: "spot", symbols: ["BTCUSDT", "NOSUCHSYM"], interval: "h1", days: 2, to: new Date(to).toISOString() }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(res.status).toBe(200);
    const { text, ended } = await readBody(res, () => false);
    expect(ended).toBe(true);
    const lines = text.trim().split("\n").map((l) => JSON.parse(l) as { result: { progress?: { requestsDone: number; requestsPlanned: number }; summary?: Record<string, unknown> } });
    expect(lines.at(-2)!.result.progress).toMatchObject({ requestsDone: 1, requestsPlanned: 1, barsStored: "48" });
    expect(lines.at(-1)!.result.summary).toMatchObject({
      requestsSent: 1,
      barsStored: "48",
      failedSymbols: 1,
      symbols: [
        { symbol: "BTCUSDT", bars: "48", requestsSent: 1 },
        { symbol: "NOSUCHSYM", failure: { code: "NOT_FOUND", reason: "SYMBOL_NOT_FOUND" } },
      ],
    });
  });

  it("a stream refused by the server is a plain HTTP error", async () => {
    const res = await get("/api/ticks/ib/spot/BTCUSDT/stream", {});
    expect(res.status).toBe(401);
  });

  it("on shutdown, an open stream ends with an UNAVAILABLE error line", async () => {
    const res = await fetch(`${base}/api/orderbook/ib/spot/BTCUSDT/stream`, { headers: auth, signal: AbortSignal.timeout(15_000) });
    await readBody(res, lineCount(1));
    const stopping = testApp.stop();
    stopped = true;
    const { text } = await readBody(res, () => false, 10_000);
    await stopping;
    const last = JSON.parse(text.trim().split("\n").pop()!) as { error?: { code: number; message: string } };
    expect(last.error).toMatchObject({ code: status.UNAVAILABLE, message: expect.stringContaining("shutting down") });
  });
});
