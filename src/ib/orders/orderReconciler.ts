import type { OrderStore, StoredExecution, StoredOrder } from "../../store/orderStore.js";
import type { GatewayOrderSnapshot } from "./gatewayOrders.js";
import { executionOf, ibDecimal, statusOf } from "./ibOrderFacts.js";

export interface ReconcileContext {
  account: string | undefined;
  idSpace: (account: string) => string;
  nowMs: number;
  /** When the snapshot was asked for: an order changed since (placed meanwhile) is not judged by it. */
  askedMs: number;
}

export const NOT_RECEIVED = "IB has no record of the order after the Gateway came back (not open, not completed, never acknowledged): it was not received, nothing works";
export const FATE_UNKNOWN = "not open and not completed at the Gateway after it came back: what became of the order is unknown (check TWS); never guessed";

/**
 * The store's open orders against what the Gateway holds after a (re)connect: an order still open takes the
 * Gateway's status, one completed meanwhile its final status and fill; one the Gateway does not know at all
 * is Inactive when IB never acknowledged it (it was not received), else Unknown — its fate is never guessed. Executions of the day the store lacks are recorded. Orders are
 * matched by our client order id (IB's orderRef), then by permId. Returns what changed, in that order.
 */
export function reconcileOrders(store: OrderStore, snapshot: GatewayOrderSnapshot, ctx: ReconcileContext): { orders: StoredOrder[]; executions: StoredExecution[] } {
  const orders: StoredOrder[] = [];
  const executions: StoredExecution[] = [];
  for (const { contract, execution } of snapshot.executions) {
    const e = executionOf(contract, execution, ctx.nowMs);
    if (e === undefined || store.getExecution(e.execId)?.execution !== undefined) continue;
    store.recordExecution(e);
    const stored = store.getExecution(e.execId);
    if (stored !== undefined) executions.push(stored);
  }
  if (ctx.account === undefined) return { orders, executions };
  const idSpace = ctx.idSpace(ctx.account);
  const openByRef = new Map(snapshot.open.filter((o) => o.order.orderRef).map((o) => [o.order.orderRef!, o]));
  const openByPerm = new Map(snapshot.open.filter((o) => o.order.permId).map((o) => [o.order.permId!, o]));
  const doneByRef = new Map(snapshot.completed.filter((o) => o.order.orderRef).map((o) => [o.order.orderRef!, o]));
  const doneByPerm = new Map(snapshot.completed.filter((o) => o.order.permId).map((o) => [o.order.permId!, o]));
  for (const order of store.listOpen(ctx.account)) {
    if (order.idSpace !== idSpace || order.updatedMs > ctx.askedMs) continue;
    const open = openByRef.get(order.clientOrderId) ?? (order.permId === undefined ? undefined : openByPerm.get(order.permId));
    const done = open === undefined ? (doneByRef.get(order.clientOrderId) ?? (order.permId === undefined ? undefined : doneByPerm.get(order.permId))) : undefined;
    let updated: StoredOrder | undefined;
    if (open !== undefined) {
      const { status } = statusOf(open.state.status);
      if (status !== order.status || (open.order.permId && open.order.permId !== order.permId)) {
        updated = store.updateState(order.account, order.clientOrderId, { status, ...(open.order.permId ? { permId: open.order.permId } : {}) }, ctx.nowMs);
      }
    } else if (done !== undefined) {
      const { status } = statusOf(done.state.completedStatus && /cancel/i.test(done.state.completedStatus) ? "Cancelled" : done.state.status);
      const filled = ibDecimal(done.order.filledQuantity);
      const remaining = filled === undefined ? undefined : order.leg.quantity.minus(filled);
      updated = store.updateState(order.account, order.clientOrderId, { status, ...(done.order.permId ? { permId: done.order.permId } : {}), ...(filled === undefined ? {} : { filled }), ...(remaining === undefined ? {} : { remaining }) }, ctx.nowMs);
    } else if (order.status === "PendingSubmit") {
      // Never acknowledged, and IB has no record of it at all: it did not reach IB (a fact, not a guess).
      updated = store.updateState(order.account, order.clientOrderId, { status: "Inactive", lastError: { code: 0, text: NOT_RECEIVED } }, ctx.nowMs);
    } else if (order.status !== "Unknown") {
      updated = store.updateState(order.account, order.clientOrderId, { status: "Unknown", lastError: { code: 0, text: FATE_UNKNOWN } }, ctx.nowMs);
    }
    if (updated !== undefined) orders.push(updated);
  }
  return { orders, executions };
}
