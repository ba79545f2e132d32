/**
 * Scenario `orders` (issue 17): an order's round trip through the whole service on the simulated Gateway's
 * matching engine — gRPC PlaceOrder → the service's order desk (rails, the claim fsynced in the store file)
 * → IB's placeOrder over the socket → the simulator's engine → openOrder/orderStatus/execDetails back.
 *
 * - acknowledged: PlaceOrder of a limit order away from the market, until its answer (the service answers
 *   after IB's first word on the order: Submitted).
 * - filled: PlaceOrder of a market order, then GetOrder back to back until it reads FILLED (the polling adds
 *   at most one GetOrder round trip, ≈ 0.3 ms here).
 * - streamed: another market order, until its FILLED event reaches a StreamOrders client (opened, and its first
 *   events read, before the run: the order feed's path through the stream core, the journal and gRPC), waited
 *   on alone (no GetOrder polling competing with the stream for this process's event loop).
 *
 * Baseline in the same run: GetTradingStatus, a unary call that touches neither IB nor the store's writes.
 * In-process (the service, the simulator and the client share this process). Env: BENCH_ORDERS (100).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, Metadata, type CallOptions, type ServiceError } from "@grpc/grpc-js";
import { OrderServiceClient, OrderSide, OrderStatus, OrderType, TimeInForce, type NewOrder, type StreamOrdersResponse } from "../gen/ibprovider/v1/order_service.js";
import { startSimulator } from "../src/simulator/index.js";
import { startTestApp } from "../src/testing/testApp.js";
import { progress } from "./harness.js";

const ORDERS = Number(process.env.BENCH_ORDERS ?? 100);
/**
 * Between two orders: the adapter paces messages to IB at 50/s (a token bucket of 5, IB's limit), so orders
 * sent back to back wait their turn (≈ 20 ms each: measured here before this pause). Spaced, each round trip is
 * the service's and the Gateway's own.
 */
const PAUSE_MS = 100;
const TRADE_TOKEN = "bench-trade-token-0123456789";

export interface OrderRounds {
  orders: number;
  baselineMs: Percentiles;
  acknowledgedMs: Percentiles;
  filledMs: Percentiles;
  streamedMs: Percentiles;
}

interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: (err: ServiceError | null, res: Res) => void) => unknown;

export async function orderRounds(): Promise<OrderRounds> {
  const sim = await startSimulator({ host: "127.0.0.1", port: 0, seed: 3, accounts: [{ id: "DU1234567", cash: "100000000" }] });
  const dir = mkdtempSync(join(tmpdir(), "bench-orders-"));
  const app = await startTestApp({ env: { IB_GATEWAY_URL: `127.0.0.1:${sim.port}`, STORE_PATH: join(dir, "store.db"), PROVIDER_TRADE_TOKEN: TRADE_TOKEN, ORDERS_ENABLED: "true" } });
  const client = new OrderServiceClient(app.grpcAddress, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${TRADE_TOKEN}`);
  const call = <Req, Res>(method: Unary<Req, Res>, request: Req) =>
    new Promise<Res>((resolve, reject) => method.call(client, request, metadata, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))));
  const order = (id: string, over: Partial<NewOrder>): NewOrder => ({
    clientOrderId: id, connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", accountId: "", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_LIMIT,
    quantity: "0.001", limitPrice: "1000", stopPrice: "", timeInForce: TimeInForce.TIME_IN_FORCE_GTC, outsideRth: false, ...over,
  });
  // The FILLED events of the stream, by client order id, at the time they arrived; the stream's end, if it ends.
  const streamedAt = new Map<string, number>();
  let streamEnded: Error | undefined;
  let heard: () => void = () => undefined;
  const stream = client.streamOrders({ accountId: "" }, metadata);
  stream.on("data", (res: StreamOrdersResponse) => {
    // The first FILLED event of an order (IB may say it again in other words: a later one is not the arrival).
    for (const e of res.events) if (e.event?.$case === "order" && e.event.value.status === OrderStatus.ORDER_STATUS_FILLED && !streamedAt.has(e.event.value.clientOrderId)) streamedAt.set(e.event.value.clientOrderId, performance.now());
    if (res.events.some((e) => e.event?.$case === "tradingStatus")) heard();
  });
  stream.on("error", (err: Error) => (streamEnded ??= err));
  stream.on("end", () => (streamEnded ??= new Error("the stream ended")));
  /** Waits (polling nothing: on the stream's own events) until `done`, for at most `ms`. */
  const streamUntil = async (done: () => boolean, what: string, ms: number) => {
    for (const end = performance.now() + ms; !done(); await sleep(1)) {
      if (streamEnded !== undefined) throw new Error(`${what}: StreamOrders ended: ${streamEnded.message}`);
      if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    }
  };
  try {
    // Subscribed before anything is placed: the join state (open orders, then the trading status) read.
    let subscribed = false;
    heard = () => (subscribed = true);
    await streamUntil(() => subscribed, "StreamOrders subscribed", 10_000);
    const baseline: number[] = [];
    const acknowledged: number[] = [];
    const filled: number[] = [];
    const streamed: number[] = [];
    // Warm up: the instrument resolved, the connections and the store's statements ready.
    await call(client.placeOrder, { order: order("warm", { orderType: OrderType.ORDER_TYPE_MARKET, limitPrice: "" }) });
    progress(`orders: ${ORDERS} of each`);
    for (let i = 0; i < ORDERS; i++) {
      await sleep(PAUSE_MS);
      let t = performance.now();
      await call(client.getTradingStatus, {});
      baseline.push(performance.now() - t);
      t = performance.now();
      const rest = await call(client.placeOrder, { order: order(`rest-${i}`, {}) });
      acknowledged.push(performance.now() - t);
      if (rest.orders[0]?.status !== OrderStatus.ORDER_STATUS_SUBMITTED) throw new Error(`a resting order answered ${OrderStatus[rest.orders[0]?.status ?? 0]}`);
      await sleep(PAUSE_MS);
      t = performance.now();
      await call(client.placeOrder, { order: order(`mkt-${i}`, { orderType: OrderType.ORDER_TYPE_MARKET, limitPrice: "" }) });
      for (;;) {
        const got = await call(client.getOrder, { clientOrderId: `mkt-${i}`, accountId: "", permId: "0" });
        if (got.order?.status === OrderStatus.ORDER_STATUS_FILLED) break;
      }
      filled.push(performance.now() - t);
      await sleep(PAUSE_MS);
      t = performance.now();
      await call(client.placeOrder, { order: order(`str-${i}`, { orderType: OrderType.ORDER_TYPE_MARKET, limitPrice: "" }) });
      await streamUntil(() => streamedAt.has(`str-${i}`), `str-${i}: FILLED on StreamOrders`, 10_000);
      streamed.push(streamedAt.get(`str-${i}`)! - t);
    }
    await call(client.cancelAllOrders, { note: "bench over" });
    return { orders: ORDERS, baselineMs: percentiles(baseline), acknowledgedMs: percentiles(acknowledged), filledMs: percentiles(filled), streamedMs: percentiles(streamed) };
  } finally {
    stream.cancel();
    client.close();
    await app.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
  return { p50: at(0.5), p99: at(0.99), max: Math.round(sorted[sorted.length - 1]! * 100) / 100 };
}
