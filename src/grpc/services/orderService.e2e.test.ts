import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderServiceClient, OrderStatus, OrderType, type NewOrder, type Order } from "../../../gen/ibprovider/v1/order_service.js";
import { startSimulator, type SimulatorHandle } from "../../simulator/index.js";
import { startTestApp, type TestApp } from "../../testing/testApp.js";
import { until } from "../../testing/until.js";
import { newOrder, orderCall, refusal } from "./testing/orderCalls.js";

// OrderService end to end: the whole service over the simulated Gateway's matching engine, orders in a real
// store file, every rail refusing what it must with its reason, and one client order id sending one order
// to the Gateway across a service restart.
const READ_TOKEN = "orders-read-token-0123456789";
const TRADE_TOKEN = "orders-trade-token-0123456789";

const call = orderCall(TRADE_TOKEN);
const btc = (over: Partial<NewOrder> = {}): NewOrder => newOrder({ symbol: "BTCUSDT", quantity: "0.1", limitPrice: "1000", ...over });

describe("OrderService", () => {
  let sim: SimulatorHandle;
  let dir: string;
  let app: TestApp;
  let client: OrderServiceClient;
  const env = (over: Record<string, string> = {}) => ({ IB_GATEWAY_URL: `127.0.0.1:${sim.port}`, STORE_PATH: join(dir, "store.db"), PROVIDER_API_TOKEN: READ_TOKEN, PROVIDER_TRADE_TOKEN: TRADE_TOKEN, ORDERS_ENABLED: "true", ORDERS_MAX_QUANTITY: "BTCUSDT=1", ...over });
  const start = async (over: Record<string, string> = {}) => {
    app = await startTestApp({ env: env(over) });
    client = new OrderServiceClient(app.grpcAddress, credentials.createInsecure());
  };
  const stop = async () => {
    client.close();
    await app.stop();
  };

  beforeAll(async () => {
    sim = await startSimulator({ host: "127.0.0.1", port: 0, seed: 11, tickIntervalMs: 20 });
    dir = mkdtempSync(join(tmpdir(), "order-service-"));
    await start();
  }, 30_000);
  afterAll(async () => {
    await stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("places a limit order once per client order id, even across a service restart (one order reaches the Gateway)", async () => {
    const first = await call(client.placeOrder, client, { order: btc({ clientOrderId: "restart-1" }) });
    expect(first.alreadyPlaced).toBe(false);
    expect(first.orders[0]!.status).toBe(OrderStatus.ORDER_STATUS_SUBMITTED);
    const again = await call(client.placeOrder, client, { order: btc({ clientOrderId: "restart-1" }) });
    expect(again.alreadyPlaced).toBe(true);
    await stop();
    await start();
    const afterRestart = await call(client.placeOrder, client, { order: btc({ clientOrderId: "restart-1" }) });
    expect(afterRestart.alreadyPlaced).toBe(true);
    expect(afterRestart.orders[0]!.orderId).toBe(first.orders[0]!.orderId);
    expect(sim.orders.received.filter((o) => o.orderRef === "restart-1")).toHaveLength(1);
    // The same id with another order is refused, not placed.
    expect(await refusal(call(client.placeOrder, client, { order: btc({ clientOrderId: "restart-1", quantity: "0.2" }) }))).toMatchObject({ code: status.ALREADY_EXISTS, reason: "CLIENT_ORDER_ID_REUSED", field: "order.client_order_id" });
    const cancelled = await call(client.cancelOrder, client, { clientOrderId: "restart-1", accountId: "" });
    expect(cancelled.order?.clientOrderId).toBe("restart-1");
    await until(async () => (await call(client.getOrder, client, { clientOrderId: "restart-1", accountId: "", permId: "0" })).order?.status === OrderStatus.ORDER_STATUS_CANCELLED, { what: "the cancel confirmed", timeoutMs: 5_000 });
  }, 30_000);

  it("fills a bracket's market parent, lists its executions with commissions, and the kill switch cancels its legs and blocks new orders until enabled", async () => {
    const placed = await call(client.placeOrder, client, { order: btc({ clientOrderId: "bracket-1", orderType: OrderType.ORDER_TYPE_MARKET, limitPrice: "", quantity: "0.2", takeProfit: { clientOrderId: "", limitPrice: "900000", timeInForce: 0 }, stopLoss: { clientOrderId: "", stopPrice: "1000", limitPrice: "", timeInForce: 0 } }) });
    expect(placed.orders.map((o) => o.clientOrderId)).toEqual(["bracket-1", "bracket-1.tp", "bracket-1.sl"]);
    const orderOf = async (id: string): Promise<Order> => (await call(client.getOrder, client, { clientOrderId: id, accountId: "", permId: "0" })).order!;
    await until(async () => (await orderOf("bracket-1")).status === OrderStatus.ORDER_STATUS_FILLED, { what: "the parent filled", timeoutMs: 5_000 });
    const parent = await orderOf("bracket-1");
    expect(parent.filledQuantity).toBe("0.2");
    expect(Number(parent.averageFillPrice)).toBeGreaterThan(0);
    await until(async () => (await call(client.listExecutions, client, { accountId: "", clientOrderId: "bracket-1", symbol: "", limit: 0, connectorType: "", marketType: "" })).executions.every((e) => e.commission !== ""), { what: "commissions joined", timeoutMs: 5_000 });
    const { executions } = await call(client.listExecutions, client, { accountId: "", clientOrderId: "bracket-1", symbol: "", limit: 0, connectorType: "", marketType: "" });
    expect(executions.length).toBeGreaterThan(0);
    expect(executions.reduce((sum, e) => sum + Number(e.quantity), 0)).toBeCloseTo(0.2, 10);
    expect((await call(client.getOrder, client, { clientOrderId: "", accountId: "", permId: parent.permId })).order?.clientOrderId).toBe("bracket-1");
    await until(async () => (await orderOf("bracket-1.tp")).status === OrderStatus.ORDER_STATUS_SUBMITTED, { what: "the take-profit working", timeoutMs: 5_000 });

    const killed = await call(client.cancelAllOrders, client, { note: "test" });
    expect(killed.tradingStatus?.blocks.map((b) => b.reason)).toEqual(["KILL_SWITCH_ENGAGED"]);
    await until(async () => (await orderOf("bracket-1.tp")).status === OrderStatus.ORDER_STATUS_CANCELLED && (await orderOf("bracket-1.sl")).status === OrderStatus.ORDER_STATUS_CANCELLED, { what: "the legs cancelled", timeoutMs: 5_000 });
    const before = sim.orders.receivedCount();
    expect(await refusal(call(client.placeOrder, client, { order: btc({ clientOrderId: "after-kill" }) }))).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "KILL_SWITCH_ENGAGED" });
    expect(sim.orders.receivedCount()).toBe(before);
    const enabled = await call(client.enableOrders, client, { note: "test over" });
    expect(enabled.tradingStatus?.ordersEnabled).toBe(true);
    expect((await call(client.placeOrder, client, { order: btc({ clientOrderId: "after-enable" }) })).alreadyPlaced).toBe(false);
    await call(client.cancelOrder, client, { clientOrderId: "after-enable", accountId: "" });
  }, 30_000);

  it("refuses what a rail or the request's shape forbids, before the Gateway sees it, naming the field", async () => {
    const before = sim.orders.receivedCount();
    expect(await refusal(call(client.placeOrder, client, { order: btc({ clientOrderId: "read" }) }, READ_TOKEN))).toMatchObject({ code: status.PERMISSION_DENIED, reason: "SCOPE_MISSING" });
    expect(await refusal(call(client.placeOrder, client, { order: btc({ clientOrderId: "big", quantity: "2" }) }))).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "QUANTITY_ABOVE_LIMIT", field: "order.quantity" });
    const noPrice = await refusal(call(client.placeOrder, client, { order: btc({ clientOrderId: "no-price", limitPrice: "" }) }));
    expect(noPrice).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PRICE_REQUIRED", field: "order.limit_price" });
    expect(noPrice.message).toMatch(/^order\.limit_price is required for a LMT order/);
    expect(await refusal(call(client.placeOrder, client, { order: btc({ clientOrderId: "bad-qty", quantity: "lots" }) }))).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "INVALID_DECIMAL", field: "order.quantity" });
    expect(await refusal(call(client.placeOrder, client, { order: btc({ clientOrderId: "x", symbol: "" }) }))).toMatchObject({ code: status.INVALID_ARGUMENT, field: "order.symbol" });
    expect(await refusal(call(client.placeOrder, client, { order: btc({ clientOrderId: "" }) }))).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "CLIENT_ORDER_ID_REQUIRED", field: "order.client_order_id" });
    expect(sim.orders.receivedCount()).toBe(before);
  });

  it("over REST: POST /api/orders places, a retry answers already_placed, GET /api/orders lists", async () => {
    const body = JSON.stringify({ order: { clientOrderId: "rest-1", connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", side: "ORDER_SIDE_BUY", orderType: "ORDER_TYPE_LIMIT", quantity: "0.05", limitPrice: "1000", timeInForce: "TIME_IN_FORCE_GTC" } });
    const post = () => fetch(`${app.app.rest.url}/api/orders`, { method: "POST", headers: { authorization: `Bearer ${TRADE_TOKEN}`, "content-type": "application/json" }, body });
    const first = await post();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ orders: [{ clientOrderId: "rest-1", status: "ORDER_STATUS_SUBMITTED" }] });
    expect(await (await post()).json()).toMatchObject({ alreadyPlaced: true });
    const listed = (await (await fetch(`${app.app.rest.url}/api/orders?openOnly=true`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).json()) as { orders: { clientOrderId: string }[] };
    expect(listed.orders.map((o) => o.clientOrderId)).toContain("rest-1");
    await call(client.cancelOrder, client, { clientOrderId: "rest-1", accountId: "" });
  });
});

