import { describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { useDeskOnSimulator } from "./testing/deskOnSimulator.js";
import { until } from "../../testing/until.js";

// Review: two ModifyOrder calls on one order, the first refused by IB after its wait (a slow Gateway; here a
// wait of 1 ms), the second taken. The queue let the second go once the first answered, so the second's wait
// heard IB's late refusal of the first as its own and undid itself back to the first's refused terms: the store
// ended at a price IB never took.
const ctx = useDeskOnSimulator({ seed: 17, clientId: 38, ackTimeoutMs: 1 });
const { fx } = ctx;

describe("a modification after one IB refuses late", () => {
  it("ends with the terms IB took", async () => {
    const { desk, store, account, btc: instrument } = ctx;
    await desk.place({ clientOrderId: "late-next-1", account, instrument, side: "BUY", quantity: dec("0.5"), type: "LMT", limitPrice: dec("1000"), tif: "GTC", outsideRth: false });
    await until(() => store.get(account, "late-next-1")?.status === "Submitted", { what: "the order working", timeoutMs: 5_000 });
    let late = 0;
    for (const [refused, taken] of [["1000.1", "1001"], ["1001.1", "1002"], ["1002.1", "1003"], ["1003.1", "1004"]] as const) {
      const [first] = await Promise.all([desk.modify(account, "late-next-1", { limitPrice: dec(refused) }), desk.modify(account, "late-next-1", { limitPrice: dec(taken) })]);
      if (first?.leg.limitPrice?.toString() === refused) late++; // the first answered before IB's word
      await until(() => fx.sim.orders.list().find((o) => o.orderRef === "late-next-1")?.lmtPrice?.toString() === taken, { what: `IB at ${taken}`, timeoutMs: 5_000 });
      await new Promise((r) => setTimeout(r, 200)); // IB's words on both changes heard
      expect(store.get(account, "late-next-1")?.leg.limitPrice?.toString()).toBe(taken);
      if (late >= 2) break;
    }
    expect(late).toBeGreaterThan(0);
    // Every wait on IB's word heard it and left: nothing kept listening for the order.
    const waiting = (desk as unknown as { waiting: Map<number, unknown> }).waiting;
    await until(() => waiting.size === 0, { what: "no listener left", timeoutMs: 2_000 });
    desk.cancel(account, "late-next-1");
  }, 30_000);
});
