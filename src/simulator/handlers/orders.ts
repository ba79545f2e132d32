/**
 * Order requests, answered by the Gateway's matching engine (orders/orderEngine.ts): placeOrder (new, a
 * modification of a working order, or what-if), cancelOrder, reqGlobalCancel, reqIds, and the
 * reconciliation queries reqOpenOrders / reqAllOpenOrders, reqExecutions, reqCompletedOrders.
 */
import { MIN_SV_ORDERS, type PlaceOrderRequest, type ReqExecutions } from "../messages/inboundOrders.js";
import { MIN_SV } from "../messages/ids.js";
import * as msg from "../messages/outbound.js";
import * as om from "../messages/outboundOrders.js";
import { nextOpenMs, notPlacedUntilText } from "../orders/nextOpen.js";
import type { SimOrder } from "../orders/orderTypes.js";
import { ORDER_ERR } from "../orders/placement.js";
import type { Session } from "../session.js";

export function reqIds(session: Session): void {
  session.send(msg.nextValidId(session.nextOrderId));
}

export function placeOrder(session: Session, req: PlaceOrderRequest): void {
  if (session.sv < MIN_SV_ORDERS) {
    // Below 145 placeOrder and openOrder carry layouts this simulator does not speak.
    session.error(req.orderId, ORDER_ERR.REJECTED, `The simulated Gateway takes orders from API clients of server version ${MIN_SV_ORDERS} on.`);
    return;
  }
  const engine = session.gateway.orders;
  const result = engine.place(session.clientId ?? 0, req, session.now());
  session.gateway.log("info", { clientId: session.clientId, orderId: req.orderId, orderRef: req.orderRef, result: result.kind }, "placeOrder");
  if (result.kind === "refused") {
    session.error(req.orderId, result.refusal.error, result.refusal.suffix);
  } else if (result.kind === "whatIf") {
    session.send(om.openOrder(session.sv, result.order, result.state));
  } else if (result.kind === "accepted") {
    warnIfMarketClosed(session, result.order);
  }
}

/** 399 (advisory, the order stays): an order accepted while its market is closed waits for the open. */
function warnIfMarketClosed(session: Session, o: SimOrder): void {
  const now = session.now();
  if (!o.transmitted || o.status !== "PreSubmitted" || session.market.isOpen(o.instrument, now, !o.outsideRth)) return;
  const opens = nextOpenMs(session.market, o.instrument, now, o.outsideRth);
  session.error(o.orderId, ORDER_ERR.ORDER_MESSAGE, notPlacedUntilText(o.action, o.totalQuantity.toFixed(), o.instrument, opens));
}

export function cancelOrder(session: Session, orderId: number): void {
  const result = session.gateway.orders.cancel(session.clientId ?? 0, orderId, session.now());
  if (result.kind === "refused") session.error(orderId, result.refusal.error, result.refusal.suffix);
}

export function reqGlobalCancel(session: Session): void {
  session.gateway.orders.globalCancel(session.now());
}

/** reqOpenOrders: this client's working orders; reqAllOpenOrders: every client's. Then openOrderEnd. */
function sendOpenOrders(session: Session, clientId: number | undefined): void {
  if (session.sv >= MIN_SV_ORDERS) {
    for (const o of session.gateway.orders.book.open(clientId)) {
      session.send(om.openOrder(session.sv, o));
      session.send(om.orderStatus(session.sv, o));
    }
  }
  session.send(msg.openOrderEnd());
}

export function reqOpenOrders(session: Session): void {
  sendOpenOrders(session, session.clientId ?? 0);
}

export function reqAllOpenOrders(session: Session): void {
  sendOpenOrders(session, undefined);
}

/** The executions the filter selects (each with its commission report), then execDetailsEnd. */
export function reqExecutions(session: Session, req: ReqExecutions): void {
  if (session.sv >= MIN_SV_ORDERS) {
    for (const e of session.gateway.orders.book.executionsMatching(req.filter, session.now())) {
      session.send(om.executionData(session.sv, req.reqId, e));
      session.send(om.commissionReport(e));
    }
  }
  session.send(msg.executionDataEnd(req.reqId));
}

/** Filled and cancelled orders (of every client: IB answers the account's), then the end. */
export function reqCompletedOrders(session: Session): void {
  if (session.sv >= MIN_SV.REQ_COMPLETED_ORDERS) {
    for (const o of session.gateway.orders.book.completed()) session.send(om.completedOrder(session.sv, o));
  }
  session.send(msg.completedOrdersEnd());
}
