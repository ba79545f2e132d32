import { createRegistry, fromBinary, fromJson, toBinary, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dec } from "../domain/decimal.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { candlesCsvRenderer } from "./csvCandles.js";
import { jsonChunks, pagedResponse } from "./pagedResponse.js";
import { LARGE_ANSWER_BYTES } from "./rpcGateway.js";
import { RpcChannel } from "./rpcChannel.js";
import { fetchOnce } from "../testing/fetchOnce.js";

// Large unary answers over real HTTP: the whole service on the simulator, the candles put in its store
// directly (asking the simulator for 100k bars would take minutes of IB pacing).
const GET_CANDLES = "/ibprovider.v1.MarketDataService/GetCandles";
const MINUTE = 60_000;
// Settled minutes long past: the store answers them whole, no IB request is made.
const END = Date.UTC(2026, 0, 1);
const LARGE = 20_000; // ≈ 1.7 MB of protobuf: above LARGE_ANSWER_BYTES, four pages
const HUGE = 100_000; // ≈ 8.5 MB: ≈ 0.8 s (JSON) and 1.1 s (CSV) of one event-loop turn when converted whole

let testApp: TestApp;
let base: string;
let channel: RpcChannel;

beforeAll(async () => {
  testApp = await startTestApp();
  base = testApp.app.rest.url;
  channel = new RpcChannel(testApp.grpcAddress, credentials.createInsecure());
  const { symbol } = (await (await get("/api/symbols/ib/spot/BTCUSDT")).json()) as { symbol: { conId: string } };
  const fromMs = END - HUGE * MINUTE;
  const bars = Array.from({ length: HUGE }, (_, i) => {
    const price = 40_000 + (i % 977) * 0.25;
    return { startMs: fromMs + i * MINUTE, open: dec(price), high: dec(price + 1.5), low: dec(price - 0.75), close: dec(price + 0.5), volume: dec(`${i % 31}.125`), count: i % 50, complete: true };
  });
  const key = { conId: Number(symbol.conId), interval: "min1" as const, whatToShow: "AGGTRADES", rth: false, symbol: "BTCUSDT", timeZone: "UTC" };
  await testApp.app.store.candles.write(key, bars, { covered: { fromMs, toMs: END } }, Date.now());
}, 60_000);

afterAll(async () => {
  channel?.close();
  await testApp?.stop();
});

const get = (path: string, headers: Record<string, string> = {}) => fetchOnce(base + path, { headers, signal: AbortSignal.timeout(30_000) });
const windowOf = (count: number) => `/api/candles/ib/spot/BTCUSDT/min1?from=${new Date(END - count * MINUTE).toISOString()}&to=${END}`;

