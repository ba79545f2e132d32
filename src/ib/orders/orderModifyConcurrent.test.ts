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

// Two ModifyOrder calls on one order at once, the first refused by IB (off the tick), the second taken: the
// store must end with the second's terms, as IB does. Both waits heard IB's first word (the refusal), and the
// second undid itself back to the first's refused terms.
const fx = useAdapterOnSimulator({ simulator: { seed: 13, tickIntervalMs: 20 }, adapter: { clientId: 36 } });

describe("two modifications of one order at once", () => {
  let dir: string;
  let store: OrderStore;
  let desk: OrderDesk;
  let btc: ResolvedInstrument;
  let account: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "order-modify-concurrent-"));
    store = OrderStore.open(join(dir, "store.db"));
    desk = fx.adapter.orderDesk({ store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, ackTimeoutMs: 3_000 });
    btc = await fx.adapter.resolve("spot", "BTCUSDT");
    account = fx.adapter.status.activeAccount!;
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ends with the terms IB took", async () => {
    const instrument = { conId: btc.conId, symbol: btc.symbol, secType: btc.secType, exchange: btc.exchange, currency: btc.currency };
    await desk.place({ clientOrderId: "both-1", account, instrument, side: "BUY", quantity: dec("0.5"), type: "LMT", limitPrice: dec("1000"), tif: "GTC", outsideRth: false });
    await until(() => store.get(account, "both-1")?.status === "Submitted", { what: "the order working", timeoutMs: 5_000 });
    const [first, second] = await Promise.all([desk.modify(account, "both-1", { limitPrice: dec("1000.1") }), desk.modify(account, "both-1", { limitPrice: dec("1001") })]);
    expect(first?.lastError?.code).toBe(110);
    expect(second?.leg.limitPrice?.toString()).toBe("1001");
    expect(fx.sim.orders.list().find((o) => o.orderRef === "both-1")?.lmtPrice?.toString()).toBe("1001");
    expect(store.get(account, "both-1")?.leg.limitPrice?.toString()).toBe("1001");
    desk.cancel(account, "both-1");
  }, 20_000);
});
