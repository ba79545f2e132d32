import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CANDLE_CSV_HEADER } from "../domain/candleCsv.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";

// The candles route's CSV form over real HTTP: the whole service on the simulator, with a real store file.
let dir: string;
let testApp: TestApp;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ibp-csv-"));
  testApp = await startTestApp({ env: { STORE_PATH: join(dir, "store.sqlite") } });
  base = testApp.app.rest.url;
}, 30_000);

afterAll(async () => {
  await testApp?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers, signal: AbortSignal.timeout(15_000) });

interface JsonCandle {
  symbol: string;
  interval: string;
  time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  vwap: string;
  tradeCount: string;
  isComplete: boolean;
}

// Two settled hours of a 24/7 market: whole in the store after the first call, so every form reads the same bars.
const MINUTE = 60_000;
const to = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
const from = to - 120 * MINUTE;
const WINDOW = `/api/candles/ib/spot/ETHUSDT/min1?from=${new Date(from).toISOString()}&to=${to}`;

describe("GET /api/candles/… as CSV", () => {
  it("gives the JSON API's candles, value for value and as many, with a header line and a file name", async () => {
    const jsonRes = await get(WINDOW);
    expect(jsonRes.status).toBe(200);
    const { candles } = (await jsonRes.json()) as { candles: JsonCandle[] };
    expect(candles.length).toBe(120);

    const res = await get(`${WINDOW}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("vary")).toContain("Accept");
    const first = new Date(candles[0]!.time).toISOString();
    const last = new Date(candles[candles.length - 1]!.time).toISOString();
    const compact = (iso: string) => iso.replace(/[-:]/g, "").replace(/\d\d\.000Z$/, "Z");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="ETHUSDT-min1-${compact(first)}-${compact(last)}.csv"`);

    const text = await res.text();
    expect(text.startsWith(CANDLE_CSV_HEADER)).toBe(true);
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("time,time_ms,open,high,low,close,volume,vwap,trades,complete");
    expect(lines.length - 1).toBe(candles.length);
    const expected = candles.map((c) => [c.time, String(Date.parse(c.time)), c.open, c.high, c.low, c.close, c.volume, c.vwap, c.tradeCount, String(c.isComplete)].join(","));
    expect(lines.slice(1)).toEqual(expected);
  }, 30_000);

  it("answers the same CSV to Accept: text/csv as to ?format=csv", async () => {
    const byQuery = await (await get(`${WINDOW}&format=csv`)).text();
    const res = await get(WINDOW, { accept: "text/csv" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(await res.text()).toBe(byQuery);
  }, 30_000);

  it("stays JSON for ?format=json, for no Accept, */* and JSON preferred by quality", async () => {
    const cases: [string, string | undefined][] = [["&format=json", "text/csv"], ["", undefined], ["", "*/*"], ["", "text/csv;q=0.5, application/json"]];
    for (const [query, accept] of cases) {
      const res = await get(WINDOW + query, accept === undefined ? {} : { accept: accept });
      expect(res.status, `${query} ${accept}`).toBe(200);
      expect(res.headers.get("content-type"), `${query} ${accept}`).toMatch(/^application\/json/);
      expect(((await res.json()) as { candles: unknown[] }).candles.length).toBe(120);
    }
  }, 30_000);

  it("answers a failed call with the usual JSON error and status, whichever form was asked for", async () => {
    for (const headers of [{}, { accept: "text/csv" }] as Record<string, string>[]) {
      const res = await get("/api/candles/ib/spot/ETHUSDT/h3?format=csv", headers);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body = (await res.json()) as { code: number; message: string };
      expect(body.code).toBe(3);
      expect(body.message).toContain("interval");
    }
  }, 30_000);

  it("refuses an unknown ?format= with INVALID_ARGUMENT naming the field, before any call", async () => {
    const res = await get(`${WINDOW}&format=parquet`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: number; message: string; details: { fieldViolations?: { field: string }[] }[] };
    expect(body.code).toBe(3);
    expect(body.message).toBe('invalid format: expected one of json, csv (got "parquet")');
    expect(body.details.flatMap((d) => d.fieldViolations ?? []).map((v) => v.field)).toEqual(["format"]);
  });

  it("is in the OpenAPI document: text/csv beside application/json and the format parameter, on GetCandles only", () => {
    const operations = Object.values(testApp.app.rest.openApi.paths as Record<string, Record<string, { "x-grpc-method"?: string; parameters?: { name: string }[]; responses: Record<string, { content?: Record<string, unknown> }> }>>).flatMap((p) => Object.values(p));
    const withCsv = operations.filter((op) => op.responses["200"]?.content?.["text/csv"] !== undefined).map((op) => op["x-grpc-method"]);
    expect(withCsv).toEqual(["/ibprovider.v1.MarketDataService/GetCandles"]);
    const getCandles = operations.find((op) => op["x-grpc-method"] === "/ibprovider.v1.MarketDataService/GetCandles")!;
    expect(Object.keys(getCandles.responses["200"]!.content!)).toEqual(["application/json", "text/csv"]);
    expect(getCandles.parameters!.map((p) => p.name)).toContain("format");
  });
});
