import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderServiceClient, OrderStatus, type Execution, type NewOrder, type Order, type OrderEvent, type StreamOrdersRequest, type TradingStatus } from "../../../gen/ibprovider/v1/order_service.js";
import { StreamStatusKind, type StreamStatus } from "../../../gen/ibprovider/v1/types.js";
import { startSimulator, type SimulatorHandle } from "../../simulator/index.js";
import { AAPL_BOOK, RICH_ACCOUNT } from "../../simulator/testing/orderFixture.js";
import { createScriptedMarket } from "../../simulator/testing/scriptedMarket.js";
import { startTestApp, type TestApp } from "../../testing/testApp.js";
import { fetchOnce } from "../../testing/fetchOnce.js";
import { until } from "../../testing/until.js";
import { Collector } from "../testing/streamCollector.js";
import { bearer, newOrder, orderCall } from "./testing/orderCalls.js";

// StreamOrders end to end: the account's order changes, fills and kill switch as numbered events through the
// stream core (the service over the simulated Gateway's matching engine, events recorded in a real store
// file), a fill during a Gateway restart streamed after the reconnect marked reconciled, and a client resuming
// after the last event it processed, or starting from a time, given exactly what it missed.
const READ_TOKEN = "order-stream-read-token-0123";
const TRADE_TOKEN = "order-stream-trade-token-012";


const call = orderCall(TRADE_TOKEN);
const aapl = (over: Partial<NewOrder>): NewOrder => newOrder({ symbol: "AAPL", quantity: "100", limitPrice: "229", ...over });

const orderEvents = (c: Collector) => (c.events as OrderEvent[]).filter((e) => e.event?.$case === "order") as (OrderEvent & { event: { $case: "order"; value: Order } })[];
const executionEvents = (c: Collector) => (c.events as OrderEvent[]).filter((e) => e.event?.$case === "execution") as (OrderEvent & { event: { $case: "execution"; value: Execution } })[];
const tradingEvents = (c: Collector) => (c.events as OrderEvent[]).flatMap((e) => (e.event?.$case === "tradingStatus" ? [e.event.value as TradingStatus] : []));
const statusesOf = (c: Collector) => (c.events as OrderEvent[]).flatMap((e) => (e.event?.$case === "status" ? [e.event.value as StreamStatus] : []));
const hasOrder = (c: Collector, id: string, s: OrderStatus) => orderEvents(c).some((e) => e.event.value.clientOrderId === id && e.event.value.status === s);

