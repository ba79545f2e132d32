import { createServer } from "node:net";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeServiceClient, ConnectionState, GatewayMode, SubscriptionKind, type GetRuntimeProofResponse, type ListSubscriptionsResponse } from "../gen/ibprovider/v1/runtime_service.js";
import { SymbolServiceClient, type GetSymbolResponse, type ListSymbolsResponse } from "../gen/ibprovider/v1/symbol_service.js";
import { AccountServiceClient, type GetAccountResponse, type ListAssetsResponse, type StreamAccountResponse } from "../gen/ibprovider/v1/account_service.js";
import { MarketDataServiceClient, type GetCandlesResponse, type GetOrderBookResponse, type GetTradesResponse, type StreamTicksResponse, type TickEvent } from "../gen/ibprovider/v1/market_data_service.js";
import { MarketDataType, PositionSide, StreamStatusKind, type Tick } from "../gen/ibprovider/v1/types.js";
import type { RunningApp } from "./app.js";
import { readRichStatus } from "./grpc/statusDetails.js";
import { startTestApp, type TestApp } from "./testing/testApp.js";
import { until } from "./testing/until.js";

// End to end: the real app (config → simulator → @stoqey/ib adapter → gRPC server) over loopback sockets.
const TOKEN = "e2e-token";
let testApp: TestApp;
let app: RunningApp;
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);
const deadline = () => ({ deadline: Date.now() + 10_000 });

beforeAll(async () => {
  testApp = await startTestApp({ token: TOKEN });
  app = testApp.app;
});

afterAll(async () => {
  await testApp?.stop();
});

