import { status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderSide, OrderStatus, OrderType } from "../../gen/ibprovider/v1/order_service.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { errorInfoOf } from "./errorInfo.js";
import { createIbProviderClient, type IbProviderClient } from "./ibProviderClient.js";

// client.orders against the whole service on its embedded simulator, whose paper account fills orders.
const READ_TOKEN = "client-orders-read-token";
const TRADE_TOKEN = "client-orders-trade-token";
let app: TestApp;
let trader: IbProviderClient;
let reader: IbProviderClient;

beforeAll(async () => {
  app = await startTestApp({ env: { ORDERS_ENABLED: "true", PROVIDER_TRADE_TOKEN: TRADE_TOKEN, PROVIDER_API_TOKEN: READ_TOKEN } });
  trader = createIbProviderClient({ address: app.grpcAddress, token: TRADE_TOKEN });
  reader = createIbProviderClient({ address: app.grpcAddress, token: READ_TOKEN });
}, 20_000);

afterAll(async () => {
  trader?.close();
  reader?.close();
  await app?.stop();
});

describe("client.orders", () => {
  it("places a market order on BTCUSDT, sees it filled, and reads its execution with its commission; placed again, it is the same order", async () => {
    const order = { clientOrderId: "client-mkt-1", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_MARKET, quantity: "0.01" };
    const placed = await trader.orders.place(order);
    expect(placed.alreadyPlaced).toBe(false);
    expect(placed.orders.map((o) => [o.clientOrderId, o.symbol, o.marketType])).toEqual([["client-mkt-1", "BTCUSDT", "spot"]]);

    // The order as last seen goes into the failure message: a fill that never comes says where it stopped.
    let filled = placed.orders[0];
    const isFilled = async () => (filled = (await trader.orders.get("client-mkt-1")).order)?.status === OrderStatus.ORDER_STATUS_FILLED;
    await until(isFilled, { what: "the order filled" }).catch((err: Error) => Promise.reject(new Error(`${err.message}; last seen ${JSON.stringify(filled)}`)));
    expect(filled?.filledQuantity).toBe("0.01");
    await until(async () => (await trader.orders.executions({ clientOrderId: "client-mkt-1" })).executions.some((e) => e.commission !== ""), { what: "the execution's commission" });
    const { executions } = await trader.orders.executions({ clientOrderId: "client-mkt-1" });
    expect(executions.reduce((sum, e) => sum + Number(e.quantity), 0)).toBeCloseTo(0.01, 10);
    expect(executions[0]).toMatchObject({ clientOrderId: "client-mkt-1", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, commission: expect.stringMatching(/^\d+(\.\d+)?$/) });
    expect(Number(executions[0]!.price)).toBeGreaterThan(0);

    // The client order id is the idempotency key: the same call again sends nothing.
    const again = await trader.orders.place(order);
    expect(again.alreadyPlaced).toBe(true);
    expect(again.orders[0]!.permId).toBe(filled!.permId);
    // The list's market filters default to any market, not the instrument defaults of other requests.
    expect((await reader.orders.list()).orders.map((o) => o.clientOrderId)).toContain("client-mkt-1");
  });

  it("a read token reads orders and the trading status, and is refused placing with PERMISSION_DENIED (SCOPE_MISSING)", async () => {
    expect((await reader.orders.tradingStatus()).tradingStatus).toMatchObject({ ordersEnabled: true, isPaper: true });
    const err = (await reader.orders.place({ clientOrderId: "client-read-1", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_MARKET, quantity: "0.01" }).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(errorInfoOf(err)?.reason).toBe("SCOPE_MISSING");
  });

  it("the kill switch cancels a resting limit order and refuses new orders until enabled", async () => {
    await trader.orders.place({ clientOrderId: "client-lmt-1", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_LIMIT, quantity: "0.01", limitPrice: "1000" });
    const killed = await trader.orders.cancelAll("client test");
    expect(killed.tradingStatus?.blocks).toEqual([expect.objectContaining({ reason: "KILL_SWITCH_ENGAGED", note: expect.stringContaining("client test") })]);
    await until(async () => (await trader.orders.get("client-lmt-1")).order?.status === OrderStatus.ORDER_STATUS_CANCELLED, { what: "the limit order cancelled" });
    const err = (await trader.orders.place({ clientOrderId: "client-lmt-2", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_LIMIT, quantity: "0.01", limitPrice: "1000" }).catch((e: unknown) => e)) as ServiceError;
    expect([err.code, errorInfoOf(err)?.reason]).toEqual([status.FAILED_PRECONDITION, "KILL_SWITCH_ENGAGED"]);
    expect((await trader.orders.enable("done")).tradingStatus?.ordersEnabled).toBe(true);
    // Cancelling an order already cancelled answers it as it is.
    expect((await trader.orders.cancel("client-lmt-1")).order?.status).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
  });

  it("modifies a resting limit order's price and quantity; a filled order is refused with ORDER_NOT_OPEN", async () => {
    await trader.orders.place({ clientOrderId: "client-mod-1", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_LIMIT, quantity: "0.02", limitPrice: "1000" });
    const modified = await trader.orders.modify("client-mod-1", { limitPrice: "1001", quantity: "0.01" });
    expect(modified.order).toMatchObject({ clientOrderId: "client-mod-1", limitPrice: "1001", quantity: "0.01", status: OrderStatus.ORDER_STATUS_SUBMITTED });
    expect((await trader.orders.get("client-mod-1")).order).toMatchObject({ limitPrice: "1001", quantity: "0.01" });
    await trader.orders.cancel("client-mod-1");
    const err = (await trader.orders.modify("client-mkt-1", { quantity: "0.02" }).catch((e: unknown) => e)) as ServiceError;
    expect([err.code, errorInfoOf(err)?.reason]).toEqual([status.FAILED_PRECONDITION, "ORDER_NOT_OPEN"]);
  });

  it("previews an order with IB's what-if and places nothing", async () => {
    const preview = await trader.orders.preview({ clientOrderId: "client-preview-1", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_LIMIT, quantity: "0.01", limitPrice: "1000" });
    expect(preview.accountId).not.toBe("");
    const err = (await trader.orders.get("client-preview-1").catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it("streams the account's orders: the trading status first, then a placed order's changes to its cancel", async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const stream = reader.orders.stream({}, { signal: controller.signal });
    let placed = false;
    try {
      for await (const item of stream) {
        if (item.kind !== "event") continue;
        const event = item.event.event;
        if (event?.$case === "tradingStatus" && !placed) {
          placed = true; // subscribed: what follows is live
          await trader.orders.place({ clientOrderId: "client-stream-1", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_LIMIT, limitPrice: "1000", quantity: "0.01" });
          await trader.orders.cancel("client-stream-1");
        }
        if (event?.$case === "order" && event.value.clientOrderId === "client-stream-1") {
          seen.push(OrderStatus[event.value.status]);
          if (event.value.status === OrderStatus.ORDER_STATUS_CANCELLED) break;
        }
      }
    } finally {
      controller.abort();
    }
    expect(seen).toContain("ORDER_STATUS_SUBMITTED");
    expect(seen.at(-1)).toBe("ORDER_STATUS_CANCELLED");
  });
});