describe("OrderService's rails on the default settings", () => {
  it("refuses orders while ORDERS_ENABLED is unset, and a live account unless ORDERS_ALLOW_LIVE", async () => {
    const off = await startTestApp({ env: { PROVIDER_TRADE_TOKEN: TRADE_TOKEN } });
    const live = await startTestApp({ env: { PROVIDER_TRADE_TOKEN: TRADE_TOKEN, ORDERS_ENABLED: "on" }, simulator: { seed: 2, accounts: ["U7654321"] } });
    const clients = [off, live].map((a) => new OrderServiceClient(a.grpcAddress, credentials.createInsecure()));
    try {
      expect(await refusal(call(clients[0]!.placeOrder, clients[0]!, { order: btc({ clientOrderId: "off-1" }) }))).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "ORDERS_DISABLED" });
      expect((await call(clients[0]!.getTradingStatus, clients[0]!, {})).tradingStatus).toMatchObject({ ordersEnabled: false, blocks: [{ reason: "ORDERS_DISABLED" }] });
      expect(await refusal(call(clients[1]!.placeOrder, clients[1]!, { order: btc({ clientOrderId: "live-1" }) }))).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "LIVE_ACCOUNT_REFUSED" });
      expect(live.simulator!.orders.receivedCount()).toBe(0);
    } finally {
      for (const c of clients) c.close();
      await off.stop();
      await live.stop();
    }
  }, 30_000);
});
