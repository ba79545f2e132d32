import { expect, it } from "vitest";
import { dec } from "../decimal.js";
import { checkOrderRequest } from "./orderRequestProblems.js";
import { bracketBuy, limitBuy } from "./testing/orderRequests.js";
import type { OrderRequest } from "./orderRequest.js";

const problem = (request: OrderRequest) => {
  const verdict = checkOrderRequest(request);
  return verdict.ok ? undefined : [verdict.refusal.reason, verdict.refusal.field];
};

it("accepts a well-formed order and bracket", () => {
  expect(problem(limitBuy())).toBeUndefined();
  expect(problem(bracketBuy())).toBeUndefined();
  expect(problem(limitBuy({ type: "STP LMT", stopPrice: dec("150") }))).toBeUndefined();
  expect(problem(limitBuy({ type: "MKT", limitPrice: undefined }))).toBeUndefined();
});

it("refuses each malformed request with the field at fault", () => {
  const cases: [OrderRequest, string, string][] = [
    [limitBuy({ clientOrderId: " " }), "CLIENT_ORDER_ID_REQUIRED", "clientOrderId"],
    [limitBuy({ clientOrderId: "x".repeat(65) }), "CLIENT_ORDER_ID_TOO_LONG", "clientOrderId"],
    [bracketBuy({ bracket: { stopLoss: { clientOrderId: "b-1", stopPrice: dec("95") } } }), "CLIENT_ORDER_ID_DUPLICATED", "bracket.stopLoss.clientOrderId"],
    [limitBuy({ account: "" }), "ACCOUNT_REQUIRED", "account"],
    [limitBuy({ quantity: dec("0") }), "QUANTITY_NOT_POSITIVE", "quantity"],
    [limitBuy({ limitPrice: undefined }), "PRICE_REQUIRED", "limitPrice"],
    [limitBuy({ type: "STP LMT" }), "PRICE_REQUIRED", "stopPrice"],
    [limitBuy({ type: "MKT" }), "PRICE_NOT_EXPECTED", "limitPrice"],
    [limitBuy({ stopPrice: dec("1") }), "PRICE_NOT_EXPECTED", "stopPrice"],
    [limitBuy({ limitPrice: dec("-1") }), "PRICE_NOT_POSITIVE", "limitPrice"],
    [bracketBuy({ bracket: { takeProfit: { limitPrice: dec("0") } } }), "PRICE_NOT_POSITIVE", "bracket.takeProfit.limitPrice"],
    [bracketBuy({ bracket: { takeProfit: { limitPrice: dec("90") }, stopLoss: { stopPrice: dec("95") } } }), "BRACKET_PRICES_INVERTED", "bracket.takeProfit.limitPrice"],
    [bracketBuy({ side: "SELL" }), "BRACKET_PRICES_INVERTED", "bracket.takeProfit.limitPrice"],
  ];
  for (const [request, reason, field] of cases) expect(problem(request)).toEqual([reason, field]);
});
