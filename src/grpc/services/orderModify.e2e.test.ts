import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderServiceClient, OrderStatus, OrderType, TimeInForce, type ModifyOrderRequest, type NewOrder, type Order } from "../../../gen/ibprovider/v1/order_service.js";
import { runningClock } from "../../simulator/testing/harness.js";
import { AAPL_BOOK, RICH_ACCOUNT } from "../../simulator/testing/orderFixture.js";
import { createScriptedMarket, type ScriptedMarket } from "../../simulator/testing/scriptedMarket.js";
import { OrderStore } from "../../store/orderStore.js";
import { startTestApp, type TestApp } from "../../testing/testApp.js";
import { until } from "../../testing/until.js";
import { bearer, newOrder, orderCall, refusal } from "./testing/orderCalls.js";

// ModifyOrder end to end: the whole service over the simulated Gateway's matching engine on a scripted AAPL
// book (bid 230.00, ask 230.10), so that "the market crosses the new price, not the old" is one setBook.
const TRADE_TOKEN = "modify-trade-token-0123456789";


const call = orderCall(TRADE_TOKEN);
const aapl = (over: Partial<NewOrder> = {}): NewOrder => newOrder({ symbol: "AAPL", quantity: "10", limitPrice: "229.00", ...over });
const change = (clientOrderId: string, over: Partial<ModifyOrderRequest> = {}): ModifyOrderRequest => ({ clientOrderId, accountId: "", timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED, ...over });

