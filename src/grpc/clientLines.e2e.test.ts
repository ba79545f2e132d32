import { createHash } from "node:crypto";
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient } from "../../gen/ibprovider/v1/market_data_service.js";
import { parseInterval } from "../domain/intervals.js";
import type { LineKind } from "../ib/feeds/lineBudget.js";
import { ibLinesHeld } from "../metrics/lineMetrics.js";
import { firstOutcome } from "../testing/firstOutcome.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 13, item 3 (phase 2, IB lines): each client is charged the IB lines its streams consume; a cap
// per client (quotas.ibLines) and fair shares with a reserve keep one client from locking the others out
// of IB's lines (here IB's 3 depth subscriptions: two clients, a fair share of 1.5 each, 1 kept in reserve).
const ALPHA_TOKEN = "alpha-lines-token-0123";
const BETA_TOKEN = "beta-lines-token-4567";
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");
const ALPHA_CAP = 2;

let testApp: TestApp;
let stopped = false;
let client: MarketDataServiceClient;

beforeAll(async () => {
  testApp = await startTestApp({
    clients: {
      clients: [
        { name: "alpha", tokenSha256: sha256(ALPHA_TOKEN), quotas: { ibLines: ALPHA_CAP } },
        { name: "beta", tokenSha256: sha256(BETA_TOKEN) },
      ],
    },
    // No configured subscription: every line is a client's (the last test pins some for the service).
    provider: { connectors: [{ connectorType: "ib", markets: [{ marketType: "spot", symbols: [{ name: "AAPL" }] }] }] },
    // A symbol IB refuses depth for (354): a feed that ends with an error.
    simulator: { seed: 7, entitlements: { IBM: "none" } },
  });
  client = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  client?.close();
  if (!stopped) await testApp?.stop();
});

const auth = (token: string) => {
  const md = new Metadata();
  md.set("authorization", `Bearer ${token}`);
  return md;
};
const instrument = (symbol: string) => ({ connectorType: "ib", marketType: "spot", symbol });
const book = (token: string, symbol: string) => client.streamOrderBook({ ...instrument(symbol), depth: 5 }, auth(token));
const ticks = (token: string, symbol: string) => client.streamTicks(instrument(symbol), auth(token));

const held = (name: string, kind: LineKind) => testApp.app.adapter.lines.heldBy(name, kind);
const used = (kind: LineKind) => testApp.app.adapter.lines.used(kind);

async function opened(...streams: ClientReadableStream<unknown>[]): Promise<ClientReadableStream<unknown>[]> {
  for (const s of streams) expect(await firstOutcome(s)).toBe("open");
  return streams;
}

function cancel(streams: ClientReadableStream<unknown>[]): void {
  for (const s of streams) {
    s.on("error", () => undefined);
    s.cancel();
  }
}

function refusal(outcome: "open" | ServiceError): { code: status; reason: string | undefined; metadata: Record<string, string> } {
  expect(outcome).not.toBe("open");
  const err = outcome as ServiceError;
  const info = readRichStatus(err)?.errorInfo;
  return { code: err.code, reason: info?.reason, metadata: info?.metadata ?? {} };
}

