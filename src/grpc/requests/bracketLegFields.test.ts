import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { TimeInForce, type NewOrder } from "../../../gen/ibprovider/v1/order_service.js";
import { orderLegs } from "../../domain/orders/orderRequest.js";
import { checkOrderRequest } from "../../domain/orders/orderRequestProblems.js";
import { AAPL, PAPER_ACCOUNT } from "../../domain/orders/testing/orderRequests.js";
import { ApiError } from "../apiError.js";
import { newOrder } from "../services/testing/orderCalls.js";
import { readNewOrder, refusalError } from "./orderFields.js";

// NewOrder's bracket legs read into the domain: StopLoss.limit_price (a stop-limit stop-loss) and each leg's
// time_in_force ("the parent's when unset") are taken, not refused.
const bracket = (over: Partial<NewOrder> = {}): NewOrder =>
  newOrder({
    clientOrderId: "b-1",
    symbol: "AAPL",
    quantity: "10",
    limitPrice: "100",
    timeInForce: TimeInForce.TIME_IN_FORCE_DAY,
    takeProfit: { clientOrderId: "", limitPrice: "110", timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED },
    stopLoss: { clientOrderId: "", stopPrice: "95", limitPrice: "", timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED },
    ...over,
  });
const legsOf = (order: NewOrder) => orderLegs(readNewOrder(order, "place").build(AAPL, PAPER_ACCOUNT)).map((l) => [l.role, l.type, l.tif, l.limitPrice?.toString(), l.stopPrice?.toString()]);

describe("a NewOrder's bracket legs", () => {
  it("a stop-loss with limit_price is a stop-limit at that price", () => {
    expect(legsOf(bracket({ stopLoss: { clientOrderId: "", stopPrice: "95", limitPrice: "94.5", timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED } }))).toEqual([
      ["parent", "LMT", "DAY", "100", undefined],
      ["takeProfit", "LMT", "DAY", "110", undefined],
      ["stopLoss", "STP LMT", "DAY", "94.5", "95"],
    ]);
  });

  it("a leg's time_in_force differing from the parent's is the leg's (a DAY entry, GTC exits); unset is the parent's", () => {
    const order = bracket({
      takeProfit: { clientOrderId: "", limitPrice: "110", timeInForce: TimeInForce.TIME_IN_FORCE_GTC },
      stopLoss: { clientOrderId: "", stopPrice: "95", limitPrice: "", timeInForce: TimeInForce.TIME_IN_FORCE_GTC },
    });
    expect(legsOf(order).map(([role, , tif]) => [role, tif])).toEqual([
      ["parent", "DAY"],
      ["takeProfit", "GTC"],
      ["stopLoss", "GTC"],
    ]);
    expect(legsOf(bracket({ timeInForce: TimeInForce.TIME_IN_FORCE_GTC })).map(([, , tif]) => tif)).toEqual(["GTC", "GTC", "GTC"]);
  });

  it("refuses what cannot be read, naming the proto's field: a limit_price that is no decimal, one not above 0, an unknown time in force", () => {
    const badText = () => readNewOrder(bracket({ stopLoss: { clientOrderId: "", stopPrice: "95", limitPrice: "abc", timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED } }), "place");
    expect(badText).toThrow(ApiError);
    expect(() => badText()).toThrow(/order\.stop_loss\.limit_price/);
    const request = readNewOrder(bracket({ stopLoss: { clientOrderId: "", stopPrice: "95", limitPrice: "-1", timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED } }), "place").build(AAPL, PAPER_ACCOUNT);
    const verdict = checkOrderRequest(request);
    if (verdict.ok) throw new Error("a negative stop-limit price was accepted");
    const err = refusalError(verdict.refusal);
    expect([err.code, err.reason, err.message]).toEqual([status.INVALID_ARGUMENT, "PRICE_NOT_POSITIVE", "order.stop_loss.limit_price must be above 0 (got -1)"]);
    const tif = () => readNewOrder(bracket({ takeProfit: { clientOrderId: "", limitPrice: "110", timeInForce: 99 as TimeInForce } }), "place");
    expect(tif).toThrow(/order\.take_profit\.time_in_force/);
  });
});
