import { describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { useDeskOnSimulator } from "./testing/deskOnSimulator.js";
import { until } from "../../testing/until.js";

// Two ModifyOrder calls on one order at once, the first refused by IB (off the tick), the second taken: the
// store must end with the second's terms, as IB does. Both waits heard IB's first word (the refusal), and the
// second undid itself back to the first's refused terms.
const ctx = useDeskOnSimulator({ seed: 13, clientId: 36, ackTimeoutMs: 3_000 });
const { fx } = ctx;

describe("two modifications of one order at once", () => {
  it("ends with the terms IB took", async () => {
    const { desk, store, account, btc: instrument } = ctx;
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
