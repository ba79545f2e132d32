import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import type { OrderRequest } from "../../domain/orders/orderRequest.js";
import { runningClock } from "../../simulator/testing/harness.js";
import { AAPL_BOOK, RICH_ACCOUNT } from "../../simulator/testing/orderFixture.js";
import { createScriptedMarket } from "../../simulator/testing/scriptedMarket.js";
import { OrderStore } from "../../store/orderStore.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";
import type { OrderDesk } from "./orderDesk.js";

// A bracket whose legs have terms of their own, through the desk to the simulated Gateway's matching engine:
// a DAY entry with GTC exits, the stop-loss a stop-limit that fills at its limit or better once triggered, never below it.
const now = runningClock();
const market = createScriptedMarket(1, now);
market.setBook("AAPL", AAPL_BOOK);
const fx = useAdapterOnSimulator({ simulator: { now, market, accounts: [RICH_ACCOUNT], tickIntervalMs: 20 }, adapter: { clientId: 23, now } });

describe("a bracket's legs with their own terms", () => {
  let dir: string;
  let store: OrderStore;
  let desk: OrderDesk;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bracket-legs-"));
    store = OrderStore.open(join(dir, "store.db"));
    desk = fx.adapter.orderDesk({ store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, ackTimeoutMs: 3_000 });
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends each leg with its own time in force and the stop-loss as STP LMT, which fills only at its limit or better once triggered", async () => {
    const aapl = await fx.adapter.resolve("spot", "AAPL");
    const account = fx.adapter.status.activeAccount!;
    const request: OrderRequest = {
      clientOrderId: "entry",
      account,
      instrument: { conId: aapl.conId, symbol: "AAPL", secType: aapl.secType, exchange: aapl.exchange, currency: aapl.currency },
      side: "BUY",
      quantity: dec("100"),
      type: "MKT",
      tif: "DAY",
      outsideRth: false,
      bracket: { takeProfit: { limitPrice: dec("240"), tif: "GTC" }, stopLoss: { stopPrice: dec("229"), limitPrice: dec("228.5"), tif: "GTC" } },
    };
    const placed = await desk.place(request);
    expect(placed.orders.map((o) => [o.clientOrderId, o.leg.type, o.leg.tif])).toEqual([
      ["entry", "MKT", "DAY"],
      ["entry.tp", "LMT", "GTC"],
      ["entry.sl", "STP LMT", "GTC"],
    ]);
    // What the Gateway holds: IB's order types, prices and times in force, leg by leg.
    const atGateway = (orderId: number) => fx.sim.orders.list().find((o) => o.clientId === 23 && o.orderId === orderId)!;
    const [parent, takeProfit, stopLoss] = placed.orders.map((o) => atGateway(o.orderId));
    expect([parent!.orderType, parent!.tif]).toEqual(["MKT", "DAY"]);
    expect([takeProfit!.orderType, takeProfit!.tif, takeProfit!.lmtPrice?.toFixed(), takeProfit!.parentId]).toEqual(["LMT", "GTC", "240", parent!.orderId]);
    expect([stopLoss!.orderType, stopLoss!.tif, stopLoss!.auxPrice?.toFixed(), stopLoss!.lmtPrice?.toFixed(), stopLoss!.parentId]).toEqual(["STP LMT", "GTC", "229", "228.5", parent!.orderId]);

    await until(() => store.get(account, "entry")?.status === "Filled", { what: "the entry filled", timeoutMs: 5_000 });
    // The market falls through the stop, its bid below the limit: triggered (working at the exchange), no fill.
    market.setBook("AAPL", { bids: [["228.40", "500"]], asks: [["228.50", "100"]] });
    await until(() => store.get(account, "entry.sl")?.status === "Submitted", { what: "the stop-limit triggered", timeoutMs: 5_000 });
    expect(store.get(account, "entry.sl")?.filled.toString()).toBe("0");
    // Back to the limit: it fills there, and the take-profit is cancelled (one-cancels-other).
    market.setBook("AAPL", { bids: [["228.60", "100"]], asks: [["228.70", "100"]] });
    await until(() => store.get(account, "entry.sl")?.status === "Filled", { what: "the stop-limit filled at its limit or better", timeoutMs: 5_000 });
    expect(store.listExecutions(0, { clientOrderId: "entry.sl" }).map((e) => [e.execution.price.toString(), e.execution.quantity.toString()])).toEqual([["228.6", "100"]]);
    await until(() => store.get(account, "entry.tp")?.status === "Cancelled", { what: "the take-profit cancelled by the stop-loss's fill", timeoutMs: 5_000 });
  }, 30_000);
});
