import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthClient, type HealthCheckResponse } from "../../gen/grpc/health/v1/health.js";
import { MarketDataServiceClient, MarketDataServiceService } from "../../gen/ibprovider/v1/market_data_service.js";
import { CallRegistry } from "./callContext.js";
import { OrderServiceService } from "../../gen/ibprovider/v1/order_service.js";
import { bindService, notBuilt } from "./serviceBinding.js";
import { errorsOfEveryMethod } from "./testing/everyMethod.js";
import { DEFAULT_STREAM_SETTINGS } from "../stream/streamSettings.js";
import { SymbolServiceClient } from "../../gen/ibprovider/v1/symbol_service.js";
import { ConnectionState, GatewayMode, RuntimeServiceClient, type GetRuntimeProofResponse } from "../../gen/ibprovider/v1/runtime_service.js";
import type { GatewayStatus } from "../ib/connection/gatewayStatus.js";
import { createLogger } from "../log/logger.js";
import { noInstruments } from "./testing/noInstruments.js";
import { TokenAuthenticator } from "./auth.js";
import { GrpcServer, ORDER_SERVICE_NAME, SERVICE_NAMES } from "./server.js";
import { readRichStatus } from "./statusDetails.js";

const TOKEN = "test-token-123";

// Seam: the Gateway connection is replaced by a fixed status source (the adapter's own tests cover the
// real connection against the simulator); everything else is the real server over a real socket.
const gatewayStatus: GatewayStatus = {
  mode: "simulator",
  host: "127.0.0.1",
  port: 4002,
  clientId: 7,
  state: "connected",
  serverVersion: 176,
  connectionTime: "20261125 23:35:21 GMT",
  managedAccounts: ["DU1234567"],
  activeAccount: "DU1234567",
  isPaper: true,
  connectedSince: new Date(Date.now() - 5_000),
  reconnectCount: 0,
  lastError: undefined,
  ibConnectivity: true,
};

let server: GrpcServer;
let address: string;

beforeAll(async () => {
  server = new GrpcServer({
    host: "127.0.0.1",
    port: 0,
    auth: new TokenAuthenticator(TOKEN),
    log: createLogger("silent"),
    shutdownGraceMs: 2_000,
    runtime: {
      provider: {
        apiToken: undefined,
        ignoredConnectors: [],
        ib: {
          connectorType: "ib",
          enabled: true,
          markets: [{ marketType: "spot", symbols: [{ name: "BTCUSDT" }] }],
          subscriptions: [{ type: "PROVIDER_MARKETDATA_TRADE", symbols: ["BTCUSDT"], active: true }],
        },
      },
      startedAt: new Date(Date.now() - 60_000),
      serviceVersion: "0.0.0-test",
      gateway: () => gatewayStatus,
      subscriptions: () => [],
    },
    // Seam: the adapter (tested against the simulator in src/ib and end to end in app.e2e.test.ts).
    adapter: noInstruments,
  });
  await server.start();
  address = server.address;
});

afterAll(async () => {
  await server.shutdown();
});

function withToken(header: "authorization" | "x-api-token", value: string): Metadata {
  const md = new Metadata();
  md.set(header, value);
  return md;
}

const deadline = () => ({ deadline: Date.now() + 5_000 });