/** The gRPC answer's bytes for the same window, and what the bridge made of them before it paged: JSON converted whole. */
async function grpcAnswer(count: number) {
  const route = testApp.app.rest.routes.find((r) => r.grpcPath === GET_CANDLES)!;
  const requestJson = { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", interval: "min1", from: new Date(END - count * MINUTE).toISOString(), to: new Date(END).toISOString() };
  const request = Buffer.from(toBinary(route.method.input, fromJson(route.method.input, requestJson)));
  const bytes = await channel.unary(GET_CANDLES, request, new Metadata(), {}).response;
  const registry = createRegistry(route.method.parent.file);
  const output = route.method.output;
  const whole = toJson(output, fromBinary(output, bytes), { registry, alwaysEmitImplicit: true }) as JsonObject;
  return { bytes, output, registry, whole, request: requestJson as JsonObject };
}

async function textOf(chunks: AsyncIterable<string>): Promise<string> {
  let text = "";
  for await (const chunk of chunks) text += chunk;
  return text;
}

describe("a large unary answer over REST", () => {
  it("is the very JSON text the whole conversion gives, written in pages", async () => {
    const { bytes, whole } = await grpcAnswer(LARGE);
    expect(bytes.length).toBeGreaterThan(LARGE_ANSWER_BYTES);
    expect((whole.candles as JsonValue[]).length).toBe(LARGE);
    const res = await get(windowOf(LARGE));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(await res.text()).toBe(JSON.stringify(whole));
  }, 60_000);

  it("leaves a small answer as it was: whole, with a Content-Length, the same text", async () => {
    const { bytes, whole } = await grpcAnswer(120);
    expect(bytes.length).toBeLessThan(LARGE_ANSWER_BYTES);
    const res = await get(windowOf(120));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).not.toBeNull();
    expect(await res.text()).toBe(JSON.stringify(whole));
  }, 30_000);

  it("pages any list at any page size, and a response_body field alone, as JSON.stringify writes them", async () => {
    const { bytes, output, registry, whole } = await grpcAnswer(3_001);
    for (const pageSize of [1, 7, 3_000, 5_000]) {
      const paged = pagedResponse(output, bytes, registry, pageSize)!;
      expect(paged.lists.get("candles")!.length).toBe(3_001);
      expect(await textOf(jsonChunks(paged)), `pages of ${pageSize}`).toBe(JSON.stringify(whole));
      expect(await textOf(jsonChunks(paged, "candles"))).toBe(JSON.stringify(whole.candles));
      expect(await textOf(jsonChunks(paged, "instrument"))).toBe(JSON.stringify(whole.instrument));
    }
    const empty = pagedResponse(output, new Uint8Array(0), registry)!;
    expect(await textOf(jsonChunks(empty))).toBe(JSON.stringify(toJson(output, fromBinary(output, new Uint8Array(0)), { registry, alwaysEmitImplicit: true })));
  }, 30_000);

  it("is the very CSV the whole rendering gives, with the first and last candle in the file name", async () => {
    const { whole, request } = await grpcAnswer(LARGE);
    const expected = candlesCsvRenderer.render(whole, request);
    const res = await get(`${windowOf(LARGE)}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(res.headers.get("content-disposition")).toBe(expected.headers["Content-Disposition"]);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="BTCUSDT-min1-20251218T0240Z-20251231T2359Z.csv"');
    expect(await res.text()).toBe(expected.body);
  }, 60_000);

  it.each([
    ["JSON", ""],
    ["CSV", "&format=csv"],
  ])("keeps the event loop turning while 100k candles are converted and written as %s", async (_, format) => {
    // Watched from the moment the gRPC answer reaches the bridge (the gRPC side pages its own encoding):
    // the longest gap between two turns of the loop, a chain of setImmediate.
    let longestMs = 0;
    let counting = false;
    let lastTurn = 0;
    let arrivedAt = 0;
    const countTurns = () => {
      const now = performance.now();
      longestMs = Math.max(longestMs, now - lastTurn);
      lastTurn = now;
      if (counting) setImmediate(countTurns);
    };
    const unary = RpcChannel.prototype.unary;
    const spy = vi.spyOn(RpcChannel.prototype, "unary").mockImplementation(function (this: RpcChannel, ...args: Parameters<RpcChannel["unary"]>) {
      const call = unary.apply(this, args);
      const response = call.response.then((bytes) => {
        counting = true;
        arrivedAt = lastTurn = performance.now();
        setImmediate(countTurns);
        return bytes;
      });
      return { response, cancel: call.cancel };
    });
    try {
      const res = await get(windowOf(HUGE) + format);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text.length).toBeGreaterThan(5_000_000);
    } finally {
      counting = false;
      spy.mockRestore();
    }
    const answeringMs = performance.now() - arrivedAt;
    // Converted whole, the answer held the loop for most of the time it took: ≈ 630 of 850 ms (JSON), 1.08 of
    // 1.11 s (CSV), on an idle machine; in pages of 5,000 candles, ≈ 60-80 ms of 0.8-1 s. Relative to the
    // answer's own time, the bound holds on a loaded machine too (absolute times triple in the full suite).
    expect(longestMs, `longest event-loop hold (ms) of ${Math.round(answeringMs)} ms answering`).toBeLessThan(answeringMs / 3);
  }, 60_000);

  it("stops converting and writing when the client goes away mid-answer", async () => {
    const renderPaged = candlesCsvRenderer.renderPaged!.bind(candlesCsvRenderer);
    let chunksWritten = 0;
    let finalised = false;
    const spy = vi.spyOn(candlesCsvRenderer, "renderPaged").mockImplementation((response, request) => {
      const { chunks, headers } = renderPaged(response, request);
      async function* counted() {
        try {
          for await (const chunk of chunks) {
            chunksWritten++;
            yield chunk;
          }
        } finally {
          finalised = true;
        }
      }
      return { chunks: counted(), headers };
    });
    try {
      const leaving = new AbortController();
      const res = await fetch(`${base}${windowOf(HUGE)}&format=csv`, { signal: leaving.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      leaving.abort();
      await until(() => finalised, { what: "the bridge to stop reading pages" });
      // 21 chunks make the whole answer (a header with the first page, 19 pages, the end).
      expect(chunksWritten).toBeLessThan(HUGE / 5_000);
    } finally {
      spy.mockRestore();
    }
    // The service still answers.
    expect((await get(windowOf(120))).status).toBe(200);
  }, 60_000);
});
