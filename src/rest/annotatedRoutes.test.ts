import SwaggerParser from "@apidevtools/swagger-parser";
import { credentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenAuthenticator } from "../grpc/auth.js";
import { createLogger } from "../log/logger.js";
import { RestServer } from "./restServer.js";
import { buildTestImage, startBridgeTestServer, type BridgeTestServer } from "./testing/bridgeTestService.js";
import { until } from "../testing/until.js";
import { eventCount, lineCount, readBody } from "./testing/httpStream.js";

// The bridge over a service it has no code for: bridge_test.proto, compiled by buf when the test runs.
let backend: BridgeTestServer;
let rest: RestServer;
let base: string;
const MAX_BODY = 1024;

beforeAll(async () => {
  const image = buildTestImage();
  backend = await startBridgeTestServer(image);
  rest = new RestServer({
    host: "127.0.0.1",
    port: 0,
    log: createLogger("silent"),
    descriptors: image,
    grpc: { target: `127.0.0.1:${backend.port}`, credentials: credentials.createInsecure() },
    auth: new TokenAuthenticator(undefined),
    readiness: () => ({ ready: true, detail: {} }),
    serviceVersion: "test",
    startedAt: new Date(),
    maxBodyBytes: MAX_BODY,
    corsOrigins: ["https://studio.example"],
  });
  await rest.start();
  base = rest.url;
}, 30_000);

afterAll(async () => {
  await rest.stop(1_000);
  await backend.stop();
});

const get = (path: string, init: RequestInit = {}) => fetch(base + path, { ...init, signal: init.signal ?? AbortSignal.timeout(10_000) });

