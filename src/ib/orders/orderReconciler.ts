import type { OrderError } from "../../domain/orders/orderStatus.js";
import type { OrderStore, StoredExecution, StoredOrder } from "../../store/orderStore.js";
import type { GatewayOrderSnapshot } from "./gatewayOrders.js";
import { executionOf, ibDecimal, statusOf } from "./ibOrderFacts.js";

export interface ReconcileContext {
  account: string | undefined;
  idSpace: (account: string) => string;
  nowMs: number;
  /** When the snapshot was asked for: an order changed since (placed meanwhile) is not judged by it. */
  askedMs: number;
  /** This connection's client id: only its orders are ours (reqAllOpenOrders lists every client's). */
  clientId: number;
}

/** The service's own codes for its word on an order (IB's codes are positive). */
export const FATE_UNKNOWN_CODE = 0;
export const NOT_RECEIVED_CODE = -1;
export const NOT_RECEIVED = "IB has no record of the order after the Gateway came back (not open, not completed today, never acknowledged): most likely it was not received, but IB's records of completed orders do not go back past its session: check TWS before placing it again";
export const FATE_UNKNOWN = "not open and not completed at the Gateway after it came back: what became of the order is unknown (check TWS); never guessed";

/**
 * The service's own word on an order (NOT_RECEIVED, FATE_UNKNOWN: codes 0 and below), which holds only until
 * IB reports the order again (a later reconciliation, an orderStatus): then it is withdrawn, not left standing
 * beside IB's status. IB's own codes (positive) stay until IB says otherwise.
 */
export function isOwnWord(error: OrderError | undefined): boolean {
  return error !== undefined && error.code <= FATE_UNKNOWN_CODE;
}

/**
 * The store's open orders against what the Gateway holds after a (re)connect: an order still open takes the
 * Gateway's status, one completed meanwhile its final status and fill; one the Gateway does not know at all
 * is Unknown (saying whether IB ever acknowledged it) — its fate is never guessed. Executions of the day the store lacks are recorded. Orders are
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
  // Ours: this client id's orders of this account (another client may use the same orderRef).
  const ours = <T extends { order: { clientId?: number; account?: string } }>(list: T[]) =>
    list.filter((o) => (o.order.clientId === undefined || o.order.clientId === ctx.clientId) && (o.order.account === undefined || o.order.account === "" || o.order.account === ctx.account));
  const open = ours(snapshot.open);
  const completed = ours(snapshot.completed);
  const openByRef = new Map(open.filter((o) => o.order.orderRef).map((o) => [o.order.orderRef!, o]));
  const openByPerm = new Map(open.filter((o) => o.order.permId).map((o) => [o.order.permId!, o]));
  const doneByRef = new Map(completed.filter((o) => o.order.orderRef).map((o) => [o.order.orderRef!, o]));
  const doneByPerm = new Map(completed.filter((o) => o.order.permId).map((o) => [o.order.permId!, o]));
  for (const order of store.listOpen(ctx.account)) {
    if (order.idSpace !== idSpace || order.updatedMs >= ctx.askedMs) continue;
    // Settled by IB's word (a reject) or an earlier reconciliation: not judged again.
    if (order.status === "Inactive" && order.lastError !== undefined) continue;
    const working = openByRef.get(order.clientOrderId) ?? (order.permId === undefined ? undefined : openByPerm.get(order.permId));
    const done = working === undefined ? (doneByRef.get(order.clientOrderId) ?? (order.permId === undefined ? undefined : doneByPerm.get(order.permId))) : undefined;
    let updated: StoredOrder | undefined;
    // IB reports it (open or completed): an Unknown's warning from an earlier reconciliation is withdrawn.
    const withdrawn = isOwnWord(order.lastError) ? { lastError: null } : {};
    if (working !== undefined) {
      const { status } = statusOf(working.state.status);
      if (status !== order.status || (working.order.permId && working.order.permId !== order.permId) || isOwnWord(order.lastError)) {
        updated = store.updateState(order.account, order.clientOrderId, { status, ...(working.order.permId ? { permId: working.order.permId } : {}), ...withdrawn }, ctx.nowMs);
      }
    } else if (done !== undefined) {
      const { status } = statusOf(done.state.completedStatus && /cancel/i.test(done.state.completedStatus) ? "Cancelled" : done.state.status);
      const filled = ibDecimal(done.order.filledQuantity);
      const remaining = filled === undefined ? undefined : order.leg.quantity.minus(filled);
      updated = store.updateState(order.account, order.clientOrderId, { status, ...(done.order.permId ? { permId: done.order.permId } : {}), ...(filled === undefined ? {} : { filled }), ...(remaining === undefined ? {} : { remaining }), ...withdrawn }, ctx.nowMs);
    } else if (order.status !== "Unknown") {
      // IB has no record of it today: never acknowledged (most likely not received) or acknowledged and
      // gone (completed before IB's records start). Either way its fate is not asserted: Unknown, saying which.
      const never = order.status === "PendingSubmit";
      updated = store.updateState(order.account, order.clientOrderId, { status: "Unknown", lastError: { code: never ? NOT_RECEIVED_CODE : FATE_UNKNOWN_CODE, text: never ? NOT_RECEIVED : FATE_UNKNOWN } }, ctx.nowMs);
    }
    if (updated !== undefined) orders.push(updated);
  }
  return { orders, executions };
}
