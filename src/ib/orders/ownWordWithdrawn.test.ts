// The service's own word on an order — UNKNOWN with NOT_RECEIVED_BY_IB or FATE_UNKNOWN, said when IB had no
// record of it after a reconnect — is withdrawn once IB reports the order again (a later reconciliation finds
// it open or completed, or an orderStatus names it), instead of standing beside IB's status for good.
import { EventEmitter } from "node:events";
import { expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import type { OrderRequest } from "../../domain/orders/orderRequest.js";
import { orderToProto } from "../../grpc/mapping/orders.js";
import { createLogger } from "../../log/logger.js";
import { OrderStore } from "../../store/orderStore.js";
import { GatewayOrders } from "./gatewayOrders.js";
import { OrderDesk } from "./orderDesk.js";
import { FATE_UNKNOWN_CODE, NOT_RECEIVED_CODE, reconcileOrders, type ReconcileContext } from "./orderReconciler.js";

const log = createLogger("silent");
const ACCOUNT = "DU1234567";
const SPACE = "gw:4002/1";
const request = (id: string): OrderRequest => ({ clientOrderId: id, account: ACCOUNT, instrument: { conId: 1, symbol: "AAPL", secType: "STK", exchange: "SMART", currency: "USD" }, side: "BUY", quantity: dec("1"), type: "LMT", limitPrice: dec("100"), tif: "DAY", outsideRth: false });
const at = (nowMs: number): ReconcileContext => ({ account: ACCOUNT, idSpace: () => SPACE, nowMs, askedMs: nowMs - 10, clientId: 1 });
const nothing = { open: [], completed: [], executions: [] };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- IB's messages as @stoqey/ib decodes them, only the fields read
const ib = (o: unknown): any => o;

it("the store clears an order's last error when told null, and keeps it when the update leaves it out", () => {
  const store = OrderStore.open(":memory:");
  store.claim(request("a"), { nextValidId: 10, idSpace: SPACE, nowMs: 1_000 });
  store.updateState(ACCOUNT, "a", { lastError: { code: 399, text: "advisory" } }, 1_001);
  expect(store.updateState(ACCOUNT, "a", { status: "Submitted" }, 1_002)?.lastError).toEqual({ code: 399, text: "advisory" });
  expect(store.updateState(ACCOUNT, "a", { lastError: null }, 1_003)?.lastError).toBeUndefined();
});

it("FATE_UNKNOWN is withdrawn when a later reconciliation finds the order open at IB", () => {
  const store = OrderStore.open(":memory:");
  store.claim(request("open-again"), { nextValidId: 10, idSpace: SPACE, nowMs: 1_000 });
  store.updateState(ACCOUNT, "open-again", { status: "Submitted", permId: 5 }, 1_000);
  reconcileOrders(store, nothing, at(2_000));
  expect(store.get(ACCOUNT, "open-again")).toMatchObject({ status: "Unknown", lastError: { code: FATE_UNKNOWN_CODE } });

  const open = { orderId: 10, contract: {}, order: { orderRef: "open-again", permId: 5, clientId: 1, account: ACCOUNT }, state: { status: "Submitted" } };
  const changed = reconcileOrders(store, ib({ open: [open], completed: [], executions: [] }), at(3_000));
  const order = store.get(ACCOUNT, "open-again")!;
  expect([order.status, order.lastError]).toEqual(["Submitted", undefined]);
  expect(changed.orders.map((o) => o.clientOrderId)).toEqual(["open-again"]);
  expect(orderToProto(order).lastMessage).toBeUndefined();
});

it("NOT_RECEIVED_BY_IB is withdrawn when a later reconciliation finds the order completed at IB", () => {
  const store = OrderStore.open(":memory:");
  store.claim(request("done-later"), { nextValidId: 10, idSpace: SPACE, nowMs: 1_000 });
  reconcileOrders(store, nothing, at(2_000));
  expect(store.get(ACCOUNT, "done-later")).toMatchObject({ status: "Unknown", lastError: { code: NOT_RECEIVED_CODE } });

  const done = { contract: {}, order: { orderRef: "done-later", permId: 6, clientId: 1, account: ACCOUNT, filledQuantity: 1 }, state: { status: "Filled", completedStatus: "Filled" } };
  reconcileOrders(store, ib({ open: [], completed: [done], executions: [] }), at(3_000));
  const order = store.get(ACCOUNT, "done-later")!;
  expect([order.status, order.filled.toString(), order.lastError]).toEqual(["Filled", "1", undefined]);
});

it("an orderStatus about an Unknown order withdraws the service's word, even one repeating the status IB said before", () => {
  const store = OrderStore.open(":memory:");
  const api = Object.assign(new EventEmitter(), { reqAllOpenOrders() {}, reqCompletedOrders() {}, reqExecutions() {}, reqIds() {} });
  const gateway = new GatewayOrders(ib(api), ib({ request: async () => undefined, on() {} }), log, 1);
  const connection = Object.assign(new EventEmitter(), { isReady: false, status: { host: "gw", port: 4002, clientId: 1, activeAccount: ACCOUNT } });
  const desk = new OrderDesk({ gateway, connection: ib(connection), store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, log });
  const events: string[] = [];
  desk.on("event", (e) => e.type === "order" && events.push(`${e.order.status} ${e.order.lastError?.code ?? "-"}`));
  store.claim(request("heard"), { nextValidId: 10, idSpace: SPACE, nowMs: 1_000 });

  // IB said Submitted, then (its messages lost with the connection) reconciling found no record of the order.
  api.emit("orderStatus", 10, "Submitted", 0, 1, 0, 7, 0, 0, 1, "");
  reconcileOrders(store, nothing, at(Date.now() + 1_000));
  expect(store.get(ACCOUNT, "heard")).toMatchObject({ status: "Unknown", lastError: { code: FATE_UNKNOWN_CODE } });
  // IB names the order again, with the very status it said before (not news to the deduplicator).
  api.emit("orderStatus", 10, "Submitted", 0, 1, 0, 7, 0, 0, 1, "");
  const order = store.get(ACCOUNT, "heard")!;
  expect([order.status, order.lastError]).toEqual(["Submitted", undefined]);
  expect(events.at(-1)).toBe("Submitted -");
});
