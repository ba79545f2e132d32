import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountServiceClient, type AccountEvent } from "../../../gen/ibprovider/v1/account_service.js";
import { OrderServiceClient, OrderSide, OrderStatus, OrderType, TimeInForce, type NewOrder, type Order } from "../../../gen/ibprovider/v1/order_service.js";
import type { Position } from "../../../gen/ibprovider/v1/types.js";
import { startSimulator, type SimulatorHandle } from "../../simulator/index.js";
import { AAPL_BOOK, RICH_ACCOUNT } from "../../simulator/testing/orderFixture.js";
import { createScriptedMarket } from "../../simulator/testing/scriptedMarket.js";
import { startTestApp, type TestApp } from "../../testing/testApp.js";
import { until } from "../../testing/until.js";
import { Collector } from "../testing/streamCollector.js";
import { bearer, newOrder, orderCall } from "./testing/orderCalls.js";

// Each order type end to end through the service: the simulated Gateway's engine fills it against a book the
// test sets (a market order takes the ask, a limit waits for the market to cross it, a stop and a stop-limit
// trigger when the market touches their stop), and the account moves: StreamAccount shows the position and
// the cash after every fill.
// The trade token holds every scope (the account stream too).
const TOKEN = "order-types-token-0123456789";
const call = orderCall(TOKEN);
const aapl = (over: Partial<NewOrder>): NewOrder => newOrder({ symbol: "AAPL", orderType: OrderType.ORDER_TYPE_MARKET, quantity: "100", timeInForce: TimeInForce.TIME_IN_FORCE_DAY, ...over });

describe("each order type through the service, with the account moving", () => {
  const market = createScriptedMarket(5, Date.now);
  let sim: SimulatorHandle;
  let dir: string;
  let app: TestApp;
  let orders: OrderServiceClient;
  let accounts: AccountServiceClient;
  let account: Collector;

  const positions = () => (account.events as AccountEvent[]).flatMap((e) => (e.event?.$case === "position" && e.event.value.symbol === "AAPL" ? [e.event.value as Position] : []));
  const aaplPosition = () => positions().at(-1)?.quantity;
  const cash = () => (account.events as AccountEvent[]).flatMap((e) => (e.event?.$case === "summary" ? [Number(e.event.value.totalCashValue)] : [])).at(-1);
  const orderOf = async (id: string): Promise<Order> => (await call(orders.getOrder, orders, { clientOrderId: id, accountId: "", permId: "0" })).order!;
  const filled = async (id: string) => until(async () => (await orderOf(id)).status === OrderStatus.ORDER_STATUS_FILLED, { what: `${id} filled`, timeoutMs: 10_000 });

  beforeAll(async () => {
    market.setBook("AAPL", AAPL_BOOK);
    sim = await startSimulator({ host: "127.0.0.1", port: 0, market, accounts: [RICH_ACCOUNT], tickIntervalMs: 20 });
    dir = mkdtempSync(join(tmpdir(), "order-types-"));
    app = await startTestApp({ env: { IB_GATEWAY_URL: `127.0.0.1:${sim.port}`, STORE_PATH: join(dir, "store.db"), PROVIDER_API_TOKEN: "order-types-read-token-0123", PROVIDER_TRADE_TOKEN: TOKEN, ORDERS_ENABLED: "true" } });
    orders = new OrderServiceClient(app.grpcAddress, credentials.createInsecure());
    accounts = new AccountServiceClient(app.grpcAddress, credentials.createInsecure());
    account = new Collector(accounts.streamAccount({ connectorType: "ib", marketType: "spot", accountId: "" }, bearer(TOKEN)));
    await account.until(() => cash() !== undefined, { what: "the account's first summary" });
  }, 30_000);
  afterAll(async () => {
    account.call.cancel();
    orders.close();
    accounts.close();
    await app.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a market order takes the ask: filled at 230.10, the position 100 and the cash down by its cost and commission", async () => {
    const before = cash()!;
    await call(orders.placeOrder, orders, { order: aapl({ clientOrderId: "t-mkt" }) });
    await filled("t-mkt");
    expect((await orderOf("t-mkt")).averageFillPrice).toBe("230.1");
    await account.until(() => aaplPosition() === "100", { what: "the position in StreamAccount" });
    await account.until(() => cash()! < before - 23_010 + 1e-6, { what: "the cash spent in StreamAccount" });
    expect(before - cash()!).toBeCloseTo(23_010 + 1, 2); // 100 × 230.10 and IB's minimum commission of USD 1
  });

  it("a limit order rests until the market crosses it, then fills at its limit: the position back to 0", async () => {
    await call(orders.placeOrder, orders, { order: aapl({ clientOrderId: "t-lmt", side: OrderSide.ORDER_SIDE_SELL, orderType: OrderType.ORDER_TYPE_LIMIT, limitPrice: "231" }) });
    expect((await orderOf("t-lmt")).status).toBe(OrderStatus.ORDER_STATUS_SUBMITTED);
    market.setBook("AAPL", { bids: [["231.05", "300"]], asks: [["231.10", "300"]] });
    await filled("t-lmt");
    expect(Number((await orderOf("t-lmt")).averageFillPrice)).toBeGreaterThanOrEqual(231);
    await account.until(() => aaplPosition() === "0", { what: "the position closed in StreamAccount" });
  });

  it("a stop order waits for its trigger, then fills as a market order", async () => {
    await call(orders.placeOrder, orders, { order: aapl({ clientOrderId: "t-stp", orderType: OrderType.ORDER_TYPE_STOP, stopPrice: "232" }) });
    expect([OrderStatus.ORDER_STATUS_PRE_SUBMITTED, OrderStatus.ORDER_STATUS_SUBMITTED]).toContain((await orderOf("t-stp")).status);
    market.setBook("AAPL", { bids: [["232.00", "300"]], asks: [["232.05", "300"]] });
    await filled("t-stp");
    expect((await orderOf("t-stp")).averageFillPrice).toBe("232.05");
    await account.until(() => aaplPosition() === "100", { what: "the position in StreamAccount" });
  });

  it("a stop-limit order triggers at its stop and fills no worse than its limit", async () => {
    await call(orders.placeOrder, orders, { order: aapl({ clientOrderId: "t-stplmt", side: OrderSide.ORDER_SIDE_SELL, orderType: OrderType.ORDER_TYPE_STOP_LIMIT, stopPrice: "229", limitPrice: "228.9" }) });
    market.setBook("AAPL", { bids: [["228.95", "300"]], asks: [["229.00", "300"]] });
    await filled("t-stplmt");
    expect(Number((await orderOf("t-stplmt")).averageFillPrice)).toBeGreaterThanOrEqual(228.9);
    await account.until(() => aaplPosition() === "0", { what: "the position closed in StreamAccount" });
    const { executions } = await call(orders.listExecutions, orders, { accountId: "", clientOrderId: "", symbol: "AAPL", limit: 0, connectorType: "", marketType: "" });
    expect(new Set(executions.map((e) => e.clientOrderId))).toEqual(new Set(["t-mkt", "t-lmt", "t-stp", "t-stplmt"]));
  });
});
