import { OrderAction, OrderType } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { useFixture } from "./testing/harness.js";
import { AAPL_STK as AAPL, order, startOrderSim } from "./testing/orderFixture.js";

const fx = useFixture();

describe("brackets, OCA, modify and cancel on the simulated Gateway", () => {
  it("a bracket sent as IB clients send it (parent and take-profit staged, stop-loss transmitting): parent fills, take-profit fills, stop-loss is cancelled", async () => {
    const { market, c, ev } = await startOrderSim(fx);
    c.ib.placeOrder(10, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 230.1, totalQuantity: 100, transmit: false, orderRef: "br" }));
    c.ib.placeOrder(11, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.LMT, lmtPrice: 231, totalQuantity: 100, parentId: 10, transmit: false }));
    c.ib.placeOrder(12, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.STP, auxPrice: 229, totalQuantity: 100, parentId: 10, transmit: true }));
    await ev.status(10, "Filled");
    await ev.status(11, "Submitted");
    await ev.status(12, "PreSubmitted");
    expect(ev.lastStatus(11)!.parentId).toBe(10);
    market.setBook("AAPL", { bids: [["231.00", "500"]], asks: [["231.05", "500"]] });
    await ev.status(11, "Filled");
    await ev.status(12, "Cancelled");
    expect((await c.errorFor(12)).code).toBe(202);
    expect(ev.executionsOf(11).map((e) => [e.execution.side, e.execution.shares, e.execution.price])).toEqual([["SLD", 100, 231]]);
    expect(ev.executionsOf(12)).toEqual([]);
  });

  it("holds a bracket's children (PreSubmitted) while the parent works, and cancels them with the parent", async () => {
    const { c, ev } = await startOrderSim(fx);
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 229, totalQuantity: 100, transmit: false }));
    c.ib.placeOrder(2, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.LMT, lmtPrice: 231, totalQuantity: 100, parentId: 1, transmit: false }));
    c.ib.placeOrder(3, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.STP, auxPrice: 228, totalQuantity: 100, parentId: 1, transmit: true }));
    await ev.status(1, "Submitted");
    await ev.status(2, "PreSubmitted");
    await ev.status(3, "PreSubmitted");
    c.ib.cancelOrder(1);
    await ev.status(1, "Cancelled");
    await ev.status(2, "Cancelled");
    await ev.status(3, "Cancelled");
  });

  it("an OCA group (type 1): the first fill cancels the other orders of the group", async () => {
    const { market, c, ev } = await startOrderSim(fx);
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.LMT, lmtPrice: 231, totalQuantity: 100, ocaGroup: "exit-1", ocaType: 1 }));
    c.ib.placeOrder(2, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.LMT, lmtPrice: 232, totalQuantity: 100, ocaGroup: "exit-1", ocaType: 1 }));
    await ev.status(1, "Submitted");
    await ev.status(2, "Submitted");
    market.setBook("AAPL", { bids: [["231.00", "100"]], asks: [["231.10", "100"]] });
    await ev.status(1, "Filled");
    await ev.status(2, "Cancelled");
    expect(ev.open.find((o) => o.orderId === 1)!.order.ocaGroup).toBe("exit-1");
  });

  it("placeOrder with a working order's id modifies it (the new limit crosses and fills)", async () => {
    const { c, ev } = await startOrderSim(fx);
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 229, totalQuantity: 100 }));
    await ev.status(1, "Submitted");
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 230.1, totalQuantity: 100 }));
    await ev.status(1, "Filled");
    expect(ev.executionsOf(1).map((e) => e.execution.price)).toEqual([230.1]);
    expect(ev.open.filter((o) => o.orderId === 1).map((o) => o.order.lmtPrice)).toContain(229);
  });

  it("cancelOrder: Cancelled + 202; again: 161 (not cancellable); an unknown id: 10147; reqGlobalCancel cancels every working order", async () => {
    const { c, ev } = await startOrderSim(fx);
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 229, totalQuantity: 100 }));
    await ev.status(1, "Submitted");
    c.ib.cancelOrder(1);
    await ev.status(1, "Cancelled");
    await until(() => c.errors.some((e) => e.reqId === 1 && e.code === 202), { what: "202 for order 1" });
    c.ib.cancelOrder(1);
    await until(() => c.errors.some((e) => e.reqId === 1 && e.code === 161), { what: "161 for order 1" });
    expect(c.errors.find((e) => e.code === 161)!.message).toBe(`Cancel attempted when order is not in a cancellable state. Order permId = ${ev.lastStatus(1)!.permId}`);
    c.ib.cancelOrder(99);
    expect((await c.errorFor(99)).message).toBe("OrderId 99 that needs to be cancelled is not found.");
    expect(c.errors.find((e) => e.reqId === 99)!.code).toBe(10147);

    c.ib.placeOrder(2, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 229, totalQuantity: 10 }));
    c.ib.placeOrder(3, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.STP, auxPrice: 228, totalQuantity: 10 }));
    await ev.status(2, "Submitted");
    await ev.status(3, "PreSubmitted");
    c.ib.reqGlobalCancel();
    await ev.status(2, "Cancelled");
    await ev.status(3, "Cancelled");
  });
});
