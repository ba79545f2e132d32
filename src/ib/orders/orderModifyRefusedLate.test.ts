import { describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { useDeskOnSimulator } from "./testing/deskOnSimulator.js";
import { until } from "../../testing/until.js";
import type { OrderDeskEvent } from "./orderDesk.js";

// A change IB refuses after ModifyOrder stopped waiting (a slow Gateway; here a wait of 1 ms): the store must
// not keep terms IB never took. It kept them for good (nothing undid a late refusal).
const ctx = useDeskOnSimulator({ seed: 11, clientId: 35, ackTimeoutMs: 1 });

describe("a modification IB refuses after the wait", () => {
  it("undoes the change in the store when IB's refusal comes late, and says so on the event stream", async () => {
    const { desk, store, account, btc: instrument } = ctx;
    await desk.place({ clientOrderId: "late-1", account, instrument, side: "BUY", quantity: dec("0.5"), type: "LMT", limitPrice: dec("1000"), tif: "GTC", outsideRth: false });
    await until(() => store.get(account, "late-1")?.status === "Submitted", { what: "the order working", timeoutMs: 5_000 });
    const events: OrderDeskEvent[] = [];
    desk.on("event", (e) => events.push(e));
    // The wait is 1 ms, but a loaded machine may still hear IB within it: tried until one answer came first.
    let late = 0;
    for (const price of ["1000.1", "1000.2", "1000.3", "1000.4", "1000.6", "1000.7"]) {
      const seen = store.get(account, "late-1")!.updatedMs;
      const answered = await desk.modify(account, "late-1", { limitPrice: dec(price) });
      if (answered?.leg.limitPrice?.toString() === price) late++; // answered before IB's word: the change as sent
      await until(() => store.get(account, "late-1")!.updatedMs > seen && store.get(account, "late-1")?.lastError?.code === 110, { what: "IB's 110", timeoutMs: 5_000 });
      await until(() => store.get(account, "late-1")?.amended === undefined, { what: `the change to ${price} undone`, timeoutMs: 2_000 });
      expect(store.get(account, "late-1")?.leg.limitPrice?.toString()).toBe("1000");
      const last = events.filter((e) => e.type === "order" && e.order.clientOrderId === "late-1").at(-1);
      expect(last?.type === "order" && last.order.leg.limitPrice?.toString()).toBe("1000");
      if (late >= 2) break;
    }
    expect(late).toBeGreaterThan(0);
    desk.cancel(account, "late-1");
  }, 20_000);
});
