/**
 * The simulated IB Gateway, in process: `startSimulator({ port: 0 })` → `{ host, port, close(), faults }`.
 * The market is the deterministic model of ./market (seeded), unless one is passed in.
 */
import { createFallbackMarket } from "./fallbackMarket.js";
import { Gateway, type Faults } from "./gateway.js";
import { createMarket } from "./market/index.js";
import type { Market, MarketOptions } from "./market/types.js";
import { resolveOptions, type SimulatorOptions } from "./options.js";

export type { SimulatorOptions } from "./options.js";
export type { Faults } from "./gateway.js";
export type { Limits } from "./limits.js";
export type { AccountConfig, PositionConfig } from "./account.js";

export interface SimulatorHandle {
  readonly host: string;
  /** The bound port (the ephemeral one when options.port was 0). */
  readonly port: number;
  readonly faults: Faults;
  readonly market: Market;
  /** Connected clients (after START_API). */
  clientCount(): number;
  /** L1 ticks written in flood mode so far. */
  readonly stats: { floodTicks: number };
  /** Stops every timer, closes every connection and the listener. */
  close(): Promise<void>;
}

type MarketFactory = (o: MarketOptions) => Market;

/** The market model from ./market, or the built-in fallback with IB_SIM_MARKET=fallback. */
export function marketFactory(): { factory: MarketFactory; source: "market" | "fallback" } {
  if (process.env.IB_SIM_MARKET === "fallback") return { factory: (o) => createFallbackMarket(o), source: "fallback" };
  return { factory: createMarket, source: "market" };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const resolved = resolveOptions(options);
  let market = options.market;
  if (!market) {
    const { factory, source } = marketFactory();
    market = factory({ seed: resolved.seed, now: resolved.now });
    resolved.logger?.info({ source, seed: resolved.seed }, "market model");
  }
  const gw = new Gateway(resolved, market);
  await gw.listen();
  return {
    host: resolved.host,
    get port() {
      return gw.port;
    },
    faults: gw.faults,
    market,
    clientCount: () => gw.clientCount(),
    stats: gw.stats,
    close: () => gw.close(),
  };
}
