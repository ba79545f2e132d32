/** A fill as IB reports it (execDetails) and its cost (commissionReport), joined by IB's execution id. */
import type { Decimal } from "../decimal.js";
import type { OrderSide } from "./orderRequest.js";

export interface Execution {
  /** IB's execution id; a correction of a fill comes with a new id. */
  execId: string;
  account: string;
  /** IB's order id of the order that filled. */
  orderId: number;
  /** The order's orderRef: our client order id, when the order was ours. */
  clientOrderId?: string;
  conId: number;
  timeMs: number;
  side: OrderSide;
  price: Decimal;
  quantity: Decimal;
  /** Where it executed (IB's exchange, e.g. "ISLAND", "NASDAQ"); absent when IB did not say. */
  exchange?: string;
  /** The order's quantity filled up to and including this execution (IB cumQty). */
  cumulativeQuantity?: Decimal;
  /** The order's average fill price up to and including this execution (IB avgPrice, without commissions). */
  averagePrice?: Decimal;
  /** Whether it added or removed liquidity (IB lastLiquidity); absent when IB did not say. */
  liquidity?: ExecutionLiquidity;
}

/** IB's lastLiquidity: 1 added (a resting order was hit), 2 removed (took the book), 3 routed out to another venue. */
export type ExecutionLiquidity = "added" | "removed" | "routedOut";

export interface CommissionReport {
  execId: string;
  commission: Decimal;
  currency: string;
  /** Absent when IB sends its "unset" marker (an opening fill). */
  realizedPnl?: Decimal;
}
