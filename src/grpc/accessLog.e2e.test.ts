import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountServiceClient } from "../../gen/ibprovider/v1/account_service.js";
import { MarketDataServiceClient } from "../../gen/ibprovider/v1/market_data_service.js";
import { SymbolServiceClient } from "../../gen/ibprovider/v1/symbol_service.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { captureLog } from "../testing/logCapture.js";
import { AccessLog, type AccessEntry } from "./accessLog.js";

// Issue 13, item 5: one access log line per call (gRPC and REST), with the client, method, status,
// duration and bytes; never a token or an account id.
const TOKEN = "access-log-secret-token";
const ACCOUNT = "DU1234567";

const log = captureLog();
const { sink } = log;
const accessLines = () => log.accessLines<AccessEntry>();

let testApp: TestApp;

beforeAll(async () => {
  // Access lines are at debug unless ACCESS_LOG=on raises them to info.
  testApp = await startTestApp({ token: TOKEN, log: pino({ level: "debug" }, sink) });
});

afterAll(async () => {
  await testApp?.stop();
});

const md = (token = TOKEN) => {
  const m = new Metadata();
  m.set("authorization", `Bearer ${token}`);
  return m;
};
const deadline = () => ({ deadline: Date.now() + 5_000 });
const settle = (run: (cb: (err: ServiceError | null) => void) => void) => new Promise<void>((resolve) => run(() => resolve()));

describe("the access log", () => {
  it("writes one line per gRPC call, with the client's name and address, method, status, duration and bytes, and never the token or the account id", async () => {
    const symbols = new SymbolServiceClient(testApp.grpcAddress, credentials.createInsecure());
    const accounts = new AccountServiceClient(testApp.grpcAddress, credentials.createInsecure());
    const marketData = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
    const before = accessLines().length;
    try {
      await settle((cb) => symbols.getSymbol({ connectorType: "ib", marketType: "spot", symbol: "AAPL" }, md(), deadline(), cb));
      await settle((cb) => symbols.getSymbol({ connectorType: "ib", marketType: "spot", symbol: "AAPL" }, md("wrong-token"), deadline(), cb));
      await settle((cb) => accounts.getAccount({ connectorType: "ib", marketType: "spot", accountId: ACCOUNT }, md(), deadline(), cb));
      const stream = marketData.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" }, md());
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no tick within 5 s")), 5_000);
        let seen = 0;
        stream.on("data", () => {
          if (++seen === 2) {
            clearTimeout(timer);
            stream.cancel();
            resolve();
          }
        });
        stream.on("error", () => undefined);
      });
      await until(() => accessLines().filter((l) => l.protocol === "grpc").length >= before + 4, { what: "four gRPC access lines" });
    } finally {
      symbols.close();
      accounts.close();
      marketData.close();
    }
    const grpc = accessLines().filter((l) => l.protocol === "grpc").slice(before);
    expect(grpc.map((l) => `${l.method} ${l.status}`)).toEqual([
      "ibprovider.v1.SymbolService.GetSymbol OK",
      "ibprovider.v1.SymbolService.GetSymbol UNAUTHENTICATED",
      "ibprovider.v1.AccountService.GetAccount OK",
      "ibprovider.v1.MarketDataService.StreamTicks CANCELLED",
    ]);
    expect(grpc.map((l) => l.client)).toEqual(["default", "(unauthenticated)", "default", "default"]);
    for (const line of grpc) {
      expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(line.ms).toBeGreaterThanOrEqual(0);
    }
    expect(grpc[0]!.bytesOut).toBeGreaterThan(10);
    expect(grpc[3]!.messages).toBeGreaterThanOrEqual(2);
    expect(grpc[3]!.bytesOut).toBeGreaterThan(0);
    expect(log.output()).not.toContain(TOKEN);
    expect(JSON.stringify(accessLines())).not.toContain(ACCOUNT);
  });

  it("writes one line per REST request with the route's template, not the path or query", async () => {
    const base = testApp.app.rest.url;
    const before = accessLines().length;
    const get = (path: string) => fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5_000) }).then((r) => r.text());
    await get("/api/symbols/ib/spot/AAPL");
    await get(`/api/accounts/ib/spot?account_id=${ACCOUNT}`);
    await get("/api/no/such/route");
    await get("/api/health/live");
    await until(() => accessLines().slice(before).filter((l) => l.protocol === "rest").length >= 4, { what: "four REST access lines" });
    const rest = accessLines().slice(before).filter((l) => l.protocol === "rest");
    expect(rest.map((l) => `${l.method} ${l.route} ${l.status}`)).toEqual([
      "GET /api/symbols/{connector_type}/{market_type}/{symbol} 200",
      "GET /api/accounts/{connector_type}/{market_type} 200",
      "GET (no route) 404",
      "GET /api/health/live 200",
    ]);
    for (const line of rest) {
      expect(line.client).toBe("default");
      expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(line.bytesOut).toBeGreaterThan(0);
    }
    // The bridge's own gRPC calls are logged too, with the HTTP client in forwardedFor.
    expect(accessLines().slice(before).filter((l) => l.protocol === "grpc" && l.forwardedFor === "127.0.0.1").length).toBeGreaterThanOrEqual(2);
    expect(log.output()).not.toContain(TOKEN);
    expect(JSON.stringify(accessLines())).not.toContain(ACCOUNT);
  });

  it("is written at debug, or at info when ACCESS_LOG is on", () => {
    const atInfo = pino({ level: "info" }, sink);
    expect(new AccessLog(atInfo).enabled).toBe(false);
    expect(new AccessLog(atInfo, true).enabled).toBe(true);
    expect(new AccessLog(pino({ level: "debug" }, sink)).enabled).toBe(true);
  });
});
