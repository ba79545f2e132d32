/** The order domain's values as OrderService messages. */
import {
  BracketRole,
  ExecutionLiquidity,
  OrderMessageSeverity,
  OrderSide,
  OrderStatus,
  OrderType,
  TimeInForce,
  type Execution,
  type Order,
  type TradingStatus,
} from "../../../gen/ibprovider/v1/order_service.js";
import { toWire, type Decimal } from "../../domain/decimal.js";
import type { ExecutionLiquidity as Liquidity } from "../../domain/orders/execution.js";
import type { OrderStatus as Status } from "../../domain/orders/orderStatus.js";
import type { OrderSide as Side, OrderType as Type, TimeInForce as Tif } from "../../domain/orders/orderRequest.js";
import { orderCodeEffect } from "../../ib/orders/orderCodes.js";
import { FATE_UNKNOWN_CODE, NOT_RECEIVED_CODE } from "../../ib/orders/orderReconciler.js";
import type { StoredExecution, StoredOrder } from "../../ib/orders/orderDesk.js";
import { timestampFromMs } from "./protoTime.js";

const STATUS: Record<Status, OrderStatus> = {
  PendingSubmit: OrderStatus.ORDER_STATUS_PENDING_SUBMIT,
  PendingCancel: OrderStatus.ORDER_STATUS_PENDING_CANCEL,
  PreSubmitted: OrderStatus.ORDER_STATUS_PRE_SUBMITTED,
  Submitted: OrderStatus.ORDER_STATUS_SUBMITTED,
  ApiPending: OrderStatus.ORDER_STATUS_API_PENDING,
  ApiCancelled: OrderStatus.ORDER_STATUS_API_CANCELLED,
  Cancelled: OrderStatus.ORDER_STATUS_CANCELLED,
  Filled: OrderStatus.ORDER_STATUS_FILLED,
  Inactive: OrderStatus.ORDER_STATUS_INACTIVE,
  Unknown: OrderStatus.ORDER_STATUS_UNKNOWN,
};
const SIDE: Record<Side, OrderSide> = { BUY: OrderSide.ORDER_SIDE_BUY, SELL: OrderSide.ORDER_SIDE_SELL };
const TYPE: Record<Type, OrderType> = { MKT: OrderType.ORDER_TYPE_MARKET, LMT: OrderType.ORDER_TYPE_LIMIT, STP: OrderType.ORDER_TYPE_STOP, "STP LMT": OrderType.ORDER_TYPE_STOP_LIMIT };
const TIF: Record<Tif, TimeInForce> = { DAY: TimeInForce.TIME_IN_FORCE_DAY, GTC: TimeInForce.TIME_IN_FORCE_GTC, IOC: TimeInForce.TIME_IN_FORCE_IOC };
const LIQUIDITY: Record<Liquidity, ExecutionLiquidity> = { added: ExecutionLiquidity.EXECUTION_LIQUIDITY_ADDED, removed: ExecutionLiquidity.EXECUTION_LIQUIDITY_REMOVED, routedOut: ExecutionLiquidity.EXECUTION_LIQUIDITY_ROUTED_OUT };
const ROLE = { parent: BracketRole.BRACKET_ROLE_PARENT, takeProfit: BracketRole.BRACKET_ROLE_TAKE_PROFIT, stopLoss: BracketRole.BRACKET_ROLE_STOP_LOSS } as const;

/** The statuses ListOrders' filter names, in our terms. */
export function statusFromProto(status: OrderStatus): Status | undefined {
  return (Object.entries(STATUS) as [Status, OrderStatus][]).find(([, s]) => s === status)?.[0];
}

const text = (d: Decimal | undefined) => (d === undefined ? "" : toWire(d));

/** Futures and their options are the futures market's; everything else is spot (margin accounts trade the same contracts). */
function marketOf(secType: string): string {
  return secType === "FUT" || secType === "FOP" ? "futures" : "spot";
}

