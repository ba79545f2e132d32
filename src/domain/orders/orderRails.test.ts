import { describe, expect, it } from "vitest";
import { dec } from "../decimal.js";
import { accountKindOf, checkOrderRails, type RailContext } from "./orderRails.js";
import { DEFAULT_ORDER_RAIL_SETTINGS, type OrderRailSettings } from "./orderRailSettings.js";
import type { OrderRequest } from "./orderRequest.js";
import { AAPL, bracketBuy, limitBuy } from "./testing/orderRequests.js";

/** Orders on, every type, any symbol, AAPL at most 100 shares and 20,000 USD, others 10 and 1,000. */
function settings(overrides: Partial<OrderRailSettings> = {}): OrderRailSettings {
  return {
    ...DEFAULT_ORDER_RAIL_SETTINGS,
    enabled: true,
    maxQuantity: { bySymbol: new Map([["AAPL", dec("100")]]), default: dec("10") },
    maxNotional: { bySymbol: new Map([["AAPL", dec("20000")]]), default: dec("1000") },
    ...overrides,
  };
}
const PAPER: RailContext = { accountKind: "paper" };

function refusal(request: OrderRequest, s: OrderRailSettings = settings(), context: RailContext = PAPER) {
  const verdict = checkOrderRails(request, s, context);
  return verdict.ok ? undefined : verdict.refusal;
}

