/**
 * An order's status: IB's orderStatus strings mapped onto a closed set, plus Unknown (ours: the order's fate
 * is not known, e.g. it was being sent when the Gateway went away; reconciliation settles it, nothing guesses).
 */
import type { Decimal } from "../decimal.js";

/** IB's status strings (TWS API "Order Status" reference), exactly as IB spells them. */
export const IB_ORDER_STATUSES = ["PendingSubmit", "PendingCancel", "PreSubmitted", "Submitted", "ApiPending", "ApiCancelled", "Cancelled", "Filled", "Inactive"] as const;
export type IbOrderStatus = (typeof IB_ORDER_STATUSES)[number];

export type OrderStatus = IbOrderStatus | "Unknown";
export const ORDER_STATUSES: readonly OrderStatus[] = [...IB_ORDER_STATUSES, "Unknown"];

/**
 * Statuses after which IB changes nothing more. Inactive is not among them (as in ib_insync): IB reports a
 * rejected order as Inactive but also one it holds (e.g. outside its session) and may reactivate; Unknown is
 * not either: it waits for reconciliation.
 */
const DONE: ReadonlySet<OrderStatus> = new Set<OrderStatus>(["Filled", "Cancelled", "ApiCancelled"]);

export function isDoneStatus(status: OrderStatus): boolean {
  return DONE.has(status);
}

/** A status string IB sent that is not in IB_ORDER_STATUSES: reported, never mapped to the nearest one. */
export class UnrecognizedOrderStatusError extends Error {
  constructor(readonly text: string) {
    super(`IB sent order status ${JSON.stringify(text.slice(0, 40))}, which is none of ${IB_ORDER_STATUSES.join(", ")}`);
  }
}

const KNOWN: ReadonlySet<string> = new Set(IB_ORDER_STATUSES);

/** Maps IB's string exactly (case and all); anything else throws UnrecognizedOrderStatusError. */
export function orderStatusFromIb(text: string): IbOrderStatus {
  if (!KNOWN.has(text)) throw new UnrecognizedOrderStatusError(text);
  return text as IbOrderStatus;
}

export function isOrderStatus(text: string): text is OrderStatus {
  return KNOWN.has(text) || text === "Unknown";
}

/** Why IB rejected or warned about the order last (an IB error code tied to the order id). */
export interface OrderError {
  code: number;
  text: string;
}

/** What is known of a placed order now. */
export interface OrderState {
  /** IB's order id (per client-id connection), allocated by us from nextValidId. */
  orderId: number;
  /** IB's permanent id, stable across sessions; known once IB acknowledged the order. */
  permId?: number;
  status: OrderStatus;
  filled: Decimal;
  remaining: Decimal;
  /** Absent until something filled. */
  avgFillPrice?: Decimal;
  lastError?: OrderError;
}
