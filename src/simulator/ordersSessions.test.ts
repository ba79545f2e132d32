import { OrderAction, OrderType, SecType, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { runningClock, useFixture } from "./testing/harness.js";
import { OrderEvents } from "./testing/orderEvents.js";
import { AAPL_STK, buyMkt, order, RICH_ACCOUNT } from "./testing/orderFixture.js";

const fx = useFixture();
const MSFT: Contract = { symbol: "MSFT", secType: SecType.STK, exchange: "SMART", currency: "USD" };
/** Sat 2026-11-21 12:00 New York: US stocks closed until Monday 09:30. */
const SATURDAY = Date.UTC(2026, 10, 21, 17);

describe("orders and the session around them", () => {
  it("an order on a closed market is accepted PreSubmitted with IB's advisory 399 naming the next open", async () => {
    await fx.start({ now: runningClock(SATURDAY), accounts: [RICH_ACCOUNT] });
    const c = await fx.client(3);
    const ev = new OrderEvents(c);
    c.ib.placeOrder(1, MSFT, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 400, totalQuantity: 10 }));
    await ev.status(1, "PreSubmitted");
    const warning = await c.errorFor(1);
    expect(warning.code).toBe(399);
    expect(warning.message).toMatch(/^Order Message:\nBUY 10 MSFT \S+\nWarning: your order will not be placed at the exchange until 2026-11-23 09:30:00 US\/Eastern$/);
    // outsideRth: the extended session opens at 04:00.
    c.ib.placeOrder(2, MSFT, order({ action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 400, totalQuantity: 10, outsideRth: true }));
    expect((await c.errorFor(2)).message).toContain("until 2026-11-23 04:00:00 US/Eastern");
  });

  it("a client below server version 145 gets 201 for placeOrder and only the ends for order queries", async () => {
    await fx.start({ now: runningClock(), accounts: [RICH_ACCOUNT], maxServerVersion: 144 });
    const c = await fx.client(3);
    const ev = new OrderEvents(c);
    c.ib.placeOrder(1, AAPL_STK, buyMkt(1));
    const e = await c.errorFor(1);
    expect(e.code).toBe(201);
    c.ib.reqOpenOrders();
    await until(() => ev.openEnds === 1, { what: "openOrderEnd" });
    expect(ev.open).toEqual([]);
    expect(fx.sim.orders.list()).toEqual([]);
  });
});
