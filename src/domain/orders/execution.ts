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
}

export interface CommissionReport {
  execId: string;
  commission: Decimal;
  currency: string;
  /** Absent when IB sends its "unset" marker (an opening fill). */
  realizedPnl?: Decimal;
}
