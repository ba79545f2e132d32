import { describe, expect, it } from "vitest";
import { dec } from "../decimal.js";
import { canonicalOrderRequest, orderRequestFromCanonical } from "./canonicalOrderRequest.js";
import { orderLegs, type OrderRequest } from "./orderRequest.js";
import { checkOrderRequest } from "./orderRequestProblems.js";
import { bracketBuy } from "./testing/orderRequests.js";

// A bracket's legs with terms of their own: a stop-limit stop-loss (StopLoss.limit_price) and a leg's own
// time in force (TakeProfit/StopLoss.time_in_force), without changing what orders stored before them compare to.

/** bracketBuy's canonical text as the store holds it for orders placed before legs had terms of their own. */
const STORED_BRACKET =
  '{"clientOrderId":"b-1","account":"DU1234567","instrument":{"conId":265598,"symbol":"AAPL","secType":"STK","exchange":"SMART","currency":"USD"},"side":"BUY","quantity":"10","type":"LMT","tif":"DAY","outsideRth":false,"limitPrice":"100","bracket":{"takeProfit":{"clientOrderId":"b-1.tp","limitPrice":"110"},"stopLoss":{"clientOrderId":"b-1.sl","stopPrice":"95"}}}';

const withLegs = (takeProfit: Partial<NonNullable<NonNullable<OrderRequest["bracket"]>["takeProfit"]>>, stopLoss: Partial<NonNullable<NonNullable<OrderRequest["bracket"]>["stopLoss"]>>): OrderRequest =>
  bracketBuy({ bracket: { takeProfit: { limitPrice: dec("110"), ...takeProfit }, stopLoss: { stopPrice: dec("95"), ...stopLoss } } });

describe("a bracket leg's own terms", () => {
  it("a stop-loss with a limit price is a STP LMT leg with its stop and its limit", () => {
    const stopLoss = orderLegs(withLegs({}, { limitPrice: dec("94.5") })).find((l) => l.role === "stopLoss")!;
    expect([stopLoss.type, stopLoss.stopPrice?.toString(), stopLoss.limitPrice?.toString(), stopLoss.side]).toEqual(["STP LMT", "95", "94.5", "SELL"]);
  });

  it("a leg works with its own time in force, the other legs with the parent's", () => {
    const legs = orderLegs(withLegs({ tif: "GTC" }, {}));
    expect(legs.map((l) => [l.role, l.tif])).toEqual([
      ["parent", "DAY"],
      ["takeProfit", "GTC"],
      ["stopLoss", "DAY"],
    ]);
    expect(orderLegs(withLegs({ tif: "GTC" }, { tif: "GTC", limitPrice: dec("94") })).map((l) => l.tif)).toEqual(["DAY", "GTC", "GTC"]);
  });

  it("a request without them keeps the canonical text orders were stored with (a retry of an old order is still a retry)", () => {
    expect(canonicalOrderRequest(bracketBuy())).toBe(STORED_BRACKET);
    // A leg's time in force equal to the parent's is the same request as none.
    expect(canonicalOrderRequest(withLegs({ tif: "DAY" }, { tif: "DAY" }))).toBe(STORED_BRACKET);
  });

  it("a stop-limit price or a leg's own time in force is a different request, and reads back as it was", () => {
    const variants = [withLegs({}, { limitPrice: dec("94.5") }), withLegs({ tif: "GTC" }, {}), withLegs({}, { tif: "GTC" }), withLegs({ tif: "GTC" }, { tif: "IOC", limitPrice: dec("94.50") })];
    const texts = variants.map(canonicalOrderRequest);
    expect(new Set([STORED_BRACKET, ...texts]).size).toBe(texts.length + 1);
    for (const [i, text] of texts.entries()) {
      const back = orderRequestFromCanonical(text);
      expect(canonicalOrderRequest(back)).toBe(text);
      expect(orderLegs(back).map((l) => [l.type, l.tif, l.limitPrice?.toString()])).toEqual(orderLegs(variants[i]!).map((l) => [l.type, l.tif, l.limitPrice?.toString()]));
    }
    expect(canonicalOrderRequest(withLegs({}, { limitPrice: dec("94.50") }))).toBe(canonicalOrderRequest(withLegs({}, { limitPrice: dec("94.5") })));
  });

  it("a stop-limit stop-loss's limit must be above 0; its side of the stop is IB's to judge (either is accepted)", () => {
    const verdict = checkOrderRequest(withLegs({}, { limitPrice: dec("0") }));
    expect(verdict.ok ? undefined : [verdict.refusal.reason, verdict.refusal.field]).toEqual(["PRICE_NOT_POSITIVE", "bracket.stopLoss.limitPrice"]);
    expect(checkOrderRequest(withLegs({}, { limitPrice: dec("94") })).ok).toBe(true);
    expect(checkOrderRequest(withLegs({}, { limitPrice: dec("96") })).ok).toBe(true);
  });
});
