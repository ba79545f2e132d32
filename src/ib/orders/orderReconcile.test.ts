import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import type { OrderRequest } from "../../domain/orders/orderRequest.js";
import { runningClock } from "../../simulator/testing/harness.js";
import { createScriptedMarket } from "../../simulator/testing/scriptedMarket.js";
import { AAPL_BOOK, RICH_ACCOUNT } from "../../simulator/testing/orderFixture.js";
import { OrderStore } from "../../store/orderStore.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";
import type { OrderDesk, OrderDeskEvent } from "./orderDesk.js";

// What happened while the Gateway was away: the simulator's matching engine fills a resting order during a
// Gateway restart (no client connected); after the reconnect the desk reconciles and says so, once.
const now = runningClock();
const market = createScriptedMarket(1, now);
market.setBook("AAPL", AAPL_BOOK);
const fx = useAdapterOnSimulator({
  simulator: { now, market, accounts: [RICH_ACCOUNT], tickIntervalMs: 20 },
  adapter: { clientId: 22, now, backoff: { initialMs: 50, maxMs: 100, jitter: 0 } },
});

describe("the order desk after a Gateway outage", () => {
  let dir: string;
  let store: OrderStore;
  let desk: OrderDesk;
  const events: OrderDeskEvent[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "order-reconcile-"));
    store = OrderStore.open(join(dir, "store.db"));
    desk = fx.adapter.orderDesk({ store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, ackTimeoutMs: 3_000 });
    desk.on("event", (e) => events.push(e));
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records a fill that happened while the Gateway restarted, and the order still open as it is", async () => {
    const aapl = await fx.adapter.resolve("spot", "AAPL");
    const account = fx.adapter.status.activeAccount!;
    const order = (clientOrderId: string, side: "BUY" | "SELL", price: string): OrderRequest => ({
      clientOrderId,
      account,
      instrument: { conId: aapl.conId, symbol: "AAPL", secType: aapl.secType, exchange: aapl.exchange, currency: aapl.currency },
      side,
      quantity: dec("100"),
      type: "LMT",
      limitPrice: dec(price),
      tif: "GTC",
      outsideRth: false,
    });
    expect((await desk.place(order("fills-away", "BUY", "229"))).orders[0]!.status).toBe("Submitted");
    expect((await desk.place(order("stays-open", "SELL", "232"))).orders[0]!.status).toBe("Submitted");

    const restart = fx.sim.faults.restart(400);
    await until(() => fx.sim.clientCount() === 0, { what: "the adapter dropped" });
    market.setBook("AAPL", { bids: [["228.80", "100"]], asks: [["228.90", "100"]] });
    await until(() => fx.sim.orders.executions().length === 1, { what: "the fill while no client is connected" });
    const seen = events.length;
    await restart;

    await until(() => store.get(account, "fills-away")?.status === "Filled", { what: "the fill reconciled", timeoutMs: 10_000 });
    const filled = store.get(account, "fills-away")!;
    expect(filled.filled.toString()).toBe("100");
    expect(filled.remaining.isZero()).toBe(true);
    await until(() => store.listExecutions(0, { clientOrderId: "fills-away" }).length === 1, { what: "the execution recorded", timeoutMs: 5_000 });
    expect(store.get(account, "stays-open")?.status).toBe("Submitted");
    const after = events.slice(seen);
    expect(after.filter((e) => e.type === "order" && e.order.clientOrderId === "fills-away" && e.order.status === "Filled")).toHaveLength(1);
    expect(after.some((e) => e.type === "order" && e.order.clientOrderId === "stays-open")).toBe(false);
    expect(after.some((e) => e.type === "execution" && e.execution.execution.clientOrderId === "fills-away")).toBe(true);
  }, 30_000);
});
