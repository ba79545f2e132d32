import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/testApp.js";

// Issue 13, items 1 and 5, over REST: oversized paths and header sets answer at once with a bounded
// google.rpc.Status, and never stall the other callers (the bridge carries every REST call over one
// HTTP/2 connection to the gRPC server: one hung call there once hung them all).
const TOKEN = "oversized-rest-token";
const auth = { authorization: `Bearer ${TOKEN}` };
/** "At once": below the 5-15 s stalls seen before, with room for a 2-core machine running four test files at a time. */
const PROMPT_MS = 3_000;

let testApp: TestApp;
let base: string;

beforeAll(async () => {
  testApp = await startTestApp({ token: TOKEN });
  base = testApp.app.rest.url;
});

afterAll(async () => {
  await testApp?.stop();
});

async function timedGet(path: string, headers: Record<string, string> = auth): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(base + path, { headers, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - started };
}

describe("oversized REST requests", () => {
  it("a 15 KB %01 path answers 414 at once while another caller is served promptly", async () => {
    const [long, other] = await Promise.all([timedGet(`/api/symbols/ib/spot/${"%01".repeat(5_000)}`), timedGet("/api/symbols/ib/spot/AAPL")]);
    expect(long.status).toBe(414);
    expect(long.ms).toBeLessThan(PROMPT_MS);
    expect(long.body.length).toBeLessThan(2_048);
    expect(JSON.parse(long.body)).toMatchObject({ code: 3, details: [expect.objectContaining({ reason: "URI_TOO_LONG" })] });
    expect(other.status).toBe(200);
    expect(other.ms).toBeLessThan(PROMPT_MS);

    const after = await timedGet("/api/symbols/ib/spot/AAPL");
    expect(after.status).toBe(200);
    expect(after.ms).toBeLessThan(PROMPT_MS);
  });

  it("a 2 KB %01 symbol (under the URI limit) answers 400 naming the field, its value cut short, and the bridge keeps serving", async () => {
    const long = await timedGet(`/api/symbols/ib/spot/${"%01".repeat(700)}`);
    expect(long.status).toBe(400);
    expect(long.ms).toBeLessThan(PROMPT_MS);
    expect(long.body.length).toBeLessThan(2_048);
    const body = JSON.parse(long.body) as { message: string };
    expect(body.message).toContain("symbol");
    expect(body.message).toContain("700 characters");

    const after = await timedGet("/api/candles/ib/spot/BTCUSDT/h1?days=1");
    expect(after.status).toBe(200);
    expect(after.ms).toBeLessThan(PROMPT_MS);
  });

  it("200 Grpc-Metadata-* headers answer 431, not 429", async () => {
    const headers: Record<string, string> = { ...auth };
    for (let i = 0; i < 200; i++) headers[`grpc-metadata-x-${i}`] = `value-${i}`;
    const answer = await timedGet("/api/symbols/ib/spot/AAPL", headers);
    expect(answer.status).toBe(431);
    expect(answer.ms).toBeLessThan(PROMPT_MS);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 3, details: [expect.objectContaining({ reason: "TOO_MANY_METADATA_HEADERS" })] });
  });

  it("a few Grpc-Metadata-* headers still pass", async () => {
    const answer = await timedGet("/api/symbols/ib/spot/AAPL", { ...auth, "grpc-metadata-x-request-id": "abc-123", "grpc-metadata-x-trace": "t1" });
    expect(answer.status).toBe(200);
  });
});
