import { beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import { OrderStore } from "../../store/orderStore.js";
import { useDeskOnSimulator } from "./testing/deskOnSimulator.js";
import { until } from "../../testing/until.js";
import { IbError } from "../ibErrors.js";
import type { OrderDesk, OrderDeskEvent } from "./orderDesk.js";

// The desk's ModifyOrder over the real adapter and the simulated Gateway: what IB is sent for a bracket leg,
// what the store reads back, and what is refused before IB sees anything.
const ctx = useDeskOnSimulator({ seed: 5, clientId: 31, ackTimeoutMs: 3_000 });
const { fx } = ctx;

describe("the order desk's modify", () => {
  const rails = { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true };
  let store: OrderStore;
  let desk: OrderDesk;
  let account: string;
  beforeAll(() => {
    ({ store, desk, account } = ctx);
  });

  const order = ctx.order;
  const simOrder = (ref: string) => fx.sim.orders.list().find((o) => o.orderRef === ref && o.clientId === 31);

  it("changes a bracket leg under its parent: IB gets the leg's id with the parent's as parentId; the store keeps the request as placed and reads the leg amended", async () => {
    const placed = await desk.place(order("br-1", { bracket: { takeProfit: { limitPrice: dec("900000") }, stopLoss: { stopPrice: dec("500") } } }));
    const [parent, takeProfit] = placed.orders;
    const events: OrderDeskEvent[] = [];
    desk.on("event", (e) => events.push(e));
    const modified = await desk.modify(account, "br-1.tp", { limitPrice: dec("800000"), tif: "DAY" });
    // StreamOrders shows the new terms: IB's status after a change may say nothing new.
    expect(events.some((e) => e.type === "order" && e.order.clientOrderId === "br-1.tp" && e.order.leg.limitPrice?.toString() === "800000")).toBe(true);
    expect(modified).toMatchObject({ clientOrderId: "br-1.tp", orderId: takeProfit!.orderId, amended: { limitPrice: dec("800000"), tif: "DAY" } });
    expect(modified!.leg.limitPrice?.toString()).toBe("800000");
    expect(modified!.leg.tif).toBe("DAY");
    expect(modified!.request.bracket?.takeProfit?.limitPrice.toString()).toBe("900000");
    expect(simOrder("br-1.tp")).toMatchObject({ orderId: takeProfit!.orderId, parentId: parent!.orderId, tif: "DAY" });
    expect(simOrder("br-1.tp")?.lmtPrice?.toString()).toBe("800000");
    // Read back by every query: the amended terms.
    expect(store.listOpen(account).find((o) => o.clientOrderId === "br-1.tp")?.leg.limitPrice?.toString()).toBe("800000");
    // Changed back to the placed terms: nothing is amended any more.
    const back = await desk.modify(account, "br-1.tp", { limitPrice: dec("900000"), tif: "GTC" });
    expect(back?.amended).toBeUndefined();
    expect(simOrder("br-1.tp")?.lmtPrice?.toString()).toBe("900000");
    desk.cancel(account, "br-1");
    await until(() => store.get(account, "br-1.tp")?.status === "Cancelled", { what: "the bracket cancelled", timeoutMs: 5_000 });
  });

  it("refuses an order of another Gateway connection, and sends nothing while the Gateway is away", async () => {
    await desk.place(order("own-1"));
    const other = fx.another({ clientId: 32 });
    await other.start();
    const otherDesk = other.orderDesk({ store, rails, ackTimeoutMs: 3_000 });
    await expect(otherDesk.modify(account, "own-1", { quantity: dec("0.25") })).rejects.toMatchObject({ refusal: { reason: "ORDER_OF_ANOTHER_CONNECTION", field: "clientOrderId" } });
    expect(await otherDesk.modify(account, "no-such-order", { quantity: dec("0.25") })).toBeUndefined();

    await otherDesk.place(order("theirs-1"));
    const before = fx.sim.orders.receivedCount();
    other.stop();
    const away = await otherDesk.modify(account, "theirs-1", { quantity: dec("0.25") }).catch((err: unknown) => err);
    expect(away).toBeInstanceOf(IbError);
    expect((away as IbError).kind).toBe("unavailable");
    expect(fx.sim.orders.receivedCount()).toBe(before);
    expect(store.get(account, "theirs-1")?.amended).toBeUndefined();
    desk.cancel(account, "own-1");
  });
});
