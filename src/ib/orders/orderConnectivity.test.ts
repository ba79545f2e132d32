import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import { runningClock } from "../../simulator/testing/harness.js";
import { RICH_ACCOUNT } from "../../simulator/testing/orderFixture.js";
import { OrderStore } from "../../store/orderStore.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";
import { GatewayOrders } from "./gatewayOrders.js";
import type { OrderDesk } from "./orderDesk.js";

// IB's servers lost and back while the Gateway kept the socket (1100, then 1101 or 1102): fills and cancels
// meanwhile may not have been said, so the desk reconciles as after a reconnect. Seam: GatewayOrders.snapshot
// is watched (not replaced) to count the reconciliations.
const now = runningClock();
const fx = useAdapterOnSimulator({
  simulator: { now, accounts: [RICH_ACCOUNT], tickIntervalMs: 20 },
  adapter: { clientId: 23, now, backoff: { initialMs: 50, maxMs: 100, jitter: 0 } },
});

describe("the order desk when IB's connectivity comes back", () => {
  let dir: string;
  let store: OrderStore;
  let desk: OrderDesk;
  const snapshots = vi.spyOn(GatewayOrders.prototype, "snapshot");

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "order-connectivity-"));
    store = OrderStore.open(join(dir, "store.db"));
    desk = fx.adapter.orderDesk({ store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true } });
  });
  afterAll(() => {
    snapshots.mockRestore();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reconciles after 1101 (data lost) and after 1102 (data kept)", async () => {
    expect(desk.account).toBeDefined();
    await until(() => snapshots.mock.calls.length >= 1, { what: "the first reconciliation" });
    const before = snapshots.mock.calls.length;
    await fx.sim.faults.connectivityFlap(50, true);
    await until(() => snapshots.mock.calls.length === before + 1, { what: "a reconciliation after 1101" });
    await fx.sim.faults.connectivityFlap(50, false);
    await until(() => snapshots.mock.calls.length === before + 2, { what: "a reconciliation after 1102" });
  });
});