function proof(md: Metadata): Promise<GetRuntimeProofResponse> {
  const client = new RuntimeServiceClient(address, credentials.createInsecure());
  return new Promise<GetRuntimeProofResponse>((resolve, reject) =>
    client.getRuntimeProof({}, md, deadline(), (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

async function errorOf(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error("expected the call to fail");
}

describe("authentication", () => {
  it("rejects a call without a token with UNAUTHENTICATED and reason MISSING_TOKEN", async () => {
    const err = await errorOf(proof(new Metadata()));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(readRichStatus(err)?.errorInfo?.reason).toBe("MISSING_TOKEN");
  });

  it("rejects a wrong token with UNAUTHENTICATED and reason INVALID_TOKEN", async () => {
    const err = await errorOf(proof(withToken("authorization", "Bearer wrong")));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.details).toBe("invalid provider API token");
    expect(readRichStatus(err)?.errorInfo).toMatchObject({ reason: "INVALID_TOKEN", domain: "ib-provider" });
  });

  it("accepts Authorization: Bearer, a bare token, and x-api-token", async () => {
    for (const md of [withToken("authorization", `Bearer ${TOKEN}`), withToken("authorization", TOKEN), withToken("x-api-token", TOKEN)]) {
      expect((await proof(md)).connectorType).toBe("ib");
    }
  });
});

describe("health", () => {
  it("reports SERVING without a token, for the server and each service", async () => {
    const client = new HealthClient(address, credentials.createInsecure());
    try {
      for (const service of ["", "ibprovider.v1.MarketDataService", "ibprovider.v1.RuntimeService"]) {
        const res = await new Promise<HealthCheckResponse>((resolve, reject) =>
          client.check({ service }, new Metadata(), deadline(), (err, r) => (err ? reject(err) : resolve(r))),
        );
        expect(res.status).toBe(ServingStatus.SERVING);
      }
    } finally {
      client.close();
    }
  });
});

describe("RuntimeService", () => {
  it("GetRuntimeProof reports the live Gateway, its state, version, accounts and uptime", async () => {
    const res = await proof(withToken("authorization", `Bearer ${TOKEN}`));
    expect(res).toMatchObject({
      connectorType: "ib",
      gatewayMode: GatewayMode.GATEWAY_MODE_SIMULATOR,
      gatewayAddress: "127.0.0.1:4002",
      connectionState: ConnectionState.CONNECTION_STATE_CONNECTED,
      serverVersion: 176,
      managedAccounts: ["DU1234567"],
      activeAccount: "DU1234567",
      isPaper: true,
      clientId: 7,
      serviceVersion: "0.0.0-test",
    });
    expect(Number(res.uptime?.seconds)).toBeGreaterThanOrEqual(59);
    expect(res.connectedSince).toBeDefined();
  });
});

describe("RPCs without an implementation", () => {
  it("answer UNIMPLEMENTED with reason NOT_IMPLEMENTED (what a new proto method gets until it is built)", async () => {
    // A service bound through notBuilt() the way the server binds its services, on a bare grpc-js server.
    const bare = new Server();
    const deps = { calls: new CallRegistry(), log: createLogger("silent"), streams: DEFAULT_STREAM_SETTINGS };
    bare.addService(...bindService(MarketDataServiceService, notBuilt(MarketDataServiceService), deps));
    const port = await new Promise<number>((resolve, reject) => bare.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const client = new MarketDataServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const err = await errorOf(
      new Promise((resolve, reject) =>
        client.getTrades({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", from: undefined, to: undefined, limit: 10 }, new Metadata(), deadline(), (e, r) => (e ? reject(e) : resolve(r))),
      ),
    );
    const streamErr = await new Promise<ServiceError>((resolve) => client.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" }).on("error", resolve));
    client.close();
    bare.forceShutdown();
    expect(err.code).toBe(status.UNIMPLEMENTED);
    expect(err.details).toBe("ibprovider.v1.MarketDataService.GetTrades is not implemented yet");
    expect(readRichStatus(err)?.errorInfo?.reason).toBe("NOT_IMPLEMENTED");
    expect(streamErr.code).toBe(status.UNIMPLEMENTED);
  });

  it("OrderService on a server without an order desk (its contract only): its reads answer NOT_IMPLEMENTED to PROVIDER_API_TOKEN, its actions need scope trade first", async () => {
    const errors = await errorsOfEveryMethod(address, OrderServiceService, () => withToken("authorization", `Bearer ${TOKEN}`));
    const reads = ["GetOrder", "ListOrders", "ListExecutions", "StreamOrders", "GetTradingStatus"];
    expect([...errors.keys()].sort()).toEqual([...reads, "PlaceOrder", "PreviewOrder", "ModifyOrder", "CancelOrder", "CancelAllOrders", "EnableOrders"].sort());
    for (const [method, err] of errors) {
      if (reads.includes(method)) {
        expect(err?.code, method).toBe(status.UNIMPLEMENTED);
        expect(err?.details, method).toBe(`ibprovider.v1.OrderService.${method} is not implemented yet`);
        expect(readRichStatus(err!)?.errorInfo).toMatchObject({ reason: "NOT_IMPLEMENTED", metadata: { method: `ibprovider.v1.OrderService.${method}` } });
      } else {
        // PROVIDER_API_TOKEN's client holds every scope but trade: a read token can never place orders.
        expect(err?.code, method).toBe(status.PERMISSION_DENIED);
        expect(readRichStatus(err!)?.errorInfo, method).toMatchObject({ reason: "SCOPE_MISSING", metadata: { scope: "trade", client: "default" } });
      }
    }
  });

  it("OrderService is not reported by the health checks of a server without an order desk (Check: NOT_FOUND)", async () => {
    expect(ORDER_SERVICE_NAME).toBe("ibprovider.v1.OrderService");
    expect(SERVICE_NAMES).not.toContain("ibprovider.v1.OrderService");
    const client = new HealthClient(address, credentials.createInsecure());
    const err = await errorOf(new Promise((resolve, reject) => client.check({ service: "ibprovider.v1.OrderService" }, new Metadata(), deadline(), (e, r) => (e ? reject(e) : resolve(r)))));
    client.close();
    expect(err.code).toBe(status.NOT_FOUND);
  });
});

describe("reflection", () => {
  it("is open without a token, so buf curl can list the methods (the README's example)", async () => {
    const buf = new URL("../../node_modules/.bin/buf", import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(
      buf,
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", `http://${address}`],
      { timeout: 15_000 },
    );
    expect(stdout).toContain("ibprovider.v1.RuntimeService/GetRuntimeProof");
    expect(stdout).toContain("ibprovider.v1.MarketDataService/StreamOrderBook");
    // Published before it is built: clients can be generated against it.
    expect(stdout).toContain("ibprovider.v1.OrderService/PlaceOrder");
  });
});

describe("calls through buf curl", () => {
  it("GetRuntimeProof works as the README writes it, and fails without the token", async () => {
    const buf = new URL("../../node_modules/.bin/buf", import.meta.url).pathname;
    const url = `http://${address}/ibprovider.v1.RuntimeService/GetRuntimeProof`;
    const { stdout } = await promisify(execFile)(
      buf,
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", `Authorization: Bearer ${TOKEN}`, "-d", "{}", url],
      { timeout: 15_000 },
    );
    expect(JSON.parse(stdout)).toMatchObject({ connectorType: "ib", gatewayMode: "GATEWAY_MODE_SIMULATOR", serverVersion: 176 });
    const failed = await promisify(execFile)(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", "{}", url], { timeout: 15_000 }).then(
      () => undefined,
      (e: { stderr: string }) => e.stderr,
    );
    expect(failed).toContain("unauthenticated");
  });
});

describe("bad input", () => {
  it("gets INVALID_ARGUMENT naming the field, and unknown symbols NOT_FOUND; the server keeps serving", async () => {
    const client = new SymbolServiceClient(address, credentials.createInsecure());
    const md = withToken("authorization", `Bearer ${TOKEN}`);
    const get = (marketType: string, symbol: string, connectorType = "ib") =>
      new Promise((resolve, reject) => client.getSymbol({ connectorType, marketType, symbol }, md, deadline(), (e, r) => (e ? reject(e) : resolve(r))));
    const badMarket = await errorOf(get("stocks", "AAPL"));
    expect(badMarket.code).toBe(status.INVALID_ARGUMENT);
    expect(badMarket.details).toContain("market_type");
    expect(readRichStatus(badMarket)?.badRequest?.fieldViolations[0]?.field).toBe("market_type");
    const badConnector = await errorOf(get("spot", "AAPL", "binance"));
    expect(badConnector.details).toContain("connector_type");
    const badSymbol = await errorOf(get("spot", "AA PL;"));
    expect(badSymbol.details).toContain("symbol");
    const unknown = await errorOf(get("spot", "NOSUCH"));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(readRichStatus(unknown)?.errorInfo?.reason).toBe("SYMBOL_NOT_FOUND");
    client.close();
    expect((await proof(md)).connectorType).toBe("ib");
  });
});