describe("the safety rails", () => {
  it("accept an order within every limit, a bracket's legs included", () => {
    expect(checkOrderRails(bracketBuy(), settings(), PAPER)).toEqual({ ok: true });
  });

  it("refuse everything while orders are disabled, which is the default", () => {
    expect(refusal(limitBuy(), { ...DEFAULT_ORDER_RAIL_SETTINGS })).toMatchObject({ reason: "ORDERS_DISABLED", message: expect.stringContaining("ORDERS_ENABLED") });
  });

  it("refuse new orders while the kill switch is engaged", () => {
    expect(refusal(limitBuy(), settings({ killSwitchEngaged: true }))?.reason).toBe("KILL_SWITCH_ENGAGED");
  });

  it("refuse a live account unless live trading is allowed, masking the account in the message", () => {
    const live = limitBuy({ account: "U7654321" });
    const refused = refusal(live, settings(), { accountKind: accountKindOf(live.account) });
    expect(refused).toMatchObject({ reason: "LIVE_ACCOUNT_REFUSED", field: "account" });
    expect(refused?.message).not.toContain("7654321");
    expect(refused?.message).toContain("ORDERS_ALLOW_LIVE");
    expect(refusal(live, settings({ allowLive: true }), { accountKind: "live" })).toBeUndefined();
  });

  it("take only DU accounts for paper", () => {
    expect(["DU1234567", "U1234567", "DF123", "du123", "DU", "XDU1"].map(accountKindOf)).toEqual(["paper", "live", "live", "live", "live", "live"]);
  });

  it("refuse an order type not allowed, a bracket leg's too", () => {
    expect(refusal(limitBuy(), settings({ allowedOrderTypes: new Set(["MKT"]) }))).toMatchObject({ reason: "ORDER_TYPE_NOT_ALLOWED", field: "type", message: expect.stringContaining("LMT orders are not among the types allowed (ORDERS_ALLOWED_TYPES: MKT)") });
    expect(refusal(bracketBuy(), settings({ allowedOrderTypes: new Set(["LMT"]) }))).toMatchObject({ reason: "ORDER_TYPE_NOT_ALLOWED", field: "bracket.stopLoss" });
  });

  it("refuse a symbol not allowed, case-insensitively, echoing a long one cut short", () => {
    const s = settings({ allowedSymbols: new Set(["MSFT"]) });
    expect(refusal(limitBuy({ instrument: { ...AAPL, symbol: "aapl" } }), s)).toMatchObject({ reason: "SYMBOL_NOT_ALLOWED", field: "instrument.symbol" });
    expect(refusal(limitBuy({ instrument: { ...AAPL, symbol: "msft" }, limitPrice: dec("10") }), s)).toBeUndefined();
    const long = refusal(limitBuy({ instrument: { ...AAPL, symbol: "X".repeat(500) } }), s);
    expect(long?.message.length).toBeLessThan(200);
  });

  it("refuse a quantity above the symbol's limit, or the default for symbols not listed; equal is allowed", () => {
    expect(refusal(limitBuy({ quantity: dec("100"), limitPrice: dec("1") }))).toBeUndefined();
    expect(refusal(limitBuy({ quantity: dec("100.5"), limitPrice: dec("1") }))).toMatchObject({ reason: "QUANTITY_ABOVE_LIMIT", field: "quantity", message: expect.stringContaining("quantity 100.5 is above the limit of 100 per order for \"AAPL\" (ORDERS_MAX_QUANTITY)") });
    const msft = limitBuy({ instrument: { ...AAPL, symbol: "MSFT" }, quantity: dec("11"), limitPrice: dec("1") });
    expect(refusal(msft)?.message).toContain("limit of 10 ");
    expect(refusal(msft, settings({ maxQuantity: { bySymbol: new Map() } }))).toBeUndefined();
  });

  it("refuse a notional above the limit, counted at the order's limit price, times the contract multiplier", () => {
    expect(refusal(limitBuy({ quantity: dec("100"), limitPrice: dec("200") }))).toBeUndefined();
    expect(refusal(limitBuy({ quantity: dec("100"), limitPrice: dec("200.01") }))).toMatchObject({ reason: "NOTIONAL_ABOVE_LIMIT", field: "limitPrice", message: expect.stringContaining("notional 20001 USD (quantity 100 at limitPrice 200.01) is above the limit of 20000") });
    expect(refusal(limitBuy({ quantity: dec("2"), limitPrice: dec("200.01"), instrument: { ...AAPL, multiplier: dec("50") } }))?.reason).toBe("NOTIONAL_ABOVE_LIMIT");
  });

  it("count a stop order at its stop price and a bracket's legs at their own prices", () => {
    expect(refusal(limitBuy({ type: "STP", limitPrice: undefined, stopPrice: dec("250"), quantity: dec("100") }))).toMatchObject({ reason: "NOTIONAL_ABOVE_LIMIT", field: "stopPrice" });
    const bracket = bracketBuy({ quantity: dec("100"), limitPrice: dec("150"), bracket: { takeProfit: { limitPrice: dec("201") }, stopLoss: { stopPrice: dec("140") } } });
    expect(refusal(bracket)).toMatchObject({ reason: "NOTIONAL_ABOVE_LIMIT", field: "bracket.takeProfit.limitPrice" });
  });

  it("count a market order at the reference price given, and refuse it rather than guess when there is none", () => {
    const market = limitBuy({ type: "MKT", limitPrice: undefined, quantity: dec("100") });
    expect(refusal(market, settings(), { accountKind: "paper", referencePrice: dec("150") })).toBeUndefined();
    expect(refusal(market, settings(), { accountKind: "paper", referencePrice: dec("250") })).toMatchObject({ reason: "NOTIONAL_ABOVE_LIMIT", field: "quantity", message: expect.stringContaining("at the reference price 250") });
    expect(refusal(market)).toMatchObject({ reason: "REFERENCE_PRICE_UNAVAILABLE", field: "type", message: expect.stringContaining("no price is known") });
    // No notional limit applies: no price is needed.
    expect(refusal(market, settings({ maxNotional: { bySymbol: new Map() } }))).toBeUndefined();
  });

  it("report the most basic refusal first: disabled before the account, the account before the limits", () => {
    const everythingWrong = limitBuy({ account: "U1", quantity: dec("1000000"), type: "STP LMT", stopPrice: dec("1") });
    const strict = settings({ allowedOrderTypes: new Set(["MKT"]), allowedSymbols: new Set(["MSFT"]) });
    expect(refusal(everythingWrong, { ...strict, enabled: false }, { accountKind: "live" })?.reason).toBe("ORDERS_DISABLED");
    expect(refusal(everythingWrong, strict, { accountKind: "live" })?.reason).toBe("LIVE_ACCOUNT_REFUSED");
    expect(refusal(everythingWrong, strict)?.reason).toBe("SYMBOL_NOT_ALLOWED");
  });
});