describe("StreamOrders", () => {
  const market = createScriptedMarket(3, Date.now);
  let sim: SimulatorHandle;
  let dir: string;
  let app: TestApp;
  let client: OrderServiceClient;
  const open: Collector[] = [];
  const stream = (request: Partial<StreamOrdersRequest> = {}) => {
    const c = new Collector(client.streamOrders({ accountId: "", ...request }, bearer(READ_TOKEN)));
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    market.setBook("AAPL", AAPL_BOOK);
    sim = await startSimulator({ host: "127.0.0.1", port: 0, market, accounts: [RICH_ACCOUNT], tickIntervalMs: 20 });
    dir = mkdtempSync(join(tmpdir(), "order-stream-"));
    app = await startTestApp({ env: { IB_GATEWAY_URL: `127.0.0.1:${sim.port}`, STORE_PATH: join(dir, "store.db"), PROVIDER_API_TOKEN: READ_TOKEN, PROVIDER_TRADE_TOKEN: TRADE_TOKEN, ORDERS_ENABLED: "true" } });
    client = new OrderServiceClient(app.grpcAddress, credentials.createInsecure());
  }, 30_000);
  afterAll(async () => {
    for (const c of open) c.call.cancel();
    client.close();
    await app.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("streams an order's changes and the kill switch as numbered events, a joiner first getting the open orders and the trading status", async () => {
    const live = stream();
    await live.until(() => tradingEvents(live).length === 1, { what: "the join state's trading status" });
    expect(statusesOf(live)[0]).toMatchObject({ kind: StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED });
    expect(tradingEvents(live)[0]).toMatchObject({ ordersEnabled: true, isPaper: true });

    await call(client.placeOrder, client, { order: aapl({ clientOrderId: "s-rest" }) });
    await live.until(() => hasOrder(live, "s-rest", OrderStatus.ORDER_STATUS_SUBMITTED), { what: "the order working" });
    // A later joiner starts with it (it is open).
    const joiner = stream();
    await joiner.until(() => hasOrder(joiner, "s-rest", OrderStatus.ORDER_STATUS_SUBMITTED) && tradingEvents(joiner).length === 1, { what: "the joiner's state" });

    await call(client.cancelOrder, client, { clientOrderId: "s-rest", accountId: "" });
    await live.until(() => hasOrder(live, "s-rest", OrderStatus.ORDER_STATUS_CANCELLED), { what: "the cancel streamed" });
    await call(client.cancelAllOrders, client, { note: "stream test" });
    await live.until(() => tradingEvents(live).some((t) => t.blocks.some((b) => b.reason === "KILL_SWITCH_ENGAGED")), { what: "the kill switch streamed" });
    await call(client.enableOrders, client, { note: "" });
    await live.until(() => tradingEvents(live).at(-1)?.ordersEnabled === true && tradingEvents(live).length === 3, { what: "the release streamed" });

    // Data events are numbered +1 each, the same for every client.
    const seqs = live.data.map((e) => Number(e.sequence));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]!);
    const liveSeqs = live.data.slice(1).map((e) => Number(e.sequence)); // after the join state
    for (let i = 1; i < liveSeqs.length; i++) expect(liveSeqs[i]).toBe(liveSeqs[i - 1]! + 1);
    const cancelled = orderEvents(live).find((e) => e.event.value.clientOrderId === "s-rest" && e.event.value.status === OrderStatus.ORDER_STATUS_CANCELLED)!;
    await joiner.until(() => joiner.data.some((e) => e.sequence === cancelled.sequence), { what: "the joiner got the same event" });
    expect(orderEvents(joiner).find((e) => e.sequence === cancelled.sequence)?.event.value.status).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
    expect(orderEvents(live).every((e) => !e.reconciled)).toBe(true);
  }, 30_000);

  it("streams a fill that happened while the Gateway restarted after the reconnect, marked reconciled, once", async () => {
    const live = stream();
    await live.until(() => tradingEvents(live).length === 1, { what: "subscribed" });
    await call(client.placeOrder, client, { order: aapl({ clientOrderId: "s-away", limitPrice: "229" }) });
    await live.until(() => hasOrder(live, "s-away", OrderStatus.ORDER_STATUS_SUBMITTED), { what: "the order working" });

    const restart = sim.faults.restart(500);
    await live.until(() => live.statuses(StreamStatusKind.STREAM_STATUS_KIND_RECONNECTING) > 0, { what: "the stream told of the loss" });
    market.setBook("AAPL", { bids: [["228.80", "100"]], asks: [["228.90", "100"]] });
    await until(() => sim.orders.executions().some((e) => e.orderRef === "s-away"), { what: "the fill while no client is connected" });
    await restart;

    await live.until(() => hasOrder(live, "s-away", OrderStatus.ORDER_STATUS_FILLED) && executionEvents(live).some((e) => e.event.value.clientOrderId === "s-away"), { what: "the fill streamed after the reconnect", timeoutMs: 20_000 });
    const gap = (live.events as OrderEvent[]).findIndex((e) => e.event?.$case === "status" && (e.event.value as StreamStatus).kind === StreamStatusKind.STREAM_STATUS_KIND_GAP);
    const filled = orderEvents(live).filter((e) => e.event.value.clientOrderId === "s-away" && e.event.value.status === OrderStatus.ORDER_STATUS_FILLED);
    expect(filled).toHaveLength(1);
    expect(filled[0]!.reconciled).toBe(true);
    expect(gap).toBeGreaterThan(-1);
    expect(gap).toBeLessThan((live.events as OrderEvent[]).indexOf(filled[0]!));
    expect(executionEvents(live).find((e) => e.event.value.clientOrderId === "s-away")!.reconciled).toBe(true);
    market.setBook("AAPL", AAPL_BOOK);
  }, 40_000);

  it("resumes after the last event a client processed with every event after it, and starts from a time", async () => {
    const first = stream();
    await first.until(() => tradingEvents(first).length === 1, { what: "subscribed" });
    const epoch = statusesOf(first)[0]!.epoch;
    const mark = Number(first.data.at(-1)!.sequence);
    const fromMs = Date.now();
    await call(client.placeOrder, client, { order: aapl({ clientOrderId: "s-resume", limitPrice: "228" }) });
    await call(client.cancelOrder, client, { clientOrderId: "s-resume", accountId: "" });
    await first.until(() => hasOrder(first, "s-resume", OrderStatus.ORDER_STATUS_CANCELLED), { what: "the cancel streamed" });
    const missed = first.data.filter((e) => Number(e.sequence) > mark);
    expect(missed.length).toBeGreaterThan(1);

    const resumed = stream({ afterSequence: String(mark), epoch });
    await resumed.until(() => resumed.statuses(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE) === 1, { what: "the resume replayed" });
    const replayed = resumed.data.filter((e) => Number(e.sequence) > mark && Number(e.sequence) <= Number(missed.at(-1)!.sequence));
    expect(replayed.map((e) => e.sequence)).toEqual(missed.map((e) => e.sequence));
    expect(replayed.map((e) => JSON.stringify(e.event))).toEqual(missed.map((e) => JSON.stringify(e.event)));

    const fromTime = stream({ startTime: { seconds: String(Math.floor(fromMs / 1000)), nanos: 0 } as never });
    await fromTime.until(() => fromTime.statuses(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE) === 1, { what: "the replay from a time" });
    expect(hasOrder(fromTime, "s-resume", OrderStatus.ORDER_STATUS_CANCELLED)).toBe(true);
  }, 30_000);

  it("over REST: GET /api/orders/stream is the same stream as server-sent events", async () => {
    const controller = new AbortController();
    const res = await fetchOnce(`${app.app.rest.url}/api/orders/stream`, { headers: { authorization: `Bearer ${READ_TOKEN}`, accept: "text/event-stream" }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    try {
      while (!text.includes("tradingStatus")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    } finally {
      controller.abort();
    }
    expect(text).toContain("STREAM_STATUS_KIND_SUBSCRIBED");
    expect(text).toContain('"ordersEnabled":true');
  });

  it("refuses another account and a resume without its epoch, naming the field", async () => {
    const other = stream({ accountId: "DU7654321" });
    await other.until(() => other.error !== undefined, { what: "refused" });
    expect(other.error?.code).toBe(status.NOT_FOUND);
    expect(other.error?.details).toContain("account_id");
    const noEpoch = stream({ afterSequence: "3" });
    await noEpoch.until(() => noEpoch.error !== undefined, { what: "refused" });
    expect(noEpoch.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(noEpoch.error?.details).toContain("epoch");
  });
});
