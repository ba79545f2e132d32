import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { FeedEvent } from "../../stream/feedEvents.js";
import type { FeedCursor } from "../../stream/feedCursor.js";
import { SharedFeed } from "../../stream/sharedFeed.js";
import type { OrderDesk, OrderDeskEvent, TradingState } from "./orderDesk.js";
import { orderFeedSource } from "./orderFeed.js";

/** How long any wait here may take before the test fails with what was heard. */
const WAIT_MS = 2_000;

/** The desk as the feed sees it: its events, the open orders and the trading status now. */
class FakeDesk extends EventEmitter<{ event: [OrderDeskEvent] }> {
  killSwitchEngaged = false;
  openOrders: OrderDeskEvent[] = [];
  tradingState(): TradingState {
    return { enabled: true, allowLive: false, account: "DU111", isPaper: true, killSwitch: { engaged: this.killSwitchEngaged } as TradingState["killSwitch"] };
  }
  currentState(_account: string): OrderDeskEvent[] {
    return [...this.openOrders, { type: "trading", state: this.tradingState() }];
  }
}

const openOrder = (clientOrderId: string, account = "DU111"): OrderDeskEvent =>
  ({ type: "order", order: { clientOrderId, account } as never, commission: undefined, reconciled: false });

function feedOn(desk: FakeDesk, connected: { up: boolean }) {
  return new SharedFeed<OrderDeskEvent>("orders/DU111", orderFeedSource(desk as unknown as OrderDesk, "DU111"), { now: Date.now, onIdle: () => undefined, isConnected: () => connected.up });
}

/** Reads the cursor until `done` holds of what was heard (or fails after WAIT_MS with it). */
async function readUntil(cursor: FeedCursor<OrderDeskEvent>, done: (heard: FeedEvent<OrderDeskEvent>[]) => boolean): Promise<FeedEvent<OrderDeskEvent>[]> {
  const heard: FeedEvent<OrderDeskEvent>[] = [];
  const it = cursor[Symbol.asyncIterator]();
  const deadline = Date.now() + WAIT_MS;
  while (!done(heard)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`not heard within ${WAIT_MS} ms: ${JSON.stringify(heard.map(described))}`);
    const next = await Promise.race([it.next(), new Promise<"timeout">((r) => setTimeout(() => r("timeout"), left))]);
    if (next === "timeout" || next.done === true) continue;
    heard.push(...next.value.filter((e) => e.type !== "heartbeat"));
  }
  return heard;
}

function described(e: FeedEvent<OrderDeskEvent>): string {
  if (e.type === "status") return `status:${e.status.kind}`;
  if (e.type === "data") return e.value.type === "order" ? `order:${e.value.order.clientOrderId}` : e.value.type;
  return e.type;
}
const data = (heard: FeedEvent<OrderDeskEvent>[]) => heard.flatMap((e) => (e.type === "data" ? [e.value] : []));

describe("the order feed", () => {
  it("gives a client that subscribed while the Gateway was away the open orders and the trading status once it is back", async () => {
    const desk = new FakeDesk();
    desk.openOrders = [openOrder("resting-1")];
    const connected = { up: false };
    const feed = feedOn(desk, connected);
    feed.pin(false); // OrderFeeds.feed: the first StreamOrders (orders off) while the Gateway is away
    const ac = new AbortController();
    const cursor = feed.subscribe({ signal: ac.signal, heartbeatMs: 60_000, staleAfterMs: 0 });
    try {
      await new Promise((resolve) => setImmediate(resolve)); // the Gateway comes back later
      connected.up = true;
      feed.reopen("reconnected to the Gateway: events between the loss and now may be missing");
      const heard = await readUntil(cursor, (h) => data(h).some((v) => v.type === "trading") && data(h).some((v) => v.type === "order"));
      expect(data(heard).map((v) => (v.type === "order" ? v.order.clientOrderId : v.type))).toEqual(["resting-1", "trading"]);
    } finally {
      ac.abort();
      feed.close();
    }
  });

  it("gives a client joining the running feed the open orders and the trading status once, then the changes", async () => {
    const desk = new FakeDesk();
    desk.openOrders = [openOrder("resting-1")];
    const feed = feedOn(desk, { up: true });
    feed.pin(false); // made and opened in one turn (OrderFeeds.feed): nothing said at the opening itself
    await new Promise((resolve) => setImmediate(resolve));
    const ac = new AbortController();
    const cursor = feed.subscribe({ signal: ac.signal, heartbeatMs: 60_000, staleAfterMs: 0 });
    try {
      desk.emit("event", openOrder("placed-2"));
      const heard = await readUntil(cursor, (h) => data(h).some((v) => v.type === "order" && v.order.clientOrderId === "placed-2"));
      expect(data(heard).map((v) => (v.type === "order" ? v.order.clientOrderId : v.type))).toEqual(["resting-1", "trading", "placed-2"]);
      expect(feed.lastSequence).toBe(1);
    } finally {
      ac.abort();
      feed.close();
    }
  });

  it("says the kill switch engaged while the Gateway was away after the reconnect's GAP", async () => {
    const desk = new FakeDesk();
    const connected = { up: true };
    const feed = feedOn(desk, connected);
    feed.pin(false);
    const ac = new AbortController();
    const cursor = feed.subscribe({ signal: ac.signal, heartbeatMs: 60_000, staleAfterMs: 0 });
    try {
      connected.up = false;
      feed.connectionLost();
      desk.killSwitchEngaged = true;
      desk.emit("event", { type: "trading", state: desk.tradingState() }); // lost: the feed is closed
      connected.up = true;
      feed.reopen("reconnected to the Gateway: events between the loss and now may be missing");
      const heard = await readUntil(cursor, (h) => data(h).filter((v) => v.type === "trading").length >= 2);
      const afterGap = heard.slice(heard.findIndex((e) => e.type === "status" && e.status.kind === "gap"));
      expect(afterGap.map(described)).toEqual(["status:gap", "trading"]);
      const last = data(afterGap)[0]!;
      expect(last.type === "trading" && last.state.killSwitch.engaged).toBe(true);
    } finally {
      ac.abort();
      feed.close();
    }
  });

  it("passes none of another account's orders or executions", async () => {
    const desk = new FakeDesk();
    const feed = feedOn(desk, { up: true });
    feed.pin(false);
    const ac = new AbortController();
    const cursor = feed.subscribe({ signal: ac.signal, heartbeatMs: 60_000, staleAfterMs: 0 });
    try {
      desk.emit("event", openOrder("theirs", "DU222"));
      desk.emit("event", { type: "execution", execution: { execution: { account: "DU222" } } as never, order: undefined, reconciled: false });
      desk.emit("event", openOrder("ours"));
      const heard = await readUntil(cursor, (h) => data(h).some((v) => v.type === "order" && v.order.clientOrderId === "ours"));
      expect(data(heard).filter((v) => v.type !== "trading").map((v) => (v.type === "order" ? v.order.clientOrderId : v.type))).toEqual(["ours"]);
    } finally {
      ac.abort();
      feed.close();
    }
  });
});