describe("OrderService.ModifyOrder", () => {
  let market: ScriptedMarket;
  let dir: string;
  let app: TestApp;
  let client: OrderServiceClient;
  const simOrder = (ref: string) => app.simulator!.orders.list().find((o) => o.orderRef === ref);
  const orderOf = async (id: string): Promise<Order> => (await call(client.getOrder, client, { clientOrderId: id, accountId: "", permId: "0" })).order!;
  const place = async (order: NewOrder): Promise<Order> => {
    const placed = await call(client.placeOrder, client, { order });
    // A stop waiting for its trigger is PreSubmitted at IB.
    expect([OrderStatus.ORDER_STATUS_SUBMITTED, OrderStatus.ORDER_STATUS_PRE_SUBMITTED], JSON.stringify(placed.orders[0]!.lastMessage)).toContain(placed.orders[0]!.status);
    return placed.orders[0]!;
  };

  beforeAll(async () => {
    const now = runningClock();
    market = createScriptedMarket(1, now);
    market.setBook("AAPL", AAPL_BOOK);
    dir = mkdtempSync(join(tmpdir(), "order-modify-"));
    app = await startTestApp({
      env: { STORE_PATH: join(dir, "store.db"), PROVIDER_TRADE_TOKEN: TRADE_TOKEN, ORDERS_ENABLED: "true", ORDERS_MAX_QUANTITY: "AAPL=100" },
      simulator: { now, market, accounts: [RICH_ACCOUNT], tickIntervalMs: 20 },
    });
    client = new OrderServiceClient(app.grpcAddress, credentials.createInsecure());
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("moves a resting limit order's price at the Gateway: it fills when the market crosses the new price, not the old; PlaceOrder retried after it still answers already_placed", async () => {
    const placed = await place(aapl({ clientOrderId: "move-1" }));
    const modified = await call(client.modifyOrder, client, change("move-1", { limitPrice: "229.50" }));
    expect(modified.order).toMatchObject({ clientOrderId: "move-1", orderId: placed.orderId, limitPrice: "229.5", quantity: "10", status: OrderStatus.ORDER_STATUS_SUBMITTED });
    expect(modified.order!.lastMessage).toBeUndefined();
    expect(simOrder("move-1")?.lmtPrice?.toString()).toBe("229.5");
    expect(app.simulator!.orders.received.filter((o) => o.orderRef === "move-1").map((o) => o.orderId)).toEqual([Number(placed.orderId), Number(placed.orderId)]);

    // The request as placed is the idempotency key: the original request is a retry, answered with the order as it is now.
    const again = await call(client.placeOrder, client, { order: aapl({ clientOrderId: "move-1" }) });
    expect(again.alreadyPlaced).toBe(true);
    expect(again.orders[0]).toMatchObject({ orderId: placed.orderId, limitPrice: "229.5" });
    expect(app.simulator!.orders.received.filter((o) => o.orderRef === "move-1")).toHaveLength(2);

    // 229.40 is above the old price (229.00) and below the new one.
    market.setBook("AAPL", { bids: [["229.30", "100"]], asks: [["229.40", "100"]] });
    await until(async () => (await orderOf("move-1")).status === OrderStatus.ORDER_STATUS_FILLED, { what: "the order filled at its new price", timeoutMs: 5_000 });
    const filled = await orderOf("move-1");
    expect(filled.filledQuantity).toBe("10");
    expect(Number(filled.averageFillPrice)).toBeGreaterThan(229);
    expect(Number(filled.averageFillPrice)).toBeLessThanOrEqual(229.5);

    expect(await refusal(call(client.modifyOrder, client, change("move-1", { limitPrice: "229.60" })))).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "ORDER_NOT_OPEN", field: "client_order_id" });
    market.setBook("AAPL", AAPL_BOOK);
  }, 30_000);

  it("reduces a resting order's quantity, changes its time in force and outside-RTH flag; the same change again sends nothing", async () => {
    const placed = await place(aapl({ clientOrderId: "shrink-1", limitPrice: "228.00" }));
    const modified = await call(client.modifyOrder, client, change("shrink-1", { quantity: "4", timeInForce: TimeInForce.TIME_IN_FORCE_DAY, outsideRth: true }));
    expect(modified.order).toMatchObject({ orderId: placed.orderId, quantity: "4", limitPrice: "228", timeInForce: TimeInForce.TIME_IN_FORCE_DAY, outsideRth: true });
    expect(simOrder("shrink-1")).toMatchObject({ tif: "DAY", outsideRth: true });
    expect(simOrder("shrink-1")?.totalQuantity.toString()).toBe("4");
    await until(async () => (await orderOf("shrink-1")).remainingQuantity === "4", { what: "IB's status with the new remaining quantity", timeoutMs: 5_000 });

    const sent = app.simulator!.orders.receivedCount();
    expect((await call(client.modifyOrder, client, change("shrink-1", { quantity: "4.0" }))).order).toMatchObject({ quantity: "4" });
    expect(app.simulator!.orders.receivedCount()).toBe(sent);
    await call(client.cancelOrder, client, { clientOrderId: "shrink-1", accountId: "" });
  }, 30_000);

  it("a change IB refuses (110: off the tick) comes back as last_message, and the order keeps its terms", async () => {
    await place(aapl({ clientOrderId: "tick-1", limitPrice: "228.00" }));
    const modified = await call(client.modifyOrder, client, change("tick-1", { limitPrice: "228.005" }));
    expect(modified.order).toMatchObject({ limitPrice: "228", status: OrderStatus.ORDER_STATUS_SUBMITTED, lastMessage: { ibCode: 110, reason: "IB_110" } });
    expect(simOrder("tick-1")?.lmtPrice?.toString()).toBe("228");
    expect((await orderOf("tick-1")).limitPrice).toBe("228");
    await call(client.cancelOrder, client, { clientOrderId: "tick-1", accountId: "" });
  }, 30_000);

  it("refuses a change naming the field: a price the order's type does not use, a bad decimal, nothing to change, a quantity below what has filled; an unknown order is NOT_FOUND", async () => {
    await place(aapl({ clientOrderId: "shape-lmt", limitPrice: "228.00" }));
    await place(aapl({ clientOrderId: "shape-stp", orderType: OrderType.ORDER_TYPE_STOP, limitPrice: "", stopPrice: "240.00" }));
    const before = app.simulator!.orders.receivedCount();
    const cases: [ModifyOrderRequest, string, string][] = [
      [change("shape-stp", { limitPrice: "241" }), "limit_price", "PRICE_NOT_EXPECTED"],
      [change("shape-lmt", { stopPrice: "227" }), "stop_price", "PRICE_NOT_EXPECTED"],
      [change("shape-lmt", { quantity: "lots" }), "quantity", "INVALID_DECIMAL"],
      [change("shape-lmt", { quantity: "0" }), "quantity", "QUANTITY_NOT_POSITIVE"],
      [change("shape-lmt", { limitPrice: "-1" }), "limit_price", "PRICE_NOT_POSITIVE"],
      [change("shape-lmt", { timeInForce: 99 as TimeInForce }), "time_in_force", "INVALID_TIME_IN_FORCE"],
      [change("shape-lmt"), "client_order_id", "NOTHING_TO_MODIFY"],
      [change(""), "client_order_id", "CLIENT_ORDER_ID_REQUIRED"],
    ];
    for (const [request, field, reason] of cases) {
      const refused = await refusal(call(client.modifyOrder, client, request));
      expect(refused, JSON.stringify(request)).toMatchObject({ code: status.INVALID_ARGUMENT, field, reason });
      expect(refused.message, JSON.stringify(request)).toContain(field);
    }
    expect(await refusal(call(client.modifyOrder, client, change("no-such-order", { quantity: "1" })))).toMatchObject({ code: status.NOT_FOUND, reason: "ORDER_NOT_FOUND" });
    // A per-order limit applies to the new terms too.
    expect(await refusal(call(client.modifyOrder, client, change("shape-lmt", { quantity: "101" })))).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "QUANTITY_ABOVE_LIMIT", field: "quantity" });
    expect(app.simulator!.orders.receivedCount()).toBe(before);

    // The simulator's book refills each check (every 20 ms): 2 a check at 228.50 fill a 100 in about a second;
    // the book is put back at the first fill, so the order is still open with a part filled.
    await place(aapl({ clientOrderId: "partial-1", quantity: "100", limitPrice: "228.50" }));
    market.setBook("AAPL", { bids: [["228.40", "100"]], asks: [["228.50", "2"]] });
    try {
      await until(async () => Number((await orderOf("partial-1")).filledQuantity) > 0, { what: "a partial fill", timeoutMs: 5_000 });
    } finally {
      market.setBook("AAPL", AAPL_BOOK);
    }
    expect(await refusal(call(client.modifyOrder, client, change("partial-1", { quantity: "1" })))).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "QUANTITY_BELOW_FILLED", field: "quantity" });
    await call(client.cancelOrder, client, { clientOrderId: "partial-1", accountId: "" });
    await call(client.cancelOrder, client, { clientOrderId: "shape-lmt", accountId: "" });
    await call(client.cancelOrder, client, { clientOrderId: "shape-stp", accountId: "" });
  }, 30_000);

  it("is refused under the kill switch, nothing sent", async () => {
    await place(aapl({ clientOrderId: "kill-1", limitPrice: "228.00" }));
    // Engaged by another connection to the store file (as the operator's CLI would): the global cancel is not sent, the order stays open.
    const operator = OrderStore.open(join(dir, "store.db"));
    try {
      operator.setKillSwitch(true, "test: kill switch");
      const before = app.simulator!.orders.receivedCount();
      expect(await refusal(call(client.modifyOrder, client, change("kill-1", { limitPrice: "228.50" })))).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "KILL_SWITCH_ENGAGED" });
      expect(app.simulator!.orders.receivedCount()).toBe(before);
      expect(simOrder("kill-1")?.lmtPrice?.toString()).toBe("228");
    } finally {
      operator.close();
    }
    await call(client.enableOrders, client, { note: "test over" });
    await call(client.cancelOrder, client, { clientOrderId: "kill-1", accountId: "" });
  }, 30_000);

  it("over REST: POST /api/orders/{client_order_id}:modify", async () => {
    await place(aapl({ clientOrderId: "rest-mod-1", limitPrice: "228.00" }));
    const res = await fetch(`${app.app.rest.url}/api/orders/rest-mod-1:modify`, { method: "POST", headers: { authorization: `Bearer ${TRADE_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ limitPrice: "228.25", quantity: "5" }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ order: { clientOrderId: "rest-mod-1", limitPrice: "228.25", quantity: "5", status: "ORDER_STATUS_SUBMITTED" } });
    expect(simOrder("rest-mod-1")?.lmtPrice?.toString()).toBe("228.25");
    await call(client.cancelOrder, client, { clientOrderId: "rest-mod-1", accountId: "" });
  }, 30_000);
});
