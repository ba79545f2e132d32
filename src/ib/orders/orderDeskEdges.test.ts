// The order desk at IB's edges, against fakes of the Gateway seam (GatewayOrders' api, the connection): what a
// second engineer's review found (each failed before its fix).
import { test } from "vitest";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { dec } from "../../domain/decimal.js";
import type { OrderRequest } from "../../domain/orders/orderRequest.js";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import { OrderStore } from "../../store/orderStore.js";
import { OrderDesk } from "./orderDesk.js";
import { GatewayOrders } from "./gatewayOrders.js";
import { reconcileOrders } from "./orderReconciler.js";
import { orderToProto } from "../../grpc/mapping/orders.js";
import { OrderMessageSeverity } from "../../../gen/ibprovider/v1/order_service.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a silent logger
const log: any = { info() {}, warn() {}, debug() {}, error() {}, child() { return log; } };
const ACCOUNT = "DU1234567";
const req = (id: string): OrderRequest => ({ clientOrderId: id, account: ACCOUNT, instrument: { conId: 1, symbol: "AAPL", secType: "STK", exchange: "SMART", currency: "USD" }, side: "BUY", quantity: dec("1"), type: "LMT", limitPrice: dec("100"), tif: "DAY", outsideRth: false });
const space = "gw:4002/1";

class FakeConnection extends EventEmitter {
  isReady = false;
  status = { host: "gw", port: 4002, clientId: 1, activeAccount: ACCOUNT } as any;
}

test("CancelAllOrders while the Gateway is away cancels the open orders once it is back", async () => {
  const store = OrderStore.open(":memory:");
  const calls: string[] = [];
  const gateway: any = Object.assign(new EventEmitter(), { adopt() {}, cancelAll: () => calls.push("cancelAll"), snapshot: async () => ({ open: [], completed: [], executions: [] }) });
  const connection = new FakeConnection();
  const desk = new OrderDesk({ gateway, connection: connection as any, store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, log });
  desk.cancelAll("panic"); // disconnected: flag set, reqGlobalCancel not sent
  connection.isReady = true;
  connection.emit("ready", { reconnected: true });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(calls, ["cancelAll"], "the kill switch never reached IB: orders working at IB keep working");
});

test("an order claimed in the snapshot's own millisecond is not judged NOT_RECEIVED", () => {
  const store = OrderStore.open(":memory:");
  store.claim(req("same-ms"), { nextValidId: 10, idSpace: space, nowMs: 1_000 });
  reconcileOrders(store, { open: [], completed: [], executions: [] }, { account: ACCOUNT, idSpace: () => space, nowMs: 1_050, askedMs: 1_000, clientId: 1 });
  assert.equal(store.get(ACCOUNT, "same-ms")!.status, "PendingSubmit", "placed after the snapshot was asked (same ms): marked Inactive 'not received', a guessed fate");
});

test("another client's / account's order with the same orderRef is not taken for ours", () => {
  const store = OrderStore.open(":memory:");
  store.claim(req("42"), { nextValidId: 10, idSpace: space, nowMs: 1_000 });
  store.updateState(ACCOUNT, "42", { status: "Submitted", permId: 111 }, 1_000);
  const foreign = { orderId: 7, contract: {}, order: { orderRef: "42", permId: 999, clientId: 5, account: "U7654321" }, state: { status: "Submitted" } } as any;
  reconcileOrders(store, { open: [foreign], completed: [], executions: [] }, { account: ACCOUNT, idSpace: () => space, nowMs: 2_000, askedMs: 1_500, clientId: 1 });
  const o = store.get(ACCOUNT, "42")!;
  assert.notEqual(o.permId, 999, "our order took the foreign order's permId and status");
});

test("an order whose fate is unknown is not reported as a reject", () => {
  const store = OrderStore.open(":memory:");
  store.claim(req("u1"), { nextValidId: 10, idSpace: space, nowMs: 1_000 });
  store.updateState(ACCOUNT, "u1", { status: "Submitted", permId: 5 }, 1_000);
  reconcileOrders(store, { open: [], completed: [], executions: [] }, { account: ACCOUNT, idSpace: () => space, nowMs: 2_000, askedMs: 1_500, clientId: 1 });
  const unknown = orderToProto(store.get(ACCOUNT, "u1")!);
  assert.notEqual(unknown.lastMessage?.severity, OrderMessageSeverity.ORDER_MESSAGE_SEVERITY_REJECT, "FATE_UNKNOWN is sent with severity REJECT");
});

test("another API client's order answered by reqAllOpenOrders (same numeric order id, its own numbering) does not change ours", async () => {
  const store = OrderStore.open(":memory:");
  const api: any = Object.assign(new EventEmitter(), { reqAllOpenOrders() {}, reqCompletedOrders() {}, reqExecutions() {}, reqIds() {} });
  const gateway = new GatewayOrders(api, { request: async () => undefined, on() {} } as any, log, 1);
  const connection = new FakeConnection();
  new OrderDesk({ gateway, connection: connection as any, store, rails: DEFAULT_ORDER_RAIL_SETTINGS, log });
  store.claim(req("mine"), { nextValidId: 10, idSpace: space, nowMs: 1_000 });
  store.updateState(ACCOUNT, "mine", { status: "Submitted", permId: 111 }, 1_000);
  // clientId 5's order 10, as reqAllOpenOrders (and IB's own relay) reports it
  api.emit("openOrder", 10, { conId: 2 }, { orderId: 10, clientId: 5, permId: 999, orderRef: "theirs" }, { status: "Submitted" });
  api.emit("orderStatus", 10, "Filled", 100, 0, 1.5, 999, 0, 1.5, 5, "");
  const o = store.get(ACCOUNT, "mine")!;
  assert.deepEqual([o.status, o.permId], ["Submitted", 111], `our order became ${o.status} with permId ${o.permId}`);
});

test("a reconnect's reqExecutions does not announce the day's known executions again", async () => {
  const store = OrderStore.open(":memory:");
  const api: any = Object.assign(new EventEmitter(), { reqAllOpenOrders() {}, reqCompletedOrders() {}, reqExecutions() {}, reqIds() {} });
  const gateway = new GatewayOrders(api, { request: async () => undefined, on() {} } as any, log, 1);
  const connection = new FakeConnection();
  const desk = new OrderDesk({ gateway, connection: connection as any, store, rails: DEFAULT_ORDER_RAIL_SETTINGS, log });
  const events: string[] = [];
  desk.on("event", (e) => e.type === "execution" && events.push(e.execution.execution.execId));
  const exec = { execId: "e1", orderId: 10, side: "BOT", price: 1, shares: 1, acctNumber: ACCOUNT, time: "20261204-01:00:00", orderRef: "x" };
  api.emit("execDetails", -1, { conId: 1 }, exec);
  api.emit("commissionReport", { execId: "e1", commission: 1, currency: "USD" });
  const live = events.length;
  // after a reconnect, IB answers reqExecutions with each execution and its commission report again
  api.emit("commissionReport", { execId: "e1", commission: 1, currency: "USD" });
  assert.equal(events.length, live, `${events.length - live} more event(s) for an execution already announced`);
});