/** The error a stream ends with (its first messages, such as "subscribed", come before IB's refusal). */
function errorOf(stream: ClientReadableStream<unknown>, timeoutMs = 5_000): Promise<ServiceError> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stream did not end within ${timeoutMs} ms`)), timeoutMs);
    stream.on("data", () => undefined);
    stream.once("error", (err: ServiceError) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

async function gauge(name: string, kind: LineKind): Promise<number> {
  return (await ibLinesHeld.get()).values.find((v) => v.labels.client === name && v.labels.kind === kind)?.value ?? 0;
}

describe("IB lines per client: fair shares with a reserve", () => {
  it("lets alpha take lines until only the reserve is left, refuses it the reserve (ibLinesFairShare) while beta, under its share, still gets a line; cancels give every line back", async () => {
    const alpha = await opened(book(ALPHA_TOKEN, "AAPL"), book(ALPHA_TOKEN, "MSFT"));
    expect([held("alpha", "depth"), used("depth")]).toEqual([2, 2]);

    const refused = refusal(await firstOutcome(book(ALPHA_TOKEN, "NVDA")));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.reason).toBe("QUOTA_EXCEEDED");
    expect(refused.metadata).toMatchObject({ quota: "ibLinesFairShare", limit: "1.5", client: "alpha", held: "2", kind: "depth" });
    expect(held("alpha", "depth")).toBe(2);

    const beta = await opened(book(BETA_TOKEN, "NVDA"));
    expect([held("beta", "depth"), used("depth")]).toEqual([1, 3]);
    expect(await gauge("beta", "depth")).toBe(1);

    // IB's own limit (every client together) still answers as before.
    const full = refusal(await firstOutcome(book(BETA_TOKEN, "SPY")));
    expect([full.code, full.reason]).toEqual([status.RESOURCE_EXHAUSTED, "IB_LIMIT_REACHED"]);

    cancel([...alpha, ...beta]);
    await until(() => used("depth") === 0 && held("alpha", "depth") === 0 && held("beta", "depth") === 0, { what: "every depth line given back" });
    expect([await gauge("alpha", "depth"), await gauge("beta", "depth")]).toEqual([0, 0]);
  });

  it("charges a client once per IB subscription however many of its streams share it, and charges a client joining another's subscription", async () => {
    const alpha = await opened(book(ALPHA_TOKEN, "AAPL"), book(ALPHA_TOKEN, "AAPL"));
    expect([held("alpha", "depth"), used("depth")]).toEqual([1, 1]);
    const beta = await opened(book(BETA_TOKEN, "AAPL"));
    expect([held("beta", "depth"), used("depth")]).toEqual([1, 1]);

    // One of alpha's two consumers leaves: it still consumes the subscription.
    cancel([alpha[0]!]);
    await until(() => testApp.app.adapter.subscriptions().find((s) => s.kind === "orderBook")?.consumers === 2, { what: "alpha's first consumer to leave" });
    expect(held("alpha", "depth")).toBe(1);
    cancel([alpha[1]!]);
    await until(() => held("alpha", "depth") === 0, { what: "alpha's charge given back when its last consumer left" });
    expect([held("beta", "depth"), used("depth")]).toEqual([1, 1]);
    cancel(beta);
    await until(() => used("depth") === 0 && held("beta", "depth") === 0, { what: "beta's line given back" });
  });

  it("refuses a client over its own cap (quotas.ibLines) with quota ibLines, for new and shared subscriptions alike, and not for another stream of a subscription it holds", async () => {
    const alpha = await opened(ticks(ALPHA_TOKEN, "BTCUSDT"), ticks(ALPHA_TOKEN, "ETHUSDT"));
    expect(held("alpha", "marketDataLines")).toBe(ALPHA_CAP);
    // A second stream of a subscription alpha holds costs it nothing.
    alpha.push(...(await opened(ticks(ALPHA_TOKEN, "BTCUSDT"))));

    const beta = await opened(ticks(BETA_TOKEN, "AAPL"));
    for (const stream of [ticks(ALPHA_TOKEN, "AAPL"), client.streamCandles({ ...instrument("MSFT"), interval: "min1", completeOnly: false }, auth(ALPHA_TOKEN))]) {
      const refused = refusal(await firstOutcome(stream));
      expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(refused.metadata).toMatchObject({ quota: "ibLines", limit: String(ALPHA_CAP), client: "alpha", kind: "marketDataLines" });
    }
    expect(held("alpha", "marketDataLines")).toBe(ALPHA_CAP);
    cancel([...alpha, ...beta]);
    await until(() => used("marketDataLines") === 0, { what: "every market data line given back" });
  });

  it("returns every count to 0 over repeated cycles ended by cancel, by an IB error and by a one-shot order book", async () => {
    for (let cycle = 0; cycle < 8; cycle++) {
      const streams = await opened(book(ALPHA_TOKEN, "AAPL"), book(ALPHA_TOKEN, "MSFT"), book(BETA_TOKEN, "NVDA"), ticks(BETA_TOKEN, "AAPL"));
      cancel(streams);
      await until(() => used("depth") === 0 && used("marketDataLines") === 0, { what: `lines given back after cycle ${cycle}` });
      // IB refuses depth for IBM (354): charged, then given back when the feed fails.
      const failed = refusal(await errorOf(book(BETA_TOKEN, "IBM")));
      expect(failed.reason).toBe("MARKET_DATA_SUBSCRIPTION_REQUIRED");
      await until(() => used("depth") === 0 && held("beta", "depth") === 0, { what: `the failed feed's line given back after cycle ${cycle}` });
      // A one-shot book takes a depth line for a moment, charged to its caller too.
      await new Promise<void>((resolve, reject) =>
        client.getOrderBook({ ...instrument("SPY"), depth: 5 }, auth(ALPHA_TOKEN), (err) => (err ? reject(err) : resolve())),
      );
      await until(() => used("depth") === 0 && held("alpha", "depth") === 0, { what: `the one-shot book's line given back after cycle ${cycle}` });
    }
    for (const name of ["alpha", "beta"]) for (const kind of ["depth", "marketDataLines"] as const) expect(await gauge(name, kind)).toBe(0);
  });

  it("charges configured subscriptions to `service`: exempt from the fair share, counted in IB's total", async () => {
    const adapter = testApp.app.adapter;
    const alpha = await opened(book(ALPHA_TOKEN, "NVDA"));
    await adapter.activate({ kind: "orderBook", marketType: "spot", symbol: "AAPL" });
    // The service holds 1 (under 1.5) and then takes the reserve holding 2 (a client would be refused).
    await adapter.activate({ kind: "orderBook", marketType: "spot", symbol: "MSFT" });
    expect([held("service", "depth"), used("depth")]).toEqual([2, 3]);
    await adapter.activate({ kind: "candle", marketType: "spot", symbol: "AAPL", interval: parseInterval("min1")! });
    expect(held("service", "marketDataLines")).toBe(1);
    expect(await gauge("service", "depth")).toBe(2);
    const full = refusal(await firstOutcome(book(BETA_TOKEN, "SPY")));
    expect(full.reason).toBe("IB_LIMIT_REACHED");
    cancel(alpha);
    await until(() => held("alpha", "depth") === 0, { what: "alpha's line given back" });
  });

  it("gives every line back when the server shuts down (last: it stops the app)", async () => {
    const streams = await opened(book(ALPHA_TOKEN, "NVDA"), ticks(BETA_TOKEN, "ETHUSDT"));
    const ended = streams.map((s) => new Promise<ServiceError>((resolve) => s.once("error", resolve)));
    stopped = true;
    await testApp.stop();
    for (const err of await Promise.all(ended)) expect(err.code).toBe(status.UNAVAILABLE);
    for (const kind of ["depth", "marketDataLines", "tickByTick"] as const) expect(used(kind)).toBe(0);
    for (const name of ["alpha", "beta", "service"]) for (const kind of ["depth", "marketDataLines"] as const) expect(await gauge(name, kind)).toBe(0);
  });
});
