import { EventName, OrderAction, OrderType } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { useFixture } from "./testing/harness.js";
import { OrderEvents } from "./testing/orderEvents.js";
import { AAPL_STK as AAPL, order, startOrderSim } from "./testing/orderFixture.js";

const fx = useFixture();

describe("orders belong to the login, not the connection", () => {
  it("a fill during a Gateway restart is reported after reconnect by reqOpenOrders, reqCompletedOrders and reqExecutions", async () => {
    const { market, c, ev } = await startOrderSim(fx);
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 229, totalQuantity: 100, orderRef: "fills-while-away" }));
    c.ib.placeOrder(2, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.LMT, lmtPrice: 232, totalQuantity: 50, orderRef: "stays-open" }));
    await ev.status(1, "Submitted");
    await ev.status(2, "Submitted");

    const restart = fx.sim.faults.restart(400);
    await until(() => fx.sim.clientCount() === 0, { what: "the clients to be dropped" });
    market.setBook("AAPL", { bids: [["228.80", "100"]], asks: [["228.90", "100"]] });
    await until(() => fx.sim.orders.executions().length === 1, { what: "the fill while no client is connected" });
    await restart;

    const c2 = await fx.client(7);
    const ev2 = new OrderEvents(c2);
    let nextId = 0;
    c2.ib.on(EventName.nextValidId, (id: number) => (nextId = id));
    c2.ib.reqIds();
    await until(() => nextId > 0, { what: "nextValidId" });
    expect(nextId).toBe(3);

    c2.ib.reqOpenOrders();
    await until(() => ev2.openEnds === 1, { what: "openOrderEnd" });
    expect(ev2.open.map((o) => [o.orderId, o.order.orderRef, o.state.status])).toEqual([[2, "stays-open", "Submitted"]]);
    expect(ev2.statuses.map((s) => [s.orderId, s.status])).toEqual([[2, "Submitted"]]);

    c2.ib.reqCompletedOrders(false);
    await until(() => ev2.completedEnds === 1, { what: "completedOrdersEnd" });
    expect(ev2.completed.map((o) => [o.order.orderRef, o.state.status, o.order.filledQuantity, o.state.completedStatus])).toEqual([
      ["fills-while-away", "Filled", 100, "Filled"],
    ]);
    expect(ev2.completed[0]!.order.permId).toBe(ev.lastStatus(1)!.permId);

    c2.ib.reqExecutions(9, {});
    await until(() => ev2.execEnds.includes(9), { what: "execDetailsEnd" });
    expect(ev2.executions.map((e) => [e.reqId, e.execution.orderId, e.execution.shares, e.execution.price, e.execution.orderRef])).toEqual([
      [9, 1, 100, 228.9, "fills-while-away"],
    ]);
    expect(ev2.commissions.map((r) => [r.execId, r.commission])).toEqual([[ev2.executions[0]!.execution.execId, 1]]);

    // The filter selects: another client's executions, or a later time, give none.
    c2.ib.reqExecutions(10, { clientId: "8" });
    c2.ib.reqExecutions(11, { time: "20991231-00:00:00" });
    await until(() => ev2.execEnds.includes(10) && ev2.execEnds.includes(11), { what: "the filtered ends" });
    expect(ev2.executions).toHaveLength(1);
  });

  it("another clientId sees its own open orders only, every client's with reqAllOpenOrders, and the account move when another client's order fills", async () => {
    const { market, c, ev } = await startOrderSim(fx);
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 229, totalQuantity: 10 }));
    await ev.status(1, "Submitted");
    const other = await fx.client(8);
    const ev8 = new OrderEvents(other);
    const cash: string[] = [];
    let downloaded = false;
    other.ib.on(EventName.updateAccountValue, (k: string, v: string, cur: string) => k === "CashBalance" && cur === "USD" && cash.push(v));
    other.ib.on(EventName.accountDownloadEnd, () => (downloaded = true));
    other.ib.reqAccountUpdates(true, "DU1234567");
    await until(() => downloaded, { what: "client 8's account download" });
    other.ib.reqOpenOrders();
    await until(() => ev8.openEnds === 1, { what: "openOrderEnd" });
    expect(ev8.open).toEqual([]);
    other.ib.reqAllOpenOrders();
    await until(() => ev8.openEnds === 2, { what: "the second openOrderEnd" });
    expect(ev8.open.map((o) => [o.orderId, o.order.clientId])).toEqual([[1, 7]]);

    const statusesBefore = ev8.statuses.length;
    market.setBook("AAPL", { bids: [["228.80", "100"]], asks: [["228.90", "100"]] });
    await ev.status(1, "Filled");
    // 10 @ 228.90 and the 1.00 minimum commission, seen by client 8's account stream; the order's messages are client 7's.
    await until(() => cash.at(-1) === "997710.00", { what: "client 8 to see the cash move" });
    expect(ev8.statuses).toHaveLength(statusesBefore);
    expect(ev8.executions).toEqual([]);
    other.ib.reqAccountUpdates(false, "DU1234567");
  });
});