describe("routes from annotations alone", () => {
  it("mounts every binding of a proto the bridge has no code for, additional_bindings included", () => {
    const mounted = rest.routes.map((r) => `${r.httpMethod} ${r.template.source} → ${r.grpcPath}`);
    expect(mounted).toEqual([
      "GET /api/test/echo/{name} → /bridgetest.v1.BridgeTestService/Echo",
      "POST /api/test/echo → /bridgetest.v1.BridgeTestService/Echo",
      "PUT /api/test/echo/{name}/note → /bridgetest.v1.BridgeTestService/Echo",
      "GET /api/test/fail/{code} → /bridgetest.v1.BridgeTestService/Fail",
      "GET /api/test/count → /bridgetest.v1.BridgeTestService/Count",
      "GET /api/test/tags → /bridgetest.v1.BridgeTestService/Tags",
    ]);
  });

  it("binds the path variable and types every query parameter, answering canonical proto3 JSON", async () => {
    const query = "small=-5&big=9007199254740993&count=7&flag=true&ratio=0.25&color=COLOR_BLUE&tags=a&tags=b&at=1714564800000&wait=1.5s&inner.label=x&inner.level=3&days=0&unknown=ignored";
    const res = await get(`/api/test/echo/caf%C3%A9%2Fbar?${query}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as { echoed: Record<string, unknown> };
    expect(body.echoed).toEqual({
      name: "café/bar",
      small: -5,
      big: "9007199254740993",
      count: 7,
      flag: true,
      ratio: 0.25,
      color: "COLOR_BLUE",
      tags: ["a", "b"],
      at: "2024-05-01T12:00:00Z",
      wait: "1.500s",
      inner: { label: "x", level: 3 },
      note: "",
      days: 0,
    });
  });

  it("emits zero values like grpc-gateway (and leaves unset optional fields out)", async () => {
    const body = (await (await get("/api/test/echo/x")).json()) as { echoed: Record<string, unknown> };
    expect(body.echoed).toMatchObject({ name: "x", small: 0, big: "0", flag: false, color: "COLOR_UNSPECIFIED", tags: [] });
    expect(body.echoed).not.toHaveProperty("days");
  });

  it("accepts lowerCamel and proto names, enum numbers, and RFC 3339 with an offset", async () => {
    const body = (await (await get("/api/test/echo/x?inner.level=2&color=1&at=2024-05-01T14:00:00%2B02:00")).json()) as { echoed: Record<string, unknown> };
    expect(body.echoed).toMatchObject({ inner: { label: "", level: 2 }, color: "COLOR_RED", at: "2024-05-01T12:00:00Z" });
  });

  it("takes the whole message from a POST body (body: \"*\"), path fields and all", async () => {
    const res = await get("/api/test/echo", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "posted", big: "12", tags: ["t"], inner: { level: 9 } }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { echoed: unknown }).echoed).toMatchObject({ name: "posted", big: "12", tags: ["t"], inner: { level: 9 } });
  });

  it("binds a single-field body (body: \"note\") beside the path variable", async () => {
    const res = await get("/api/test/echo/n1/note", { method: "PUT", body: JSON.stringify("hello") });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { echoed: unknown }).echoed).toMatchObject({ name: "n1", note: "hello" });
  });

  it("answers only the response_body field when the rule names one", async () => {
    const res = await get("/api/test/tags?tags=x&tags=y");
    expect(await res.json()).toEqual(["x", "y"]);
  });

  it("forwards Authorization, x-api-token, Grpc-Metadata-* and the HTTP peer as gRPC metadata, nothing else", async () => {
    const res = await get("/api/test/echo/m", { headers: { authorization: "Bearer abc", "x-api-token": "tok", "grpc-metadata-x-custom": "yes", cookie: "secret=1", "x-forwarded-for": "10.1.2.3" } });
    expect(((await res.json()) as { metadata: unknown }).metadata).toEqual({ authorization: "Bearer abc", "x-api-token": "tok", "x-custom": "yes", "x-forwarded-for": "10.1.2.3, 127.0.0.1" });
  });
});

describe("bad input", () => {
  const expectBadField = async (res: Response, field: string, httpStatus = 400) => {
    expect(res.status).toBe(httpStatus);
    const body = (await res.json()) as { code: number; message: string; details: { "@type": string; fieldViolations?: { field: string }[] }[] };
    expect(body.code).toBe(status.INVALID_ARGUMENT);
    expect(body.message).toContain(field);
    const badRequest = body.details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.BadRequest");
    expect(badRequest?.fieldViolations?.[0]?.field).toBe(field);
  };

  it.each([
    ["small=abc", "small"],
    ["small=99999999999", "small"],
    ["count=-1", "count"],
    ["big=1.5", "big"],
    ["flag=maybe", "flag"],
    ["ratio=lots", "ratio"],
    ["color=GREEN", "color"],
    ["at=yesterday", "at"],
    ["wait=5", "wait"],
    ["inner=x", "inner"],
    ["small=1&small=2", "small"],
    ["inner.level=high", "inner.level"],
  ])("answers 400 naming the query parameter for %s", async (query, field) => {
    await expectBadField(await get(`/api/test/echo/x?${query}`), field);
  });

  it("answers 400 naming a path variable of the wrong type", async () => {
    await expectBadField(await get("/api/test/fail/notanumber"), "code");
  });

  it("answers 400 for a malformed JSON body", async () => {
    const res = await get("/api/test/echo", { method: "POST", headers: { "content-type": "application/json" }, body: "{\"name\": " });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: number; message: string };
    expect(body.code).toBe(status.INVALID_ARGUMENT);
    expect(body.message).toMatch(/malformed JSON/);
  });

  it("answers 400 for a body that is JSON but not the message", async () => {
    const res = await get("/api/test/echo", { method: "POST", body: JSON.stringify({ small: "many" }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain("small");
  });

  it("answers 413 for a body over the limit, declared or streamed", async () => {
    const big = JSON.stringify({ name: "x".repeat(MAX_BODY * 2) });
    const declared = await get("/api/test/echo", { method: "POST", body: big });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { code: number }).code).toBe(status.RESOURCE_EXHAUSTED);
    // Chunked, no Content-Length: the body parser stops at the limit.
    const chunked = await get("/api/test/echo", {
      method: "POST",
      body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(big)), c.close()) }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it("answers 404 with a google.rpc.Status for an unknown route", async () => {
    const res = await get("/api/test/nowhere");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: status.NOT_FOUND, message: "no route for GET /api/test/nowhere" });
  });

  it("answers 405 with Allow for a known path and another method", async () => {
    const res = await get("/api/test/count", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    expect(await res.json()).toMatchObject({ code: status.UNIMPLEMENTED, message: expect.stringContaining("not allowed") });
  });

  it("answers 400 for a malformed percent-encoding in the path", async () => {
    const res = await get("/api/test/echo/%E0%A4%A");
    expect(res.status).toBe(400);
  });

  it("answers 400 for a token header gRPC metadata cannot carry", async () => {
    const res = await get("/api/test/echo/x", { headers: { authorization: "Bearer caf\u00e9" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain("authorization");
  });

  it("answers 405 to HEAD (GET routes only)", async () => {
    expect((await get("/api/test/echo/x", { method: "HEAD" })).status).toBe(405);
  });

  it("stays up after all of that", async () => {
    expect((await get("/api/health/live")).status).toBe(200);
  });
});

describe("gRPC status → HTTP status (grpc-gateway's table)", () => {
  const table: [string, number, number][] = [
    ["OK", status.OK, 200],
    ["CANCELLED", status.CANCELLED, 499],
    ["UNKNOWN", status.UNKNOWN, 500],
    ["INVALID_ARGUMENT", status.INVALID_ARGUMENT, 400],
    ["DEADLINE_EXCEEDED", status.DEADLINE_EXCEEDED, 504],
    ["NOT_FOUND", status.NOT_FOUND, 404],
    ["ALREADY_EXISTS", status.ALREADY_EXISTS, 409],
    ["PERMISSION_DENIED", status.PERMISSION_DENIED, 403],
    ["RESOURCE_EXHAUSTED", status.RESOURCE_EXHAUSTED, 429],
    ["FAILED_PRECONDITION", status.FAILED_PRECONDITION, 400],
    ["ABORTED", status.ABORTED, 409],
    ["OUT_OF_RANGE", status.OUT_OF_RANGE, 400],
    ["UNIMPLEMENTED", status.UNIMPLEMENTED, 501],
    ["INTERNAL", status.INTERNAL, 500],
    ["UNAVAILABLE", status.UNAVAILABLE, 503],
    ["DATA_LOSS", status.DATA_LOSS, 500],
    ["UNAUTHENTICATED", status.UNAUTHENTICATED, 401],
  ];
  it.each(table)("%s (code %i) answers HTTP %i with {code, message, details}", async (_name, code, httpStatus) => {
    const res = await get(`/api/test/fail/${code}`);
    expect(res.status).toBe(httpStatus);
    const body = (await res.json()) as Record<string, unknown>;
    if (code === status.OK) {
      expect(body).toEqual({});
      return;
    }
    expect(body).toEqual({
      code,
      message: `failing with code ${code} as asked`,
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "TEST_FAILURE", domain: "ib-provider", metadata: { code: String(code) } }],
    });
  });

  it("turns Grpc-Timeout into a deadline", async () => {
    const res = await get("/api/test/count?count=1&hold=true", { headers: { "grpc-timeout": "200m" } });
    // The stream started (200), then the deadline ended it: the last line is the error.
    const { text } = await readBody(res, (t) => t.includes("error"), 5_000);
    expect(JSON.parse(text.trim().split("\n").pop()!)).toMatchObject({ error: { code: status.DEADLINE_EXCEEDED } });
  });
});

describe("server streams over HTTP", () => {
  it("delivers NDJSON {result} lines and ends with the stream", async () => {
    const res = await get("/api/test/count?count=3");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const { text, ended } = await readBody(res, () => false);
    expect(ended).toBe(true);
    expect(text.trim().split("\n").map((l) => JSON.parse(l))).toEqual([
      { result: { n: 1, big: "10000000000", padding: "" } },
      { result: { n: 2, big: "20000000000", padding: "" } },
      { result: { n: 3, big: "30000000000", padding: "" } },
    ]);
  });

  it("ends with an {error} line when the stream fails after data (status stays 200)", async () => {
    const res = await get(`/api/test/count?count=2&failCode=${status.RESOURCE_EXHAUSTED}`);
    expect(res.status).toBe(200);
    const { text } = await readBody(res, () => false);
    const lines = text.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ error: { code: status.RESOURCE_EXHAUSTED, message: "the count failed as asked", details: [{ reason: "TEST_FAILURE" }] } });
  });

  it("answers a plain HTTP error when the stream fails before any message", async () => {
    const res = await get(`/api/test/count?count=0&failCode=${status.PERMISSION_DENIED}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it("NDJSON: delivers several messages, and a client disconnect cancels the gRPC stream at once", async () => {
    const before = backend.countStreams.length;
    const controller = new AbortController();
    const res = await fetch(`${base}/api/test/count?count=5&hold=true`, { signal: controller.signal });
    const { text } = await readBody(res, lineCount(5));
    expect(text.split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { result: { n: number } }).result.n)).toEqual([1, 2, 3, 4, 5]);
    const record = backend.countStreams[before]!;
    expect(record.cancelled).toBe(false);
    const aborted = Date.now();
    controller.abort();
    await Promise.race([record.ended, new Promise((_, reject) => setTimeout(() => reject(new Error("gRPC stream not cancelled")), 2_000))]);
    expect(record.cancelled).toBe(true);
    expect(Date.now() - aborted).toBeLessThan(1_000);
  });

  it("SSE: Accept: text/event-stream gets data events, and a disconnect cancels the gRPC stream", async () => {
    const before = backend.countStreams.length;
    const controller = new AbortController();
    const res = await fetch(`${base}/api/test/count?count=4&hold=true`, { signal: controller.signal, headers: { accept: "text/event-stream" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const { text } = await readBody(res, eventCount(4));
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events.map((e) => JSON.parse(e.replace(/^data: /, "")) as { n: number }).map((m) => m.n)).toEqual([1, 2, 3, 4]);
    controller.abort();
    const record = backend.countStreams[before]!;
    await Promise.race([record.ended, new Promise((_, reject) => setTimeout(() => reject(new Error("gRPC stream not cancelled")), 2_000))]);
    expect(record.cancelled).toBe(true);
  });

  it("SSE: a failure after data is an `error` event with the status", async () => {
    const res = await get(`/api/test/count?count=1&failCode=${status.UNAVAILABLE}`, { headers: { accept: "text/event-stream" } });
    const { text } = await readBody(res, () => false);
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events).toHaveLength(2);
    expect(events[1]).toMatch(/^event: error\ndata: /);
    expect(JSON.parse(events[1]!.split("\n")[1]!.slice("data: ".length))).toMatchObject({ code: status.UNAVAILABLE });
  });

  it("holds the gRPC stream back while the HTTP client does not read (backpressure end to end)", async () => {
    const before = backend.countStreams.length;
    const controller = new AbortController();
    // 40 MB in all: loopback socket buffers (up to ~10 MB with Linux autotuning) plus gRPC's
    // BDP-grown window hold ~12 MB before the writer feels it, so the stall must come well before.
    const total = 20_000;
    const res = await fetch(`${base}/api/test/count?count=${total}&respectBackpressure=true&paddingBytes=2000`, { signal: controller.signal });
    expect(res.status).toBe(200);
    await until(() => backend.countStreams[before] !== undefined, { timeoutMs: 2_000, what: "stream started" });
    const record = backend.countStreams[before]!;
    // Not reading: the server's writes stall once the socket, HTTP/2 window and buffers are full
    // (no progress for half a second; a busy machine may pause the flow briefly before that).
    let last = -1;
    let since = Date.now();
    await until(() => {
      if (record.written !== last) {
        last = record.written;
        since = Date.now();
      }
      return record.written > 0 && Date.now() - since >= 500;
    }, { timeoutMs: 10_000, what: "writes stalled" });
    expect(record.written).toBeLessThan(total * 0.75);
    // Reading resumes the flow until the end.
    const { text, ended } = await readBody(res, () => false, 20_000);
    expect(ended).toBe(true);
    expect(text.split("\n").filter((l) => l !== "").length).toBe(total);
  });

  it("keeps many concurrent streams apart", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await get(`/api/test/count?count=${i + 1}`);
        const { text } = await readBody(res, () => false);
        return text.trim().split("\n").length;
      }),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin without a token", async () => {
    const res = await get("/api/test/echo/x", { method: "OPTIONS", headers: { origin: "https://studio.example", "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://studio.example");
    expect(res.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
  });

  it("lets an allowed origin's page read Retry-After", async () => {
    const res = await get("/api/test/echo/x", { headers: { origin: "https://studio.example" } });
    expect(res.headers.get("access-control-expose-headers")).toBe("Retry-After");
  });

  it("gives other origins no CORS headers", async () => {
    const res = await get("/api/test/echo/x", { headers: { origin: "https://evil.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("OpenAPI", () => {
  it("documents every annotated binding of the test proto, with its comments and typed parameters", async () => {
    const doc = (await (await get("/api/docs-json")).json()) as {
      paths: Record<string, Record<string, { operationId: string; summary: string; parameters: { name: string; in: string; schema: Record<string, unknown> }[] }>>;
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/test/echo/{name}", "/api/test/echo", "/api/test/echo/{name}/note", "/api/test/fail/{code}", "/api/test/count", "/api/test/tags"]));
    const echo = doc.paths["/api/test/echo/{name}"]!.get!;
    expect(echo.summary).toBe("Echoes the request it received, with the metadata the bridge forwarded.");
    expect(echo.parameters.find((p) => p.name === "name")).toMatchObject({ in: "path" });
    expect(echo.parameters.find((p) => p.name === "big")).toMatchObject({ in: "query", schema: { type: "string", format: "int64" } });
    expect(echo.parameters.find((p) => p.name === "inner.level")).toMatchObject({ in: "query", schema: { type: "integer" } });
    expect(echo.parameters.find((p) => p.name === "color")?.schema).toMatchObject({ type: "string", enum: ["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_BLUE"] });
    expect(doc.paths["/api/test/echo"]!.post!.operationId).toBe("BridgeTestService_Echo2");
  });

  it("stays valid OpenAPI 3 with request bodies, response_body, maps and streams", async () => {
    const doc = (await (await get("/api/docs-json")).json()) as object;
    await expect(SwaggerParser.validate(doc as never)).resolves.toBeDefined();
  });
});

describe("isolation", () => {
  it("keeps answering other requests while a stream is held open", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/test/count?count=1&hold=true`, { signal: controller.signal });
    await readBody(res, lineCount(1));
    await until(async () => (await get("/api/health/live")).status === 200, { timeoutMs: 2_000, what: "health answers" });
    controller.abort();
  });
});
