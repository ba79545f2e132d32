import { toWire, type Decimal } from "../decimal.js";

/** The fields of IB's orderStatus message that say whether it tells anything new. */
export interface OrderStatusMessage {
  orderId: number;
  /** IB's string, as sent (mapped later: a duplicate of an unrecognized one is still a duplicate). */
  status: string;
  filled: Decimal;
  remaining: Decimal;
  avgFillPrice?: Decimal;
  lastFillPrice?: Decimal;
  whyHeld?: string;
}

/**
 * Drops IB's duplicate orderStatus messages: IB sends the same status several times (once per fill report,
 * again with openOrder, again after a reconnect). A message equal to the last one kept for its order id in
 * status, filled, remaining, average and last fill price (by value: 100 = 100.0) and whyHeld is a duplicate.
 * Compared with the last one only: A, B, A keeps all three (the order went back). Remembers up to `maxOrders`
 * orders (the least recently updated forgotten first); forget() a finished order.
 */
export class OrderStatusDeduplicator {
  private readonly last = new Map<number, string>();

  constructor(private readonly maxOrders = 10_000) {}

  /** True when the message says something new (and is remembered); false for a duplicate. */
  isNew(message: OrderStatusMessage): boolean {
    const key = [message.status, toWire(message.filled), toWire(message.remaining), toWire(message.avgFillPrice), toWire(message.lastFillPrice), message.whyHeld ?? ""].join("\u0000");
    if (this.last.get(message.orderId) === key) return false;
    this.last.delete(message.orderId);
    this.last.set(message.orderId, key);
    if (this.last.size > this.maxOrders) this.last.delete(this.last.keys().next().value!);
    return true;
  }

  forget(orderId: number): void {
    this.last.delete(orderId);
  }
}