/** An order as stored, with the commissions of its fills (summed by the caller from its executions). */
export function orderToProto(order: StoredOrder, commission?: { total: Decimal; currency: string }): Order {
  const { leg, request } = order;
  const i = request.instrument;
  const effect = order.lastError === undefined ? undefined : orderCodeEffect(order.lastError.code);
  // The service's own codes (orderReconciler.ts): 0 and below.
  const own = order.lastError === undefined || order.lastError.code > FATE_UNKNOWN_CODE ? undefined : order.lastError.code === NOT_RECEIVED_CODE ? "NOT_RECEIVED_BY_IB" : "FATE_UNKNOWN";
  return {
    clientOrderId: order.clientOrderId,
    orderId: String(order.orderId),
    permId: order.permId === undefined ? "0" : String(order.permId),
    accountId: order.account,
    connectorType: "ib",
    marketType: marketOf(i.secType),
    symbol: i.symbol,
    conId: String(i.conId),
    secType: i.secType,
    currency: i.currency,
    side: SIDE[leg.side],
    orderType: TYPE[leg.type],
    quantity: toWire(leg.quantity),
    limitPrice: text(leg.limitPrice),
    stopPrice: text(leg.stopPrice),
    timeInForce: TIF[leg.tif],
    outsideRth: leg.outsideRth,
    status: STATUS[order.status],
    filledQuantity: toWire(order.filled),
    remainingQuantity: toWire(order.remaining),
    averageFillPrice: text(order.avgFillPrice),
    lastFillPrice: "",
    commission: commission === undefined ? "" : toWire(commission.total),
    commissionCurrency: commission?.currency ?? "",
    bracketRole: request.bracket === undefined ? BracketRole.BRACKET_ROLE_UNSPECIFIED : ROLE[order.role],
    parentClientOrderId: order.parentClientOrderId ?? "",
    ocaGroup: "",
    whyHeld: "",
    ...(order.lastError === undefined
      ? {}
      : {
          lastMessage: {
            // IB's reject, else a warning (the service's own word after reconciling is not a reject: nothing says IB refused it).
            severity: effect === "rejected" || (own === undefined && effect === undefined) ? OrderMessageSeverity.ORDER_MESSAGE_SEVERITY_REJECT : OrderMessageSeverity.ORDER_MESSAGE_SEVERITY_WARNING,
            ibCode: own === undefined ? order.lastError.code : 0,
            reason: own ?? `IB_${order.lastError.code}`,
            text: order.lastError.text,
          },
        }),
    external: false,
    orderRef: order.clientOrderId,
    createTime: timestampFromMs(order.createdMs),
    updateTime: timestampFromMs(order.updatedMs),
  };
}

export function executionToProto(e: StoredExecution, order: StoredOrder | undefined): Execution {
  const { execution, commission } = e;
  return {
    execId: execution.execId,
    clientOrderId: execution.clientOrderId ?? order?.clientOrderId ?? "",
    orderId: String(execution.orderId),
    permId: order?.permId === undefined ? "0" : String(order.permId),
    accountId: execution.account,
    symbol: order?.request.instrument.symbol ?? "",
    conId: String(execution.conId),
    side: SIDE[execution.side],
    quantity: toWire(execution.quantity),
    price: toWire(execution.price),
    time: timestampFromMs(execution.timeMs),
    exchange: execution.exchange ?? "",
    cumulativeQuantity: text(execution.cumulativeQuantity),
    averagePrice: text(execution.averagePrice),
    commission: text(commission?.commission),
    commissionCurrency: commission?.currency ?? "",
    realizedPnl: text(commission?.realizedPnl),
    liquidity: execution.liquidity === undefined ? ExecutionLiquidity.EXECUTION_LIQUIDITY_UNSPECIFIED : LIQUIDITY[execution.liquidity],
    currency: order?.request.instrument.currency ?? "",
  };
}

/** What holds orders back now (the rails' state) for GetTradingStatus and the kill switch's answers. */
export function tradingStatusToProto(state: { enabled: boolean; allowLive: boolean; isPaper: boolean; account: string | undefined; killSwitch: { engaged: boolean; reason: string; changedMs: number | undefined; byClient?: string } }): TradingStatus {
  const blocks: TradingStatus["blocks"] = [];
  if (!state.enabled) blocks.push({ reason: "ORDERS_DISABLED", message: "orders are disabled on this service (ORDERS_ENABLED is not true)", byClient: "", note: "" });
  if (!state.isPaper && !state.allowLive) blocks.push({ reason: "LIVE_ACCOUNT_REFUSED", message: "the account is not a paper account and ORDERS_ALLOW_LIVE is not true", byClient: "", note: "" });
  if (state.killSwitch.engaged) {
    const { byClient, reason: note, changedMs } = state.killSwitch;
    const message = `CancelAllOrders${byClient === undefined ? "" : ` by ${byClient}`} engaged the kill switch: new orders are refused until EnableOrders`;
    blocks.push({ reason: "KILL_SWITCH_ENGAGED", message, byClient: byClient ?? "", note, ...(changedMs === undefined ? {} : { since: timestampFromMs(changedMs) }) });
  }
  return { ordersEnabled: blocks.length === 0, blocks, accountId: state.account ?? "", isPaper: state.isPaper };
}