function call<Res>(fn: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

describe("npm start on the embedded simulator", () => {
  it("serves GetRuntimeProof to a generated client, saying the simulator is live", async () => {
    const client = new RuntimeServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const proof = await call<GetRuntimeProofResponse>((cb) => client.getRuntimeProof({}, md, deadline(), cb));
    client.close();
    expect(proof).toMatchObject({
      connectorType: "ib",
      gatewayMode: GatewayMode.GATEWAY_MODE_SIMULATOR,
      gatewayAddress: `127.0.0.1:${app.simulator!.port}`,
      connectionState: ConnectionState.CONNECTION_STATE_CONNECTED,
      serverVersion: 176,
      isPaper: true,
    });
    expect(proof.managedAccounts.length).toBeGreaterThan(0);
    expect(proof.activeAccount).toBe(proof.managedAccounts[0]);
  });

  it("resolves BTCUSDT to BTC/USD on PAXOS and says why", async () => {
    const client = new SymbolServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const res = await call<GetSymbolResponse>((cb) => client.getSymbol({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" }, md, deadline(), cb));
    client.close();
    expect(res.symbol).toMatchObject({ name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USD", secType: "CRYPTO", exchange: "PAXOS", conId: "479624278", tickSize: "0.25" });
    expect(res.symbol?.mappingNote).toContain("no USDT pairs");
    expect(res.symbol?.tradingHours.length).toBeGreaterThan(0);
  });

  it("resolves a stock, a forex pair and the front-month future", async () => {
    const client = new SymbolServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const get = (marketType: string, symbol: string) => call<GetSymbolResponse>((cb) => client.getSymbol({ connectorType: "ib", marketType, symbol }, md, deadline(), cb));
    expect((await get("spot", "AAPL")).symbol).toMatchObject({ secType: "STK", conId: "265598", currency: "USD", tickSize: "0.01" });
    expect((await get("spot", "EURUSD")).symbol).toMatchObject({ secType: "CASH", exchange: "IDEALPRO", baseAsset: "EUR", quoteAsset: "USD" });
    const es = (await get("futures", "ES")).symbol!;
    expect(es.secType).toBe("FUT");
    expect(es.lastTradeDate >= new Date().toISOString().slice(0, 10).replace(/-/g, "")).toBe(true);
    client.close();
  });

  it("fails fast with NOT_FOUND for a symbol IB does not know", async () => {
    const client = new SymbolServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const started = Date.now();
    const err = await call((cb) => client.getSymbol({ connectorType: "ib", marketType: "spot", symbol: "NOSUCHSYM" }, md, deadline(), cb)).catch((e: ServiceError) => e);
    client.close();
    expect((err as ServiceError).code).toBe(status.NOT_FOUND);
    expect(readRichStatus(err as ServiceError)?.errorInfo?.metadata).toMatchObject({ ibCode: "200" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("lists configured symbols, resolving them on request", async () => {
    const client = new SymbolServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const res = await call<ListSymbolsResponse>((cb) => client.listSymbols({ connectorType: "ib", marketType: "spot", resolve: true }, md, deadline(), cb));
    client.close();
    expect(res.symbols.map((s) => s.name)).toContain("BTCUSDT");
    expect(res.symbols.find((s) => s.name === "AAPL")?.conId).toBe("265598");
  });
});

describe("start-up never falls back", () => {
  it("fails clearly when IB_GATEWAY_URL points at nothing, instead of starting the simulator", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const port = (probe.address() as { port: number }).port;
        probe.close(() => resolve(port));
      });
    });
    await expect(startTestApp({ token: TOKEN, env: { IB_GATEWAY_URL: `127.0.0.1:${closedPort}` } })).rejects.toThrow(
      new RegExp(`cannot connect to the IB Gateway at 127\\.0\\.0\\.1:${closedPort}`),
    );
  });

  it("fails clearly when IB_ACCOUNT_ID is not among the managed accounts, without logging it in full", async () => {
    await expect(startTestApp({ token: TOKEN, env: { IB_ACCOUNT_ID: "U9999999" } })).rejects.toThrow(/IB_ACCOUNT_ID U9\*\*\*999 is not managed by this login/);
  });
});

describe("accounts on the embedded simulator", () => {
  it("serves the paper account per market: cash instruments in spot, futures in futures, margin figures everywhere", async () => {
    const client = new AccountServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const get = (marketType: string) => call<GetAccountResponse>((cb) => client.getAccount({ connectorType: "ib", marketType, accountId: "" }, md, deadline(), cb));
    const spot = (await get("spot")).account!;
    expect(spot).toMatchObject({ connectorType: "ib", marketType: "spot", isActive: true, isPaper: true });
    expect(spot.accountId).toMatch(/^DU/);
    expect(spot.positions.map((p) => p.symbol).sort()).toEqual(["AAPL", "BTC"]);
    const btc = spot.positions.find((p) => p.symbol === "BTC")!;
    expect(btc).toMatchObject({ quantity: "0.5", side: PositionSide.POSITION_SIDE_LONG, secType: "CRYPTO" });
    expect(Number(btc.lastPrice)).toBeGreaterThan(0);
    expect(spot.summary?.netLiquidation).toMatch(/^\d+(\.\d+)?$/);
    expect(spot.assets.find((a) => a.symbol === "USD")?.walletBalance).toMatch(/^-?\d+(\.\d+)?$/);

    const futures = (await get("futures")).account!;
    expect(futures.positions).toHaveLength(1);
    expect(futures.positions[0]).toMatchObject({ secType: "FUT", quantity: "1" });
    // IB's average cost includes the multiplier (50 for ES); the entry price does not.
    expect(Number(futures.positions[0]!.entryPrice)).toBeLessThan(20_000);

    const margin = (await get("margin")).account!;
    expect(Number(margin.summary?.initialMargin)).toBeGreaterThan(0);
    expect(margin.summary?.leverage).not.toBe("");

    const assets = await call<ListAssetsResponse>((cb) => client.listAssets({ connectorType: "ib", marketType: "spot", accountId: "" }, md, deadline(), cb));
    expect(assets.positions).toHaveLength(2);
    expect(assets.assets.length).toBeGreaterThan(0);

    const other = await call((cb) => client.getAccount({ connectorType: "ib", marketType: "spot", accountId: "U0000000" }, md, deadline(), cb)).catch((e: ServiceError) => e);
    expect((other as ServiceError).code).toBe(status.NOT_FOUND);
    client.close();
  });

  it("streams the account: summary, balances, positions and PnL", async () => {
    const client = new AccountServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const stream = client.streamAccount({ connectorType: "ib", marketType: "spot", accountId: "" }, md);
    const cases = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; saw ${[...cases].join(", ")}`)), 8_000);
      stream.on("data", (res: StreamAccountResponse) => {
        for (const e of res.events) if (e.event) cases.add(e.event.$case);
        if (["summary", "asset", "position", "pnl"].every((c) => cases.has(c))) {
          clearTimeout(timer);
          resolve();
        }
      });
      stream.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    stream.cancel();
    client.close();
  });
});

describe("market data streams over gRPC", () => {
  it("StreamTicks delivers a subscribed status, then decimal ticks with their data type", async () => {
    const client = new MarketDataServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const stream = client.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" }, md);
    const events: TickEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out")), 8_000);
      stream.on("data", (res: StreamTicksResponse) => {
        events.push(...res.events);
        if (events.filter((e) => e.event?.$case === "tick").length >= 3) {
          clearTimeout(timer);
          resolve();
        }
      });
      stream.on("error", reject);
    });
    stream.cancel();
    client.close();
    expect(events[0]?.event).toMatchObject({ $case: "status", value: { kind: StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED } });
    const tick = events.find((e) => e.event?.$case === "tick")!.event!.value as Tick;
    expect(tick.symbol).toBe("BTCUSDT");
    expect(tick.marketDataType).toBe(MarketDataType.MARKET_DATA_TYPE_LIVE);
    expect(tick.bid === "" || /^\d+(\.\d+)?$/.test(tick.bid)).toBe(true);
  });

  it("GetOrderBook returns a consistent snapshot; a bad depth names the field", async () => {
    const client = new MarketDataServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const res = await call<GetOrderBookResponse>((cb) => client.getOrderBook({ connectorType: "ib", marketType: "spot", symbol: "AAPL", depth: 5 }, md, deadline(), cb));
    expect(res.orderBook?.bids).toHaveLength(5);
    expect(res.orderBook?.asks).toHaveLength(5);
    expect(res.orderBook?.isConsistent).toBe(true);
    expect(Number(res.orderBook!.bids[0]!.price)).toBeLessThan(Number(res.orderBook!.asks[0]!.price));
    const bad = await call((cb) => client.getOrderBook({ connectorType: "ib", marketType: "spot", symbol: "AAPL", depth: 500 }, md, deadline(), cb)).catch((e: ServiceError) => e);
    expect((bad as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((bad as ServiceError).details).toContain("depth");
    client.close();
  });
});

describe("configured subscriptions", () => {
  it("start at boot from config.provider.json and show in ListSubscriptions with their freshness", async () => {
    const client = new RuntimeServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    let subs: ListSubscriptionsResponse["subscriptions"] = [];
    // The default config activates BTCUSDT trades, order book and min1/h1 candles; wait (bounded) until
    // the trades and the book have data (candles speak every 5 s).
    await until(
      async () => {
        subs = (await call<ListSubscriptionsResponse>((cb) => client.listSubscriptions({}, md, deadline(), cb))).subscriptions;
        return subs.filter((s) => s.configured && s.lastMessageTime !== undefined).length >= 2;
      },
      { what: "two configured subscriptions with data" },
    );
    client.close();
    const configured = subs.filter((s) => s.configured);
    expect(configured.map((s) => `${s.kind}${s.interval}`).sort()).toEqual(
      [`${SubscriptionKind.SUBSCRIPTION_KIND_TRADE}`, `${SubscriptionKind.SUBSCRIPTION_KIND_ORDER_BOOK}`, `${SubscriptionKind.SUBSCRIPTION_KIND_CANDLE}min1`, `${SubscriptionKind.SUBSCRIPTION_KIND_CANDLE}h1`].sort(),
    );
    for (const s of configured) expect(s).toMatchObject({ marketType: "spot", symbol: "BTCUSDT", consumers: 1 });
    expect(configured.filter((s) => s.lastMessageAge !== undefined).length).toBeGreaterThanOrEqual(2);
  });
});

describe("historical candles over gRPC", () => {
  it("GetCandles returns 7 days of h1 BTCUSDT (the seed's example) with canonical decimals", async () => {
    const client = new MarketDataServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const res = await call<GetCandlesResponse>((cb) =>
      client.getCandles({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", interval: "h1", from: undefined, to: undefined, days: 7, regularHoursOnly: undefined }, md, deadline(), cb),
    );
    client.close();
    expect(res.candles.length).toBeGreaterThanOrEqual(168);
    expect(res.candles[0]).toMatchObject({ symbol: "BTCUSDT", interval: "h1", isComplete: true });
    expect(res.candles[0]!.open).toMatch(/^\d+(\.\d+)?$/);
    expect(res.candles.at(-1)!.isComplete).toBe(false);
    expect(res.instrument).toMatchObject({ secType: "CRYPTO", exchange: "PAXOS" });
  });

  it("rejects an unknown interval naming the field and the accepted values; aliases work", async () => {
    const client = new MarketDataServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const get = (interval: string) =>
      call<GetCandlesResponse>((cb) => client.getCandles({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", interval, from: undefined, to: undefined, days: 1, regularHoursOnly: undefined }, md, deadline(), cb));
    const err = (await get("h3").catch((e: ServiceError) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain("interval");
    expect(err.details).toContain("min1");
    expect((await get("1h")).candles[0]?.interval).toBe("h1");
    client.close();
  });
});

describe("stream lifecycle", () => {
  it("a client cancel ends the consumer and releases the IB subscription when it was the last one", async () => {
    const client = new MarketDataServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const ticksOf = () => app.adapter.subscriptions().filter((s) => s.kind === "tick" && s.symbol === "MSFT");
    const stream = client.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "MSFT" }, md);
    const cancelled = new Promise<ServiceError>((resolve) => stream.on("error", resolve));
    await new Promise((resolve) => stream.once("data", resolve));
    expect(ticksOf()).toHaveLength(1);
    stream.cancel();
    expect((await cancelled).code).toBe(status.CANCELLED);
    await until(() => ticksOf().length === 0, { what: "the MSFT tick line to be released" });
    client.close();
  });
});

describe("recent trades over gRPC", () => {
  it("GetTrades returns the most recent prints, ascending, within the limit", async () => {
    const client = new MarketDataServiceClient(`127.0.0.1:${app.grpc.port}`, credentials.createInsecure());
    const res = await call<GetTradesResponse>((cb) => client.getTrades({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", from: undefined, to: undefined, limit: 50 }, md, deadline(), cb));
    expect(res.trades.length).toBeGreaterThanOrEqual(50);
    expect(res.trades.length).toBeLessThanOrEqual(50);
    const times = res.trades.map((t) => Number(t.time!.seconds));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(res.trades[0]).toMatchObject({ symbol: "BTCUSDT", side: 0 });
    expect(res.trades[0]!.price).toMatch(/^\d+(\.\d+)?$/);
    const tooMany = await call((cb) => client.getTrades({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", from: undefined, to: undefined, limit: 5000 }, md, deadline(), cb)).catch((e: ServiceError) => e);
    expect((tooMany as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((tooMany as ServiceError).details).toContain("limit");
    client.close();
  });
});
