import { describe, expect, it } from "vitest";
import { dec } from "../decimal.js";
import { canonicalOrderRequest, orderRequestFromCanonical } from "./canonicalOrderRequest.js";
import { orderLegs } from "./orderRequest.js";
import { AAPL, bracketBuy, limitBuy } from "./testing/orderRequests.js";

describe("an order request's legs", () => {
  it("a bracket is the parent, then a take-profit LMT and a stop-loss STP on the other side, each naming the parent", () => {
    const legs = orderLegs(bracketBuy({ tif: "GTC", outsideRth: true }));
    expect(legs.map((l) => [l.role, l.clientOrderId, l.parentClientOrderId, l.side, l.type, l.limitPrice?.toString(), l.stopPrice?.toString(), l.quantity.toString(), l.tif, l.outsideRth])).toEqual([
      ["parent", "b-1", undefined, "BUY", "LMT", "100", undefined, "10", "GTC", true],
      ["takeProfit", "b-1.tp", "b-1", "SELL", "LMT", "110", undefined, "10", "GTC", true],
      ["stopLoss", "b-1.sl", "b-1", "SELL", "STP", undefined, "95", "10", "GTC", true],
    ]);
  });

  it("a single order is one leg; a leg's own client order id is kept", () => {
    expect(orderLegs(limitBuy())).toHaveLength(1);
    const legs = orderLegs(limitBuy({ side: "SELL", bracket: { stopLoss: { clientOrderId: "mine", stopPrice: dec("160") } } }));
    expect(legs.map((l) => [l.clientOrderId, l.side])).toEqual([["c-1", "SELL"], ["mine", "BUY"]]);
  });
});

describe("the canonical request", () => {
  it("is the same text for the same order written differently: 1.50 and 1.5, a derived leg id given explicitly, a multiplier of 1", () => {
    const a = bracketBuy({ quantity: dec("10.0"), limitPrice: dec("100.00") });
    const b = bracketBuy({ instrument: { ...AAPL, multiplier: dec("1") }, bracket: { takeProfit: { clientOrderId: "b-1.tp", limitPrice: dec("110.0") }, stopLoss: { stopPrice: dec("95") } } });
    expect(canonicalOrderRequest(a)).toBe(canonicalOrderRequest(b));
  });

  it("differs when anything that would change the order at IB differs", () => {
    const base = canonicalOrderRequest(limitBuy());
    for (const changed of [limitBuy({ quantity: dec("11") }), limitBuy({ side: "SELL" }), limitBuy({ limitPrice: dec("150.26") }), limitBuy({ tif: "GTC" }), limitBuy({ outsideRth: true }), limitBuy({ instrument: { ...AAPL, conId: 1 } })]) {
      expect(canonicalOrderRequest(changed)).not.toBe(base);
    }
  });

  it("reads back to an equal request, bracket and multiplier included", () => {
    const request = bracketBuy({ instrument: { ...AAPL, secType: "FUT", multiplier: dec("50") }, quantity: dec("0.5") });
    const back = orderRequestFromCanonical(canonicalOrderRequest(request));
    expect(canonicalOrderRequest(back)).toBe(canonicalOrderRequest(request));
    expect(back.instrument.multiplier?.toString()).toBe("50");
    expect(back.bracket?.takeProfit?.clientOrderId).toBe("b-1.tp");
  });
});
