import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { SimAccounts } from "../account.js";
import type { PlaceOrderRequest } from "../messages/inboundOrders.js";
import type { WireContract } from "../messages/inbound.js";
import { createScriptedMarket } from "../testing/scriptedMarket.js";
import { orderCommission } from "./commission.js";
import { OrderEngine } from "./orderEngine.js";
import type { OrderEvent } from "./orderTypes.js";

const contract = (symbol: string, secType = "STK", exchange = "SMART"): WireContract => ({
  conId: 0,
  symbol,
  secType,
  lastTradeDateOrContractMonth: "",
  strike: "",
  right: "",
  multiplier: "",
  exchange,
  primaryExch: "",
  currency: "USD",
  localSymbol: "",
  tradingClass: "",
  includeExpired: false,
});

const req = (orderId: number, o: Partial<PlaceOrderRequest>): PlaceOrderRequest => ({
  orderId,
  contract: contract("AAPL"),
  action: "BUY",
  totalQuantity: "100",
  orderType: "MKT",
  lmtPrice: undefined,
  auxPrice: undefined,
  tif: "DAY",
  ocaGroup: "",
  account: "",
  orderRef: "",
  transmit: true,
  parentId: 0,
  outsideRth: false,
  ocaType: 0,
  whatIf: false,
  algoStrategy: "",
  conditionCount: 0,
  ...o,
});

/** Sat 2026-11-21 12:00 New York (US stocks closed) and the Monday's 10:00 and 16:30. */
const SATURDAY = Date.UTC(2026, 10, 21, 17);
const MONDAY_10 = Date.UTC(2026, 10, 23, 15);
const MONDAY_1630 = Date.UTC(2026, 10, 23, 21, 30);

function engineAt(startMs: number) {
  let now = startMs;
  const market = createScriptedMarket(1, () => now);
  const accounts = new SimAccounts(market, [{ id: "DU1234567", cash: "1000000" }], now);
  const engine = new OrderEngine(market, accounts);
  const events: OrderEvent[] = [];
  engine.onEvent((e) => events.push(e));
  return { market, accounts, engine, events, at: (ms: number) => (now = ms), now: () => now };
}

