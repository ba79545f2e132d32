import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutionLiquidity } from "../../../gen/ibprovider/v1/order_service.js";
import { dec } from "../../domain/decimal.js";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import type { OrderRequest } from "../../domain/orders/orderRequest.js";
import { executionToProto } from "../../grpc/mapping/orders.js";
import { runningClock } from "../../simulator/testing/harness.js";
import { AAPL_BOOK, RICH_ACCOUNT } from "../../simulator/testing/orderFixture.js";
import { createScriptedMarket } from "../../simulator/testing/scriptedMarket.js";
import { OrderStore } from "../../store/orderStore.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";
import type { OrderDesk } from "./orderDesk.js";

// What IB's execDetails says of a fill beyond its price and size — where it executed, the order's cumulative
// quantity and average price so far, whether it added or removed liquidity — recorded in the store's file and
// answered by ListExecutions, from the simulated Gateway's matching engine (AAPL trades on NASDAQ there).
const now = runningClock();
const market = createScriptedMarket(1, now);
market.setBook("AAPL", AAPL_BOOK);
const fx = useAdapterOnSimulator({ simulator: { now, market, accounts: [RICH_ACCOUNT], tickIntervalMs: 20 }, adapter: { clientId: 24, now } });

describe("an execution's venue, running totals and liquidity", () => {
  let dir: string;
  let path: string;
  let store: OrderStore;
  let desk: OrderDesk;
  let account: string;
  let order: (clientOrderId: string, over: Partial<OrderRequest>) => OrderRequest;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "execution-details-"));
    path = join(dir, "store.db");
    store = OrderStore.open(path);
    desk = fx.adapter.orderDesk({ store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, ackTimeoutMs: 3_000 });
    const aapl = await fx.adapter.resolve("spot", "AAPL");
    account = fx.adapter.status.activeAccount!;
    order = (clientOrderId, over) => ({
      clientOrderId,
      account,
      instrument: { conId: aapl.conId, symbol: "AAPL", secType: aapl.secType, exchange: aapl.exchange, currency: aapl.currency },
      side: "BUY",
      quantity: dec("150"),
      type: "MKT",
      tif: "DAY",
      outsideRth: false,
      ...over,
    });
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fillsOf = (clientOrderId: string) =>
    store.listExecutions(0, { clientOrderId }).map((e) => executionToProto(e, desk.order(account, clientOrderId))).map((e) => [e.price, e.quantity, e.exchange, e.cumulativeQuantity, e.averagePrice, e.liquidity]);

  it("a market order that takes two levels: each fill removed liquidity, with the order's running quantity and average", async () => {
    await desk.place(order("taker", {}));
    await until(() => store.listExecutions(0, { clientOrderId: "taker" }).length === 2, { what: "two fills", timeoutMs: 5_000 });
    expect(fillsOf("taker")).toEqual([
      ["230.1", "100", "NASDAQ", "100", "230.1", ExecutionLiquidity.EXECUTION_LIQUIDITY_REMOVED],
      ["230.11", "50", "NASDAQ", "150", "230.10333333", ExecutionLiquidity.EXECUTION_LIQUIDITY_REMOVED],
    ]);
  });

  it("a limit order that rested, then was hit, added liquidity; the store's file keeps it all across a reopen", async () => {
    await desk.place(order("maker", { side: "SELL", quantity: dec("100"), type: "LMT", limitPrice: dec("232"), tif: "GTC" }));
    await until(() => store.get(account, "maker")?.status === "Submitted", { what: "the limit resting", timeoutMs: 5_000 });
    market.setBook("AAPL", { bids: [["232.00", "100"]], asks: [["232.10", "100"]] });
    await until(() => store.listExecutions(0, { clientOrderId: "maker" }).length === 1, { what: "the resting order hit", timeoutMs: 5_000 });
    expect(fillsOf("maker")).toEqual([["232", "100", "NASDAQ", "100", "232", ExecutionLiquidity.EXECUTION_LIQUIDITY_ADDED]]);
    const reopened = OrderStore.open(path);
    try {
      const e = reopened.listExecutions(0, { clientOrderId: "maker" })[0]!.execution;
      expect([e.exchange, e.cumulativeQuantity?.toString(), e.averagePrice?.toString(), e.liquidity]).toEqual(["NASDAQ", "100", "232", "added"]);
    } finally {
      reopened.close();
    }
  });
});
