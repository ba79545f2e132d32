import { OrderAction, OrderType, TimeInForce } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { useFixture } from "./testing/harness.js";
import { AAPL_STK, order, startOrderSim } from "./testing/orderFixture.js";

const fx = useFixture();
const AAPL = AAPL_STK;
const setup = () => startOrderSim(fx);

describe("the simulated Gateway fills orders on its own market", () => {
  it("a market order takes the book level by level, one execution per level, then Filled (with IB's duplicate status)", async () => {
    const { c, ev } = await setup();
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.MKT, totalQuantity: 250, orderRef: "mkt-1" }));
    const filled = await ev.status(1, "Filled");
    expect(filled.filled).toBe(250);
    expect(filled.remaining).toBe(0);
    const execs = ev.executionsOf(1).map((e) => [e.execution.shares, e.execution.price, e.execution.side, e.execution.orderRef, e.reqId]);
    expect(execs).toEqual([
      [100, 230.1, "BOT", "mkt-1", -1],
      [150, 230.11, "BOT", "mkt-1", -1],
    ]);
    expect(filled.avgFillPrice).toBeCloseTo((100 * 230.1 + 150 * 230.11) / 250, 8);
    expect(ev.statusesOf(1).filter((s) => s === "Filled")).toHaveLength(2);
    const e0 = ev.executionsOf(1)[0]!.execution;
    expect(e0.execId).toMatch(/^[0-9a-f]{8}\.[0-9a-f]{8}\.01\.01$/);
    expect(e0.clientId).toBe(7);
    expect(e0.acctNumber).toBe("DU1234567");
    expect(e0.permId).toBe(filled.permId);
    // Commission: 0.005/share, min 1.00 per order: 1.00 for the first 100 shares, 0.25 for the next 150.
    await until(() => ev.commissions.length === 2, { what: "two commission reports" });
    expect(ev.commissions.map((r) => [r.execId, r.commission, r.currency])).toEqual([
      [e0.execId, 1, "USD"],
      [ev.executionsOf(1)[1]!.execution.execId, 0.25, "USD"],
    ]);
    const open = ev.open.filter((o) => o.orderId === 1);
    expect(open[0]!.order.orderRef).toBe("mkt-1");
    expect(open.at(-1)!.state.status).toBe("Filled");
  });

  it("a limit order rests (Submitted) and fills when the market crosses it, at the crossing level's price", async () => {
    const { market, c, ev } = await setup();
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 229.95, totalQuantity: 100 }));
    await ev.status(1, "Submitted");
    expect(ev.executionsOf(1)).toEqual([]);
    market.setBook("AAPL", { bids: [["229.90", "100"]], asks: [["229.94", "60"], ["229.95", "100"], ["229.96", "100"]] });
    await ev.status(1, "Filled");
    expect(ev.executionsOf(1).map((e) => [e.execution.shares, e.execution.price])).toEqual([
      [60, 229.94],
      [40, 229.95],
    ]);
  });

  it("a stop waits PreSubmitted until the bid touches it, then sells at market", async () => {
    const { market, c, ev } = await setup();
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.STP, auxPrice: 229.5, totalQuantity: 50 }));
    await ev.status(1, "PreSubmitted");
    market.setBook("AAPL", { bids: [["229.50", "30"], ["229.40", "100"]], asks: [["229.60", "100"]] });
    await ev.status(1, "Filled");
    expect(ev.executionsOf(1).map((e) => [e.execution.shares, e.execution.price, e.execution.side])).toEqual([
      [30, 229.5, "SLD"],
      [20, 229.4, "SLD"],
    ]);
  });

  it("a stop-limit triggers on a trade through its stop, fills what its limit allows and rests with the rest", async () => {
    const { market, c, ev } = await setup();
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.STP_LMT, auxPrice: 230.5, lmtPrice: 230.55, totalQuantity: 100 }));
    await ev.status(1, "PreSubmitted");
    market.setBook("AAPL", { bids: [["230.40", "100"]], asks: [["230.50", "40"], ["230.60", "100"]] });
    await until(() => ev.executionsOf(1).length === 1, { what: "the first fill" });
    expect(ev.lastStatus(1)).toMatchObject({ status: "Submitted", filled: 40, remaining: 60 });
    market.setBook("AAPL", { bids: [["230.40", "100"]], asks: [["230.55", "100"]] });
    await ev.status(1, "Filled");
    expect(ev.executionsOf(1).map((e) => e.execution.price)).toEqual([230.5, 230.55]);
  });

  it("IOC fills what the book has within its limit now and cancels the rest", async () => {
    const { c, ev } = await setup();
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 230.11, totalQuantity: 500, tif: TimeInForce.IOC }));
    await ev.status(1, "Cancelled");
    expect(ev.executionsOf(1).map((e) => e.execution.shares)).toEqual([100, 200]);
    expect(ev.lastStatus(1)!.filled).toBe(300);
    expect((await c.errorFor(1)).code).toBe(202);
  });
});
