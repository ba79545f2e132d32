import { beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../domain/decimal.js";
import { OrderStore } from "../../store/orderStore.js";
import { useDeskOnSimulator } from "./testing/deskOnSimulator.js";
import { until } from "../../testing/until.js";
import { OrderRefusedError, type OrderDesk, type OrderDeskEvent } from "./orderDesk.js";

// The desk over the real adapter and the simulated Gateway's matching engine: orders claimed in a real
// store file, sent once, their statuses, fills and commissions recorded as IB reports them.
const ctx = useDeskOnSimulator({ seed: 3, clientId: 21, ackTimeoutMs: 3_000 });
const { fx } = ctx;

describe("the order desk", () => {
  const events: OrderDeskEvent[] = [];
  let store: OrderStore;
  let desk: OrderDesk;
  let account: string;
  beforeAll(() => {
    ({ store, desk, account } = ctx);
    desk.on("event", (e) => events.push(e));
  });

  const order = ctx.order;
  const statusesOf = (clientOrderId: string) => events.flatMap((e) => (e.type === "order" && e.order.clientOrderId === clientOrderId ? [e.order.status] : []));

  it("rests a limit order away from the market, sends it once for its client order id, and cancels it", async () => {
    const placed = await desk.place(order("rest-1"));
    expect(placed.alreadyPlaced).toBe(false);
    expect(["Submitted", "PreSubmitted"], JSON.stringify(placed.orders[0]!.lastError)).toContain(placed.orders[0]!.status);
    expect(placed.orders[0]!.permId).toBeGreaterThan(0);
    const again = await desk.place(order("rest-1"));
    expect(again.alreadyPlaced).toBe(true);
    expect(again.orders[0]!.orderId).toBe(placed.orders[0]!.orderId);
    expect(fx.sim.orders.receivedCount({ clientId: 21 })).toBe(1);
    desk.cancel(account, "rest-1");
    await until(() => store.get(account, "rest-1")?.status === "Cancelled", { what: "the cancel confirmed", timeoutMs: 5_000 });
    expect(statusesOf("rest-1").at(-1)).toBe("Cancelled");
  });

  it("fills a market order: the status, the filled quantity and average price, each execution with its commission", async () => {
    const placed = await desk.place(order("mkt-1", { type: "MKT", quantity: dec("0.25") }));
    const id = placed.orders[0]!.orderId;
    await until(() => store.get(account, "mkt-1")?.status === "Filled", { what: "the market order filled", timeoutMs: 5_000 });
    const filled = store.get(account, "mkt-1")!;
    expect(filled.filled.toString()).toBe("0.25");
    expect(filled.remaining.isZero()).toBe(true);
    expect(filled.avgFillPrice?.gt(0)).toBe(true);
    await until(() => store.listExecutions(0, { clientOrderId: "mkt-1" }).every((e) => e.commission !== undefined) && store.listExecutions(0, { clientOrderId: "mkt-1" }).length > 0, { what: "executions with commissions", timeoutMs: 5_000 });
    const executions = store.listExecutions(0, { clientOrderId: "mkt-1" });
    expect(executions.map((e) => e.execution.orderId).every((o) => o === id)).toBe(true);
    expect(executions.reduce((sum, e) => sum.plus(e.execution.quantity), dec(0)).toString()).toBe("0.25");
    expect(events.some((e) => e.type === "execution" && e.execution.execution.clientOrderId === "mkt-1" && e.execution.commission !== undefined)).toBe(true);
    // IB repeats itself (orderStatus twice, openOrder after it): each event is a change, and Filled comes with its fill.
    const states = events.flatMap((e) => (e.type === "order" && e.order.clientOrderId === "mkt-1" ? [e.order] : []));
    const keys = states.map((o) => `${o.status} ${o.filled.toString()} ${o.remaining.toString()} ${o.avgFillPrice?.toString()}`);
    expect(keys.filter((k, i) => i > 0 && k === keys[i - 1])).toEqual([]);
    expect(states.filter((o) => o.status === "Filled").every((o) => o.filled.toString() === "0.25")).toBe(true);
  });

  it("refuses before IB sees anything: a reused client order id, the kill switch", async () => {
    const before = fx.sim.orders.receivedCount();
    await expect(desk.place(order("rest-1", { quantity: dec("2") }))).rejects.toMatchObject({ refusal: { reason: "CLIENT_ORDER_ID_REUSED" } });
    desk.cancelAll("test: kill switch");
    await expect(desk.place(order("after-kill"))).rejects.toBeInstanceOf(OrderRefusedError);
    await expect(desk.place(order("after-kill"))).rejects.toMatchObject({ refusal: { reason: "KILL_SWITCH_ENGAGED" } });
    desk.release("test: released");
    expect(fx.sim.orders.receivedCount()).toBe(before);
    const placed = await desk.place(order("after-release"));
    expect(placed.alreadyPlaced).toBe(false);
    desk.cancel(account, "after-release");
  });
});
