import { describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { useDeskOnSimulator } from "./testing/deskOnSimulator.js";
import { OrderRefusedError } from "./orderDesk.js";

// ModifyOrder on a bracket's order cannot change its quantity: IB does not carry a parent's new quantity to its
// children (the exits would stay at the old quantity: a larger entry partly unprotected, a smaller one leaving
// exits that overshoot the position). Refused with BRACKET_QUANTITY_FIXED before IB sees anything.
const ctx = useDeskOnSimulator({ seed: 9, clientId: 34, ackTimeoutMs: 3_000 });
const { fx } = ctx;

describe("ModifyOrder on a bracket's parent", () => {
  it("refuses a quantity change of a bracket's parent or leg, and sends nothing", async () => {
    const { desk, store, account, btc: instrument } = ctx;
    await desk.place({ clientOrderId: "bp-1", account, instrument, side: "BUY", quantity: dec("0.5"), type: "LMT", limitPrice: dec("1000"), tif: "GTC", outsideRth: false, bracket: { takeProfit: { limitPrice: dec("900000") }, stopLoss: { stopPrice: dec("500") } } });
    const received = fx.sim.orders.receivedCount();
    for (const id of ["bp-1", "bp-1.tp"]) {
      const err = await desk.modify(account, id, { quantity: dec("0.8") }).then(() => undefined, (e: unknown) => e);
      expect(err, id).toBeInstanceOf(OrderRefusedError);
      expect((err as OrderRefusedError).refusal).toMatchObject({ reason: "BRACKET_QUANTITY_FIXED", field: "quantity" });
    }
    expect(fx.sim.orders.receivedCount()).toBe(received);
    // Its prices still change.
    expect((await desk.modify(account, "bp-1", { limitPrice: dec("1001") }))?.leg.limitPrice?.toString()).toBe("1001");
    desk.cancel(account, "bp-1");
  }, 20_000);
});
