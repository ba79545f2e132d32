import type { Client } from "@grpc/grpc-js";
import {
  NewOrder,
  OrderServiceService,
  type CancelAllOrdersResponse,
  type CancelOrderResponse,
  type EnableOrdersResponse,
  type GetOrderResponse,
  type GetTradingStatusResponse,
  type ListExecutionsRequest,
  type ListExecutionsResponse,
  type ListOrdersRequest,
  type ListOrdersResponse,
  type ModifyOrderRequest,
  type ModifyOrderResponse,
  type PlaceOrderResponse,
  type PreviewOrderResponse,
  type StopLoss,
  type TakeProfit,
} from "../../gen/ibprovider/v1/order_service.js";
import { definedFields, REQUEST_DEFAULTS, streamMethods, unaryMethods, type RequestInput, type StreamMethods, type UnaryOptions } from "./serviceMethods.js";

/**
 * An order to place or preview. `clientOrderId` is required and is the caller's: it is the idempotency key
 * (PlaceOrder sent again with the same id and order returns the orders already placed, `alreadyPlaced`, and
 * sends nothing), so the client never makes one up — an id generated per call would turn a retry after a
 * timeout into a second order. Unset fields keep the proto defaults, except connectorType ("ib") and
 * marketType ("spot"); a bracket leg left without its own id gets the parent's with ".tp" / ".sl".
 */
export type NewOrderInput = Omit<RequestInput<NewOrder>, "clientOrderId" | "side" | "orderType" | "quantity" | "takeProfit" | "stopLoss"> &
  Pick<NewOrder, "clientOrderId" | "side" | "orderType" | "quantity"> & {
    takeProfit?: RequestInput<TakeProfit>;
    stopLoss?: RequestInput<StopLoss>;
  };

/** One order: by its client order id, or (orders placed elsewhere) by IB's perm id. */
export type OrderTarget = string | { clientOrderId?: string; permId?: string; accountId?: string };

/**
 * OrderService as helpers over the client's channel (same token, deadlines and errors as every other call:
 * a refusal rejects with the grpc-js ServiceError, its ErrorInfo through `errorInfoOf`). Placing, previewing,
 * modifying, cancelling and the kill switch need a token with the `trade` scope (PROVIDER_TRADE_TOKEN); the reads need
 * `account` or `trade`. `stream` follows the account's orders and fills as they change (resumable, as every stream here).
 */
export interface OrderMethods {
  /** Places an order or a bracket; the orders created, parent first (docs/orders.md). Safe to retry with the same order. */
  place(order: NewOrderInput, options?: UnaryOptions): Promise<PlaceOrderResponse>;
  /** IB's what-if (margin before/change/after, commission); places nothing. */
  preview(order: NewOrderInput, options?: UnaryOptions): Promise<PreviewOrderResponse>;
  /**
   * Changes an open order placed here: the fields given (quantity, limitPrice, stopPrice, timeInForce,
   * outsideRth), the others unchanged. Refused like a new order by the rails (FAILED_PRECONDITION); an order
   * no longer open is ORDER_NOT_OPEN. The order answered says whether IB took the change (a reject is its lastMessage).
   */
  modify(clientOrderId: string, change: Omit<RequestInput<ModifyOrderRequest>, "clientOrderId">, options?: UnaryOptions): Promise<ModifyOrderResponse>;
  /** Asks IB to cancel an order placed here (a bracket's parent takes its legs). Idempotent. */
  cancel(target: string | { clientOrderId: string; accountId?: string }, options?: UnaryOptions): Promise<CancelOrderResponse>;
  /** The kill switch: refuses new orders until `enable`, then cancels every open order of the login's accounts. */
  cancelAll(note?: string, options?: UnaryOptions): Promise<CancelAllOrdersResponse>;
  /** Releases the kill switch (configured rails stay: see the trading status returned). */
  enable(note?: string, options?: UnaryOptions): Promise<EnableOrdersResponse>;
  /** Whether orders are accepted now, and every rail that holds them back. */
  tradingStatus(options?: UnaryOptions): Promise<GetTradingStatusResponse>;
  /** One order (NOT_FOUND when there is none). */
  get(target: OrderTarget, options?: UnaryOptions): Promise<GetOrderResponse>;
  /** Open and recent orders, newest first; every market unless `marketType` is given. */
  list(filter?: RequestInput<ListOrdersRequest>, options?: UnaryOptions): Promise<ListOrdersResponse>;
  /** Fills with their commissions, newest first; every market unless `marketType` is given. */
  executions(filter?: RequestInput<ListExecutionsRequest>, options?: UnaryOptions): Promise<ListExecutionsResponse>;
  /**
   * StreamOrders: the open orders and the trading status, then every order change, fill (again with its
   * commission) and kill switch change, numbered; resumed after the last event yielded when the connection drops
   * (`options.start` to begin from a time or a sequence).
   */
  stream: StreamMethods<typeof OrderServiceService>["streamOrders"];
}

/** The NewOrder to send: the caller's fields over the client's defaults, nested legs completed too. */
function newOrderOf(input: NewOrderInput): NewOrder {
  return NewOrder.fromPartial({ ...REQUEST_DEFAULTS, ...definedFields(input) });
}

// A list request's connector and market are filters ("" = any), not the instrument's market: no defaults.
const ANY_MARKET = { connectorType: "", marketType: "" };

/** OrderService's helpers over one grpc-js client (channel). */
export function orderMethods(client: Client): OrderMethods {
  const rpc = unaryMethods(client, OrderServiceService);
  const { streamOrders } = streamMethods(client, OrderServiceService);
  return {
    place: (order, options) => rpc.placeOrder({ order: newOrderOf(order) }, options),
    preview: (order, options) => rpc.previewOrder({ order: newOrderOf(order) }, options),
    modify: (clientOrderId, change, options) => rpc.modifyOrder({ ...definedFields(change), clientOrderId }, options),
    cancel: (target, options) => rpc.cancelOrder(typeof target === "string" ? { clientOrderId: target } : target, options),
    cancelAll: (note, options) => rpc.cancelAllOrders({ note }, options),
    enable: (note, options) => rpc.enableOrders({ note }, options),
    tradingStatus: (options) => rpc.getTradingStatus({}, options),
    get: (target, options) => rpc.getOrder(typeof target === "string" ? { clientOrderId: target } : target, options),
    list: (filter, options) => rpc.listOrders({ ...ANY_MARKET, ...definedFields(filter) }, options),
    executions: (filter, options) => rpc.listExecutions({ ...ANY_MARKET, ...definedFields(filter) }, options),
    stream: streamOrders,
  };
}
