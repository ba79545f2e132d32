/**
 * The desk tests' setting: an adapter on the simulated Gateway (useAdapterOnSimulator), an order store in a
 * fresh file, the desk with orders enabled, and BTCUSDT resolved (its instrument as orders carry it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../../domain/orders/orderRailSettings.js";
import { dec } from "../../../domain/decimal.js";
import type { InstrumentRef, OrderRequest } from "../../../domain/orders/orderRequest.js";
import { OrderStore } from "../../../store/orderStore.js";
import { useAdapterOnSimulator } from "../../../testing/adapterOnSimulator.js";
import type { OrderDesk } from "../orderDesk.js";

export interface DeskOnSimulator {
  readonly fx: ReturnType<typeof useAdapterOnSimulator>;
  readonly store: OrderStore;
  readonly desk: OrderDesk;
  readonly account: string;
  /** BTCUSDT as an order's instrument. */
  readonly btc: InstrumentRef;
  /** A GTC limit BUY of 0.5 BTCUSDT at 1000 (away from the market: it rests) for the account, unless `over` says otherwise. */
  order(clientOrderId: string, over?: Partial<OrderRequest>): OrderRequest;
}

/** Call at a test file's top level: the hooks start and stop everything around the file's tests. */
export function useDeskOnSimulator(options: { seed: number; clientId: number; ackTimeoutMs: number }): DeskOnSimulator {
  const fx = useAdapterOnSimulator({ simulator: { seed: options.seed, tickIntervalMs: 20 }, adapter: { clientId: options.clientId } });
  let dir: string | undefined;
  const state: { store?: OrderStore; desk?: OrderDesk; account?: string; btc?: InstrumentRef } = {};
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "order-desk-"));
    state.store = OrderStore.open(join(dir, "store.db"));
    state.desk = fx.adapter.orderDesk({ store: state.store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, ackTimeoutMs: options.ackTimeoutMs });
    const btc = await fx.adapter.resolve("spot", "BTCUSDT");
    state.btc = { conId: btc.conId, symbol: btc.symbol, secType: btc.secType, exchange: btc.exchange, currency: btc.currency };
    state.account = fx.adapter.status.activeAccount!;
  });
  afterAll(() => {
    state.store?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return {
    fx,
    get store() {
      return state.store!;
    },
    get desk() {
      return state.desk!;
    },
    get account() {
      return state.account!;
    },
    get btc() {
      return state.btc!;
    },
    order: (clientOrderId, over = {}) => ({ clientOrderId, account: state.account!, instrument: state.btc!, side: "BUY", quantity: dec("0.5"), type: "LMT", limitPrice: dec("1000"), tif: "GTC", outsideRth: false, ...over }),
  };
}
