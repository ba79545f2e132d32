import { EventName, OrderAction, OrderType, SecType, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { useFixture } from "./testing/harness.js";
import { AAPL_STK as AAPL, buyMkt, order, startOrderSim } from "./testing/orderFixture.js";

const fx = useFixture();

describe("fills move the simulated account; what-if; IB's rejects", () => {
  it("a buy then a sell move the position, its average cost (commission included), cash and realized PnL, and live subscribers (positions, account updates, summary, PnL) see each change", async () => {
    const { c, ev } = await startOrderSim(fx, { pnlIntervalMs: 20 });
    const realized: number[] = [];
    c.ib.on(EventName.pnl, (_id: number, _daily: number, _unrealized?: number, r?: number) => realized.push(r ?? NaN));
    const positions: [string, number, number][] = [];
    const values = new Map<string, string>();
    const portfolio: [string, number][] = [];
    const summary: [string, string][] = [];
    let downloaded = false;
    let summaryEnd = false;
    c.ib.on(EventName.position, (_a: string, k: Contract, pos: number, avg?: number) => positions.push([k.symbol ?? "", pos, avg ?? 0]));
    c.ib.on(EventName.updateAccountValue, (k: string, v: string, cur: string) => values.set(`${k}:${cur}`, v));
    c.ib.on(EventName.updatePortfolio, (k: Contract, pos: number) => portfolio.push([k.symbol ?? "", pos]));
    c.ib.on(EventName.accountDownloadEnd, () => (downloaded = true));
    c.ib.on(EventName.accountSummary, (_id: number, _a: string, tag: string, value: string) => summary.push([tag, value]));
    c.ib.on(EventName.accountSummaryEnd, () => (summaryEnd = true));
    c.ib.reqPositions();
    c.ib.reqAccountUpdates(true, "DU1234567");
    c.ib.reqAccountSummary(5, "All", "TotalCashValue");
    await until(() => downloaded && summaryEnd, { what: "account download and summary" });
    expect(values.get("CashBalance:USD")).toBe("1000000.00");

    c.ib.placeOrder(1, AAPL, buyMkt(100));
    await ev.status(1, "Filled");
    // 100 @ 230.10, commission 1.00 (the minimum): average cost 230.11, cash 1,000,000 − 23,010 − 1.
    await until(() => positions.some(([s, p]) => s === "AAPL" && p === 100), { what: "the AAPL position update" });
    expect(positions.find(([s]) => s === "AAPL")![2]).toBeCloseTo(230.11, 6);
    await until(() => values.get("CashBalance:USD") === "976989.00", { what: "cash after the buy" });
    await until(() => summary.some(([t, v]) => t === "TotalCashValue" && v === "976989.00"), { what: "the summary's cash" });
    expect(portfolio.some(([s, p]) => s === "AAPL" && p === 100)).toBe(true);
    expect(ev.commissions[0]!.realizedPNL).toBeUndefined();

    c.ib.placeOrder(2, AAPL, order({ action: OrderAction.SELL, orderType: OrderType.MKT, totalQuantity: 100 }));
    await ev.status(2, "Filled");
    // 100 @ 230.00 against 230.11: −11.00, and the commission 1.00.
    await until(() => ev.commissions.length === 2, { what: "the sell's commission report" });
    expect(ev.commissions[1]!.realizedPNL).toBe(-12);
    await until(() => positions.at(-1)![0] === "AAPL" && positions.at(-1)![1] === 0, { what: "the position back to 0" });
    await until(() => values.get("RealizedPnL:USD") === "-12.00", { what: "realized PnL" });
    expect(values.get("CashBalance:USD")).toBe("999988.00");
    expect(portfolio.at(-1)).toEqual(["AAPL", 0]);
    c.ib.reqPnL(6, "DU1234567", "");
    await until(() => realized.at(-1) === -12, { what: "reqPnL's realized PnL" });
    c.ib.cancelPnL(6);
    c.ib.cancelPositions();
    c.ib.reqAccountUpdates(false, "DU1234567");
    c.ib.cancelAccountSummary(5);
  });

  it("answers a what-if order with one openOrder carrying margin and commission, and places nothing", async () => {
    const { c, ev } = await startOrderSim(fx);
    c.ib.placeOrder(1, AAPL, { ...buyMkt(100), whatIf: true });
    await until(() => ev.open.length === 1, { what: "the what-if openOrder" });
    const { order: o, state } = ev.open[0]!;
    expect(o.whatIf).toBe(true);
    expect(state.status).toBe("PreSubmitted");
    expect(state.initMarginBefore).toBe(0);
    expect(state.initMarginChange).toBeCloseTo(0.25 * 100 * 230.1, 2);
    expect(state.initMarginAfter).toBeCloseTo(0.25 * 100 * 230.1, 2);
    expect(state.maintMarginChange).toBeCloseTo(0.8 * 0.25 * 100 * 230.1, 2);
    expect(state.equityWithLoanBefore).toBe(1000000);
    expect(state.equityWithLoanChange).toBe(-1);
    expect(state.commission).toBe(1);
    expect(state.minCommission).toBeUndefined();
    expect(state.commissionCurrency).toBe("USD");
    c.ib.reqOpenOrders();
    await until(() => ev.openEnds === 1, { what: "openOrderEnd" });
    expect(ev.open).toHaveLength(1);
    expect(ev.statuses).toEqual([]);
    expect(fx.sim.orders.list()).toEqual([]);
    expect(fx.sim.orders.receivedCount({ clientId: 7 })).toBe(1);
  });

  it("refuses with IB's codes: 110 off-tick price, 200 unknown contract, 103 a used order id, 201 insufficient funds; counts every placeOrder received", async () => {
    const { c, ev } = await startOrderSim(fx, { accounts: [{ id: "DU1234567", cash: "20000" }] });
    c.ib.placeOrder(1, AAPL, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 230.105, totalQuantity: 10 }));
    const e110 = await c.errorFor(1);
    expect([e110.code, e110.message]).toEqual([110, "The price does not conform to the minimum price variation for this contract."]);

    const unknown: Contract = { symbol: "ZZZZ", secType: SecType.STK, exchange: "SMART", currency: "USD" };
    c.ib.placeOrder(2, unknown, buyMkt(10));
    expect((await c.errorFor(2)).code).toBe(200);

    c.ib.placeOrder(3, AAPL, buyMkt(10));
    await ev.status(3, "Filled");
    c.ib.placeOrder(3, AAPL, buyMkt(10));
    const e103 = await c.errorFor(3);
    expect([e103.code, e103.message]).toEqual([103, "Duplicate order id"]);

    c.ib.placeOrder(4, AAPL, buyMkt(100));
    const e201 = await c.errorFor(4);
    expect(e201.code).toBe(201);
    expect(e201.message).toMatch(/^Order rejected - reason:YOUR ORDER IS NOT ACCEPTED\. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE \[[\d.]+ USD\] MUST EXCEED THE INITIAL MARGIN \[[\d.]+ USD\]$/);

    expect(fx.sim.orders.receivedCount({ clientId: 7 })).toBe(5);
    expect(fx.sim.orders.receivedCount({ account: "DU1234567" })).toBe(5);
    expect(fx.sim.orders.receivedCount({ clientId: 8 })).toBe(0);
    expect(fx.sim.orders.list().map((o) => o.orderId)).toEqual([3]);
    for (const id of [1, 2, 4]) expect(ev.statusesOf(id)).toEqual([]);
  });

  it("fills a market order on the seeded model's own book (not scripted): executions at its ask levels", async () => {
    const { c, ev } = await startOrderSim(fx);
    const msft: Contract = { symbol: "MSFT", secType: SecType.STK, exchange: "SMART", currency: "USD" };
    c.ib.placeOrder(1, msft, buyMkt(5));
    await ev.status(1, "Filled");
    const execs = ev.executionsOf(1);
    expect(execs.length).toBeGreaterThan(0);
    expect(execs.reduce((s, e) => s + e.execution.shares!, 0)).toBe(5);
    for (const e of execs) expect(e.execution.price).toBeGreaterThan(0);
  });
});
