import { credentials, Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountServiceClient } from "../../gen/ibprovider/v1/account_service.js";
import { MarketDataServiceClient } from "../../gen/ibprovider/v1/market_data_service.js";
import { RuntimeServiceClient } from "../../gen/ibprovider/v1/runtime_service.js";
import { SymbolServiceClient } from "../../gen/ibprovider/v1/symbol_service.js";
import { StoreServiceClient } from "../../gen/ibprovider/v1/store_service.js";
import type { RunningApp } from "../app.js";
import { SERVICE_NAMES } from "./server.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";

// "Done when" of issue 5: a generated TypeScript client calls every unary RPC of every service against
// what `npm start` runs (the default config on the embedded simulator), and gets real answers.
let testApp: TestApp;
let app: RunningApp;
const md = new Metadata();

beforeAll(async () => {
  testApp = await startTestApp();
  app = testApp.app;
});

afterAll(async () => {
  await testApp?.stop();
});

type Callback = (err: ServiceError | null, res: unknown) => void;
type UnaryMethod = (req: object, md: Metadata, options: { deadline: number }, cb: Callback) => unknown;

function call(client: Client, method: string, request: object): Promise<Record<string, unknown>> {
  const fn = (client as unknown as Record<string, UnaryMethod>)[method]!.bind(client);
  return new Promise((resolve, reject) =>
    fn(request, md, { deadline: Date.now() + 15_000 }, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>))),
  );
}

const spot = { connectorType: "ib", marketType: "spot" };
const address = () => `127.0.0.1:${app.grpc.port}`;

describe("every unary RPC against the default service", () => {
  const cases: { service: string; method: string; request: object; check: (res: Record<string, unknown>) => void }[] = [
    { service: "RuntimeService", method: "getRuntimeProof", request: {}, check: (r) => expect(r.connectorType).toBe("ib") },
    { service: "RuntimeService", method: "listConnectors", request: { connectorType: "", marketType: "" }, check: (r) => expect((r.connectors as unknown[]).length).toBeGreaterThan(0) },
    { service: "RuntimeService", method: "listSubscriptions", request: {}, check: (r) => expect(Array.isArray(r.subscriptions)).toBe(true) },
    { service: "RuntimeService", method: "listRecentErrors", request: {}, check: (r) => expect(Array.isArray(r.errors)).toBe(true) },
    { service: "SymbolService", method: "listSymbols", request: { ...spot }, check: (r) => expect((r.symbols as unknown[]).length).toBeGreaterThan(0) },
    { service: "SymbolService", method: "getSymbol", request: { ...spot, symbol: "AAPL" }, check: (r) => expect(r.symbol).toMatchObject({ name: "AAPL", secType: "STK" }) },
    { service: "SymbolService", method: "searchSymbols", request: { connectorType: "ib", query: "AAPL" }, check: (r) => expect(r.matches).toContainEqual(expect.objectContaining({ symbol: "AAPL" })) },
    { service: "SymbolService", method: "getOptionChain", request: { ...spot, underlying: "AAPL", exchange: "", tradingClass: "" }, check: (r) => expect((r.rows as unknown[]).length).toBeGreaterThan(0) },
    { service: "SymbolService", method: "listFutures", request: { connectorType: "ib", root: "ES" }, check: (r) => expect(r.contracts).toContainEqual(expect.objectContaining({ front: true })) },
    { service: "MarketDataService", method: "getOptionChainQuotes", request: { ...spot, underlying: "AAPL", symbols: ["AAPL270115C00200000"], expirations: [], tradingClass: "", strikesAround: 0, strikeMin: "", strikeMax: "", right: 0, maxLines: 0 }, check: (r) => expect((r.quotes as unknown[]).length + (r.missing as unknown[]).length).toBe(1) },
    { service: "MarketDataService", method: "getCandles", request: { ...spot, symbol: "BTCUSDT", interval: "h1", days: 1 }, check: (r) => expect((r.candles as unknown[]).length).toBeGreaterThan(20) },
    { service: "MarketDataService", method: "getTrades", request: { ...spot, symbol: "BTCUSDT", limit: 10 }, check: (r) => expect((r.trades as unknown[]).length).toBe(10) },
    { service: "MarketDataService", method: "getOrderBook", request: { ...spot, symbol: "AAPL", depth: 5 }, check: (r) => expect((r.orderBook as { bids: unknown[] }).bids.length).toBeGreaterThan(0) },
    { service: "AccountService", method: "listAccounts", request: {}, check: (r) => expect((r.accounts as unknown[]).length).toBeGreaterThan(0) },
    { service: "AccountService", method: "getAccount", request: { ...spot, accountId: "" }, check: (r) => expect(r.account).toMatchObject({ connectorType: "ib", marketType: "spot" }) },
    { service: "AccountService", method: "listPositions", request: { ...spot, accountId: "" }, check: (r) => expect(Array.isArray(r.positions)).toBe(true) },
    { service: "AccountService", method: "listAssets", request: { ...spot, accountId: "" }, check: (r) => expect((r.assets as unknown[]).length).toBeGreaterThan(0) },
  ];

  it("covers every unary method of our five market-data, account, symbol, runtime and store services (StoreService has none; OrderService: orderService.e2e.test.ts)", () => {
    const definitions = { RuntimeService: RuntimeServiceClient, SymbolService: SymbolServiceClient, MarketDataService: MarketDataServiceClient, AccountService: AccountServiceClient, StoreService: StoreServiceClient };
    const unary = Object.entries(definitions).flatMap(([service, ctor]) =>
      Object.entries((ctor as unknown as { service: Record<string, { responseStream: boolean }> }).service)
        .filter(([, m]) => !m.responseStream)
        .map(([method]) => `${service}.${method}`),
    );
    expect(SERVICE_NAMES).toHaveLength(5);
    expect(cases.map((c) => `${c.service}.${c.method}`).sort()).toEqual(unary.sort());
  });

  for (const c of cases) {
    it(`${c.service}.${c.method} answers with real data`, async () => {
      const ctor = { RuntimeService: RuntimeServiceClient, SymbolService: SymbolServiceClient, MarketDataService: MarketDataServiceClient, AccountService: AccountServiceClient }[c.service]!;
      const client = new ctor(address(), credentials.createInsecure());
      try {
        c.check(await call(client, c.method, c.request));
      } finally {
        client.close();
      }
    });
  }
});
