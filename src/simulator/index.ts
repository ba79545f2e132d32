/**
 * The simulated IB Gateway, in process: `startSimulator({ port: 0 })` → `{ host, port, close(), faults }`.
 * The market is the deterministic model of ./market (seeded), unless one is passed in.
 */
import type { Faults } from "./faults.js";
import type { ReceivedOrder } from "./orders/orderBook.js";
import type { SimExecution, SimOrder } from "./orders/orderTypes.js";
import { Gateway, type GatewayStats } from "./gateway.js";
import { createMarket } from "./market/index.js";
import type { Market } from "./market/types.js";
import { resolveOptions, type SimulatorOptions } from "./options.js";

export type { SimulatorOptions } from "./options.js";
export type { Faults } from "./faults.js";
export type { Limits } from "./limits.js";
export type { AccountConfig, PositionConfig } from "./account.js";
export type { GatewayStats } from "./gateway.js";
export type { ReceivedOrder } from "./orders/orderBook.js";
export type { SimExecution, SimOrder } from "./orders/orderTypes.js";

/** The Gateway's orders, for tests: what reached it and what it did. */
export interface SimulatorOrders {
  /** placeOrder messages received (what-if and refused ones included), in order. */
  readonly received: readonly ReceivedOrder[];
  /** How many placeOrder messages reached the Gateway, for an account and/or clientId. */
  receivedCount(filter?: { account?: string; clientId?: number }): number;
  /** Every order the Gateway accepted (working and done). */
  list(): SimOrder[];
  /** Every execution, in order. */
  executions(): readonly SimExecution[];
  /** Checks the working orders against the market now (the Gateway does it every tickIntervalMs). */
  check(): void;
}

export interface SimulatorHandle {
  readonly host: string;
  /** The bound port (the ephemeral one when options.port was 0). */
  readonly port: number;
  readonly faults: Faults;
  readonly orders: SimulatorOrders;
  readonly market: Market;
  /** Connected clients (after START_API). */
  clientCount(): number;
  /** Counters: flood ticks written, pump turns, historical requests per symbol. */
  readonly stats: Readonly<GatewayStats>;
  /** Stops every timer, closes every connection and the listener. */
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const resolved = resolveOptions(options);
  let market = options.market;
  if (!market) {
    market = createMarket({ seed: resolved.seed, now: resolved.now, freezeWhenClosed: resolved.frozenWhenClosed });
    resolved.logger?.info({ seed: resolved.seed }, "market model");
  }
  const gw = new Gateway(resolved, market);
  await gw.listen();
  return {
    host: resolved.host,
    get port() {
      return gw.port;
    },
    faults: gw.faults,
    orders: {
      received: gw.orders.book.received,
      receivedCount: (filter) => gw.orders.book.receivedCount(filter),
      list: () => gw.orders.book.all(),
      executions: () => gw.orders.book.executions,
      check: () => gw.orders.check(resolved.now()),
    },
    market,
    clientCount: () => gw.clientCount(),
    stats: gw.stats,
    close: () => gw.close(),
  };
}
