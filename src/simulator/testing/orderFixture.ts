/**
 * The order tests' setting: a simulator on a scripted market (AAPL's book is the test's), a running clock
 * inside a New York session, an account with enough cash, and a client with its order events collected.
 */
import { OrderAction, OrderType, SecType, TimeInForce, type Contract, type Order } from "@stoqey/ib";
import type { AccountConfig, SimulatorOptions } from "../index.js";
import { runningClock, type Fixture, type TestClient } from "./harness.js";
import { OrderEvents } from "./orderEvents.js";
import { createScriptedMarket, type Level, type ScriptedMarket } from "./scriptedMarket.js";

export const AAPL_STK: Contract = { symbol: "AAPL", secType: SecType.STK, exchange: "SMART", currency: "USD" };

export const AAPL_BOOK: { bids: readonly Level[]; asks: readonly Level[] } = {
  bids: [
    ["230.00", "100"],
    ["229.99", "200"],
    ["229.98", "300"],
  ],
  asks: [
    ["230.10", "100"],
    ["230.11", "200"],
    ["230.12", "300"],
  ],
};

export const RICH_ACCOUNT: AccountConfig = { id: "DU1234567", cash: "1000000" };

export interface OrderSetup {
  market: ScriptedMarket;
  c: TestClient;
  ev: OrderEvents;
}

export async function startOrderSim(fx: Fixture, opts: SimulatorOptions = {}, clientId = 7): Promise<OrderSetup> {
  const now = opts.now ?? runningClock();
  const market = createScriptedMarket(1, now);
  market.setBook("AAPL", AAPL_BOOK);
  await fx.start({ now, market, accounts: [RICH_ACCOUNT], ...opts });
  const c = await fx.client(clientId);
  return { market, c, ev: new OrderEvents(c) };
}

/** An order with IB's defaults the tests rely on (DAY, transmitted). */
export const order = (o: Partial<Order> & Pick<Order, "action" | "orderType" | "totalQuantity">): Order => ({ tif: TimeInForce.DAY, transmit: true, ...o });

export const buyMkt = (qty: number, ref = ""): Order => order({ action: OrderAction.BUY, orderType: OrderType.MKT, totalQuantity: qty, orderRef: ref });
