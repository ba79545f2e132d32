/**
 * The engine's events on the wire, to the connections of the order's clientId (as TWS reports an order
 * to the client that placed it): openOrder + orderStatus after every change (and, after a fill, the
 * duplicate orderStatus IB is known to send), execDetails (reqId -1) + commissionReport per execution,
 * orderStatus Cancelled + 202 per cancel. After an execution, every connection's live account streams
 * (account updates, account summary and multi, positions) get the changed values at once.
 */
import { money } from "../account.js";
import { AccountSummaryFeed, AccountUpdatesMultiFeed } from "../feeds/accountFeeds.js";
import * as msg from "../messages/outbound.js";
import * as om from "../messages/outboundOrders.js";
import { MIN_SV_ORDERS } from "../messages/inboundOrders.js";
import type { Session } from "../session.js";
import type { OrderEvent, SimExecution } from "./orderTypes.js";
import { ORDER_ERR } from "./placement.js";

export function notifyOrderEvent(sessions: Iterable<Session>, e: OrderEvent): void {
  const ready = [...sessions].filter((s) => s.isReady);
  const owners = ready.filter((s) => s.clientId === e.order.clientId && s.sv >= MIN_SV_ORDERS);
  for (const s of owners) {
    switch (e.type) {
      case "status":
        s.send(om.openOrder(s.sv, e.order));
        s.send(om.orderStatus(s.sv, e.order));
        if (e.order.status === "Filled") s.send(om.orderStatus(s.sv, e.order));
        break;
      case "execution":
        s.send(om.executionData(s.sv, -1, e.execution));
        s.send(om.commissionReport(e.execution));
        break;
      case "cancelled":
        s.send(om.orderStatus(s.sv, e.order));
        s.error(e.order.orderId, ORDER_ERR.CANCELLED, e.reason);
        break;
    }
  }
  // Account streams are the login's: every connection's subscribers see the fill, whoever placed the order.
  if (e.type === "execution") for (const s of ready) pushAccount(s, e.execution);
}

/** The live account streams of one connection, after an execution moved the account. */
function pushAccount(s: Session, e: SimExecution): void {
  const now = s.now();
  const accounts = s.gateway.accounts;
  const acct = accounts.accounts.find((a) => a.id === e.account);
  if (!acct) return;
  const pos = acct.positions.find((p) => p.instrument.conId === e.instrument.conId);
  if (s.positionsSubscribed) {
    s.send(msg.position(s.sv, acct.id, e.instrument, pos?.quantity.toFixed() ?? "0", pos?.avgCost.toFixed() ?? "0"));
  }
  if (s.accountUpdates?.account === acct.id) {
    s.accountUpdates.refreshNow(now);
    // A closed position disappears from the account's portfolio: IB reports it once more with size 0.
    if (!pos) s.send(msg.portfolioValue(s.sv, e.instrument, "0", e.price.toFixed(), "0.00", "0", "0.00", money(acct.realized), acct.id));
  }
  for (const sub of s.subs.values()) {
    if (sub instanceof AccountSummaryFeed || sub instanceof AccountUpdatesMultiFeed) sub.refreshNow(now);
  }
}
