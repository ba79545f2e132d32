import { describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { useDeskOnSimulator } from "./testing/deskOnSimulator.js";
import { until } from "../../testing/until.js";

// A change IB refuses with the same message as the order's last (a second off-tick price): still a refusal,
// undone in the store. The refusal was told from the order's last message changing, and a repeat did not change it.
const ctx = useDeskOnSimulator({ seed: 7, clientId: 33, ackTimeoutMs: 3_000 });
const { fx } = ctx;

describe("a modification IB refuses twice with the same message", () => {
  it("keeps the order's terms in the store after the second refusal too", async () => {
    const { desk, store, account, btc: instrument } = ctx;
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
