/**
 * Order requests. The simulator does not trade: placeOrder is refused (201), every order query answers
 * with its end message alone, and order ids never advance.
 */
import * as msg from "../messages/outbound.js";
import type { Session } from "../session.js";

const ORDER_REJECTED = { code: 201, text: "Order rejected - reason:" };

export function reqIds(session: Session): void {
  session.send(msg.nextValidId(session.nextOrderId));
}

export function placeOrder(session: Session, orderId: number): void {
  session.error(orderId, ORDER_REJECTED, "Order placement is not supported by the simulated Gateway.");
}

/** reqOpenOrders and reqAllOpenOrders. */
export function reqOpenOrders(session: Session): void {
  session.send(msg.openOrderEnd());
}

export function reqExecutions(session: Session, reqId: number): void {
  session.send(msg.executionDataEnd(reqId));
}

export function reqCompletedOrders(session: Session): void {
  session.send(msg.completedOrdersEnd());
}
