import type { ConsumerOptions } from "../../stream/consumerOptions.js";
import type { FeedConsumer } from "../../stream/feedCursor.js";
import type { FeedSource, FeedSink } from "../../stream/feedSource.js";
import type { GatewayConnection } from "../connection/gatewayConnection.js";
import type { FeedRegistry } from "../feeds/feedRegistry.js";
import type { OrderDesk, OrderDeskEvent } from "./orderDesk.js";

/**
 * An account's order events as a shared feed (StreamOrders): the desk's changes of the account's orders and
 * executions, and the trading status when the kill switch changes. It holds no IB line: the desk hears IB's
 * order messages whatever the feed does. A joiner first gets the open orders and the trading status as they
 * are now.
 *
 * After a reconnect the desk reconciles with IB: the feed's GAP says so (fillsGaps: it is this source's to say,
 * not the generic "events may be missing"), and what changed while the Gateway was away follows, marked
 * reconciled. The trading status is said again then: a kill switch engaged while the Gateway was away (when the
 * feed was closed) is not lost.
 */
export function orderFeedSource(desk: OrderDesk, account: string): FeedSource<OrderDeskEvent> {
  let opened = false;
  // Made and pinned in one turn (OrderFeeds.feed): opened then, nobody is subscribed yet (a joiner gets
  // joinEvents). Opened in a later turn (made while the Gateway was away: the reconnect opens it), its
  // first clients subscribed to a closed feed and heard no state: the first open says it to them.
  let sameTurn = true;
  queueMicrotask(() => (sameTurn = false));
  return {
    // Every event matters (a missed fill is a wrong position): a client too far behind ends CONSUMER_TOO_SLOW.
    overflow: "fail",
    fillsGaps: true,
    joinEvents: () => desk.currentState(account),
    open(sink: FeedSink<OrderDeskEvent>) {
      const listener = (event: OrderDeskEvent) => {
        if (isOfAccount(event, account)) sink.data(event);
      };
      desk.on("event", listener);
      if (opened) {
        // Reopened after a Gateway reconnect (the desk reconciles) or IB's 1101 (IB kept the orders; its news follows).
        sink.status("gap", "resumed after an interruption: order changes meanwhile follow as IB reports them (after a Gateway reconnect, learned by reconciling: marked reconciled; an order whose fate IB cannot say is UNKNOWN)");
        sink.data({ type: "trading", state: desk.tradingState() });
      } else if (!sameTurn) {
        for (const event of desk.currentState(account)) sink.data(event);
      }
      opened = true;
      return { close: () => desk.off("event", listener) };
    },
  };
}

function isOfAccount(event: OrderDeskEvent, account: string): boolean {
  if (event.type === "order") return event.order.account === account;
  if (event.type === "execution") return event.execution.execution.account === account;
  return event.state.account === undefined || event.state.account === account;
}

/**
 * The order feeds of the adapter. With orders enabled, the active account's runs (pinned) from the first
 * connection on, so its journal holds every change and StreamOrders can start from a time or resume after one
 * it sent. With orders off (nothing can be placed here) it starts at the first StreamOrders, and runs on.
 */
export class OrderFeeds {
  constructor(
    private readonly desk: OrderDesk,
    private readonly feeds: FeedRegistry,
    connection: GatewayConnection,
  ) {
    if (!desk.rails.enabled) return;
    const pin = () => {
      const account = connection.status.activeAccount;
      if (account !== undefined) this.feed(account);
    };
    connection.on("ready", pin);
    if (connection.isReady) pin();
  }

  /** The account's order events; the account is the one the desk trades (checked by the caller). */
  stream(account: string, options: ConsumerOptions<OrderDeskEvent>): FeedConsumer<OrderDeskEvent> {
    return this.feed(account).subscribe(options);
  }

  /** The account's feed, running: pinned once made (a few events a day, no IB line). */
  private feed(account: string) {
    const feed = this.feeds.acquire({ key: `orders/${account}`, kind: "orders", marketType: "", symbol: "" }, () => orderFeedSource(this.desk, account));
    if (!feed.isPinned) feed.pin(false);
    return feed;
  }
}