describe("the matching engine", () => {
  it("holds a DAY order placed while the market is closed, works it in the next session and cancels it at that session's close; GTC stays", () => {
    const t = engineAt(SATURDAY);
    const msft = contract("MSFT");
    expect(t.engine.place(7, req(1, { contract: msft, orderType: "LMT", lmtPrice: "1", tif: "DAY" }), SATURDAY).kind).toBe("accepted");
    expect(t.engine.place(7, req(2, { contract: msft, orderType: "LMT", lmtPrice: "1", tif: "GTC" }), SATURDAY).kind).toBe("accepted");
    const status = (id: number) => t.engine.book.get(7, id)!.status;
    expect([status(1), status(2)]).toEqual(["PreSubmitted", "PreSubmitted"]);
    t.engine.check(MONDAY_10);
    expect([status(1), status(2)]).toEqual(["Submitted", "Submitted"]);
    t.engine.check(MONDAY_1630);
    expect([status(1), status(2)]).toEqual(["Cancelled", "PreSubmitted"]);
    expect(t.engine.book.get(7, 1)!.completedStatus).toBe("Cancelled (DAY order expired)");
  });

  it("a market order placed while closed waits for the open, then takes the model's book", () => {
    const t = engineAt(SATURDAY);
    t.engine.place(7, req(1, { contract: contract("MSFT"), totalQuantity: "3" }), SATURDAY);
    expect(t.engine.book.executions).toEqual([]);
    t.engine.check(MONDAY_10);
    expect(t.engine.book.get(7, 1)!.status).toBe("Filled");
    expect(t.engine.book.executions.reduce((s, e) => s.add(e.shares), new Decimal(0)).toFixed()).toBe("3");
  });

  it("futures: commission per contract, cash moves only by commission and realized PnL, average cost carries the multiplier", () => {
    const t = engineAt(MONDAY_10);
    const es = contract("ES", "FUT", "CME");
    const inst = t.market.findContracts({ symbol: "ES", secType: "FUT" })[0]!;
    es.localSymbol = inst.localSymbol;
    const r = t.engine.place(7, req(1, { contract: es, totalQuantity: "2" }), MONDAY_10);
    expect(r.kind).toBe("accepted");
    const execs = t.engine.book.executions;
    expect(execs.length).toBeGreaterThan(0);
    const acct = t.accounts.accounts[0]!;
    expect(acct.cash.toFixed()).toBe("999998.3");
    const pos = acct.positions.find((p) => p.instrument.conId === inst.conId)!;
    const avgPx = t.engine.book.get(7, 1)!.avgFillPrice;
    expect(pos.quantity.toFixed()).toBe("2");
    expect(pos.avgCost.toNumber()).toBeCloseTo(avgPx.mul(50).add("0.85").toNumber(), 4);
  });

  it("an option: filled on the option market's book, cash moves by price × 100, commission 0.65 per contract", () => {
    const t = engineAt(MONDAY_10);
    const opt = t.market.findContracts({ symbol: "AAPL", secType: "OPT", right: "C", exchange: "SMART" })[0]!;
    const r = t.engine.place(7, req(1, { contract: { ...contract("AAPL", "OPT"), conId: opt.conId }, totalQuantity: "2" }), MONDAY_10);
    expect(r.kind).toBe("accepted");
    const o = t.engine.book.get(7, 1)!;
    expect(o.status).toBe("Filled");
    expect(o.commission.toFixed()).toBe("1.3");
    expect(t.accounts.accounts[0]!.cash.toFixed()).toBe(new Decimal(1000000).sub(o.avgFillPrice.mul(200)).sub("1.3").toFixed());
  });

  it("two resting orders crossed in one check share the level: what the first took is gone for the second", () => {
    const t = engineAt(MONDAY_10);
    t.market.setBook("AAPL", { bids: [["229.00", "100"]], asks: [["230.10", "100"]] });
    t.engine.place(7, req(1, { orderType: "LMT", lmtPrice: "229.95", totalQuantity: "80" }), MONDAY_10);
    t.engine.place(7, req(2, { orderType: "LMT", lmtPrice: "229.95", totalQuantity: "80" }), MONDAY_10);
    t.market.setBook("AAPL", { bids: [["229.00", "100"]], asks: [["229.94", "100"]] });
    t.engine.check(MONDAY_10 + 1000);
    expect([t.engine.book.get(7, 1)!.filled.toFixed(), t.engine.book.get(7, 2)!.filled.toFixed()]).toEqual(["80", "20"]);
    expect(t.engine.book.executions.every((e) => e.lastLiquidity === 1)).toBe(true);
    t.engine.check(MONDAY_10 + 2000);
    expect(t.engine.book.get(7, 2)!.status).toBe("Filled");
  });

  it("a sell through a long position closes it and opens a short at the fill price (realized on the closed part)", () => {
    const t = engineAt(MONDAY_10);
    t.market.setBook("AAPL", { bids: [["230.00", "1000"]], asks: [["230.10", "1000"]] });
    t.engine.place(7, req(1, { totalQuantity: "100" }), MONDAY_10);
    t.engine.place(7, req(2, { action: "SELL", totalQuantity: "300" }), MONDAY_10);
    const acct = t.accounts.accounts[0]!;
    const pos = acct.positions[0]!;
    expect(pos.quantity.toFixed()).toBe("-200");
    expect(pos.avgCost.toFixed()).toBe("230");
    // Closed 100: (230.00 − 230.11) × 100 − 1.50 commission (300 × 0.005).
    expect(acct.realized.toFixed()).toBe("-12.5");
    expect(t.engine.book.executions[1]!.realizedPnl!.toFixed()).toBe("-12.5");
  });

  it("commission schedule: stock minimum and 1 % cap, options, crypto", () => {
    const m = createScriptedMarket(1, () => MONDAY_10);
    const stk = m.findContracts({ symbol: "AAPL", secType: "STK" })[0]!;
    expect(orderCommission(stk, new Decimal(100), new Decimal(23000)).toFixed()).toBe("1");
    expect(orderCommission(stk, new Decimal(1000), new Decimal(230000)).toFixed()).toBe("5");
    expect(orderCommission(stk, new Decimal(1000), new Decimal(50)).toFixed()).toBe("0.5");
    const btc = m.findContracts({ symbol: "BTC", secType: "CRYPTO" })[0]!;
    expect(orderCommission(btc, new Decimal("0.01"), new Decimal(900)).toFixed()).toBe("1.75");
    expect(orderCommission(btc, new Decimal(1), new Decimal(90000)).toFixed()).toBe("162");
  });

  it("refuses a quantity off the size increment, an unsupported order type and an index", () => {
    const t = engineAt(MONDAY_10);
    const btc = contract("BTC", "CRYPTO", "PAXOS");
    const odd = t.engine.place(7, req(1, { contract: btc, totalQuantity: "0.000000001" }), MONDAY_10);
    expect(odd.kind === "refused" && odd.refusal.error.code).toBe(201);
    const trail = t.engine.place(7, req(2, { orderType: "TRAIL" }), MONDAY_10);
    expect(trail.kind === "refused" && trail.refusal.error.code).toBe(387);
    const spx = t.engine.place(7, req(3, { contract: contract("SPX", "IND", "CBOE") }), MONDAY_10);
    expect(spx.kind === "refused" && [spx.refusal.error.code, spx.refusal.suffix]).toEqual([201, "SPX is an index and cannot be traded."]);
  });
});
