import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import { OrderStore } from "../../store/orderStore.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";
import type { ResolvedInstrument } from "../contracts/resolvedInstrument.js";
import type { OrderDesk } from "./orderDesk.js";

// A change IB refuses with the same message as the order's last (a second off-tick price): still a refusal,
// undone in the store. The refusal was told from the order's last message changing, and a repeat did not change it.
const fx = useAdapterOnSimulator({ simulator: { seed: 7, tickIntervalMs: 20 }, adapter: { clientId: 33 } });

describe("a modification IB refuses twice with the same message", () => {
  let dir: string;
  let store: OrderStore;
  let desk: OrderDesk;
  let btc: ResolvedInstrument;
  let account: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "order-modify-again-"));
    store = OrderStore.open(join(dir, "store.db"));
    desk = fx.adapter.orderDesk({ store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, ackTimeoutMs: 3_000 });
    btc = await fx.adapter.resolve("spot", "BTCUSDT");
    account = fx.adapter.status.activeAccount!;
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the order's terms in the store after the second refusal too", async () => {
    const instrument = { conId: btc.conId, symbol: btc.symbol, secType: btc.secType, exchange: btc.exchange, currency: btc.currency };
    await desk.place({ clientOrderId: "again-1", account, instrument, side: "BUY", quantity: dec("0.5"), type: "LMT", limitPrice: dec("1000"), tif: "GTC", outsideRth: false });
    await until(() => store.get(account, "again-1")?.status === "Submitted", { what: "the order working", timeoutMs: 5_000 });
    // BTC's tick is 0.25: both prices are off it (IB's 110 each time, the same text).
    const first = await desk.modify(account, "again-1", { limitPrice: dec("1000.1") });
    expect(first?.lastError?.code).toBe(110);
    expect(first?.leg.limitPrice?.toString()).toBe("1000");
    const second = await desk.modify(account, "again-1", { limitPrice: dec("1000.3") });
    expect(second?.lastError?.code).toBe(110);
    expect(second?.leg.limitPrice?.toString()).toBe("1000");
    expect(store.get(account, "again-1")?.amended).toBeUndefined();
    expect(fx.sim.orders.list().find((o) => o.orderRef === "again-1")?.lmtPrice?.toString()).toBe("1000");
    desk.cancel(account, "again-1");
  }, 20_000);
});
