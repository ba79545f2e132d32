import { dec } from "../../decimal.js";
import type { InstrumentRef, OrderRequest } from "../orderRequest.js";

/** Order tests' shared kit: a paper account's AAPL limit buy, changed by `overrides`. */

export const AAPL: InstrumentRef = { conId: 265598, symbol: "AAPL", secType: "STK", exchange: "SMART", currency: "USD" };
export const PAPER_ACCOUNT = "DU1234567";

export function limitBuy(overrides: Partial<OrderRequest> = {}): OrderRequest {
  return { clientOrderId: "c-1", account: PAPER_ACCOUNT, instrument: AAPL, side: "BUY", quantity: dec("10"), type: "LMT", limitPrice: dec("150.25"), tif: "DAY", outsideRth: false, ...overrides };
}

/** A BUY LMT at 100 with a take-profit at 110 and a stop-loss at 95. */
export function bracketBuy(overrides: Partial<OrderRequest> = {}): OrderRequest {
  return limitBuy({ clientOrderId: "b-1", limitPrice: dec("100"), bracket: { takeProfit: { limitPrice: dec("110") }, stopLoss: { stopPrice: dec("95") } }, ...overrides });
}
