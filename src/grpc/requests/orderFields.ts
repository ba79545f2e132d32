/**
 * OrderService requests read into the order domain. This layer reads (enums, decimal text, the instrument
 * fields) and names fields as the proto does; the order's shape is checked once, by the domain
 * (checkOrderRequest), and its refusals are renamed to the proto's fields here.
 */
import { status } from "@grpc/grpc-js";
import { OrderSide, OrderType, TimeInForce, type ModifyOrderRequest, type NewOrder } from "../../../gen/ibprovider/v1/order_service.js";
import { dec, type Decimal } from "../../domain/decimal.js";
import type { OrderRequest, OrderSide as Side, OrderType as Type, TimeInForce as Tif } from "../../domain/orders/orderRequest.js";
import type { OrderRefusal } from "../../domain/orders/orderRefusal.js";
import type { OrderAmendment } from "../../ib/orders/orderModify.js";
import { ApiError, echo, invalidArgument } from "../apiError.js";
import { checkInstrument } from "./instrumentFields.js";

const SIDES: Partial<Record<OrderSide, Side>> = { [OrderSide.ORDER_SIDE_BUY]: "BUY", [OrderSide.ORDER_SIDE_SELL]: "SELL" };
const TYPES: Partial<Record<OrderType, Type>> = { [OrderType.ORDER_TYPE_MARKET]: "MKT", [OrderType.ORDER_TYPE_LIMIT]: "LMT", [OrderType.ORDER_TYPE_STOP]: "STP", [OrderType.ORDER_TYPE_STOP_LIMIT]: "STP LMT" };
const TIFS: Partial<Record<TimeInForce, Tif>> = { [TimeInForce.TIME_IN_FORCE_UNSPECIFIED]: "DAY", [TimeInForce.TIME_IN_FORCE_DAY]: "DAY", [TimeInForce.TIME_IN_FORCE_GTC]: "GTC", [TimeInForce.TIME_IN_FORCE_IOC]: "IOC" };

/** A decimal text field: "" is unset; anything else must read as a finite decimal. */
export function decimalField(field: string, text: string): Decimal | undefined {
  if (text === "") return undefined;
  const value = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text.trim()) ? dec(text.trim()) : undefined;
  if (value === undefined || !value.isFinite()) throw invalidArgument(field, `expected a decimal number as text, e.g. "100" or "187.25" (got ${echo(text)})`, "INVALID_DECIMAL");
  return value;
}

/** The parts of a NewOrder that need no IB: the instrument named (resolved by the caller) and the order's terms. */
export interface NewOrderFields {
  marketType: ReturnType<typeof checkInstrument>["marketType"];
  symbol: string;
  build(instrument: OrderRequest["instrument"], account: string): OrderRequest;
}

/** Reads `order` (PlaceOrder's: "place", PreviewOrder's: "preview"), every field named as `order.<field>`. */
export function readNewOrder(order: NewOrder | undefined, purpose: "place" | "preview"): NewOrderFields {
  if (order === undefined) throw invalidArgument("order", `required: the order to ${purpose}`, "ORDER_REQUIRED");
  const { marketType, symbol } = within("order", () => checkInstrument(order));
  const side = SIDES[order.side];
  if (side === undefined) throw invalidArgument("order.side", `BUY or SELL (got ${OrderSide[order.side] ?? order.side})`, "INVALID_SIDE");
  const type = TYPES[order.orderType];
  if (type === undefined) throw invalidArgument("order.order_type", `MARKET, LIMIT, STOP or STOP_LIMIT (got ${OrderType[order.orderType] ?? order.orderType})`, "INVALID_ORDER_TYPE");
  const tif = tifOf("order.time_in_force", order.timeInForce);
  const quantity = decimalField("order.quantity", order.quantity);
  if (quantity === undefined) throw invalidArgument("order.quantity", "required: how many units (shares, contracts, coins), as decimal text", "QUANTITY_REQUIRED");
  const limitPrice = decimalField("order.limit_price", order.limitPrice);
  const stopPrice = decimalField("order.stop_price", order.stopPrice);
  const { takeProfit, stopLoss } = order;
  // A leg's own time in force when set (e.g. a DAY entry with GTC exits), else the parent's; a stop-loss with a
  // limit price is a stop-limit.
  const tpTif = takeProfit === undefined || takeProfit.timeInForce === TimeInForce.TIME_IN_FORCE_UNSPECIFIED ? undefined : tifOf("order.take_profit.time_in_force", takeProfit.timeInForce);
  const slTif = stopLoss === undefined || stopLoss.timeInForce === TimeInForce.TIME_IN_FORCE_UNSPECIFIED ? undefined : tifOf("order.stop_loss.time_in_force", stopLoss.timeInForce);
  const tpPrice = takeProfit === undefined ? undefined : (decimalField("order.take_profit.limit_price", takeProfit.limitPrice) ?? dec(0));
  const slPrice = stopLoss === undefined ? undefined : (decimalField("order.stop_loss.stop_price", stopLoss.stopPrice) ?? dec(0));
  const slLimit = stopLoss === undefined ? undefined : decimalField("order.stop_loss.limit_price", stopLoss.limitPrice);
  return {
    marketType,
    symbol,
    build: (instrument, account) => {
      const request: OrderRequest = { clientOrderId: order.clientOrderId, account, instrument, side, quantity, type, tif, outsideRth: order.outsideRth };
      if (limitPrice !== undefined) request.limitPrice = limitPrice;
      if (stopPrice !== undefined) request.stopPrice = stopPrice;
      if (takeProfit !== undefined || stopLoss !== undefined) {
        request.bracket = {};
        if (takeProfit !== undefined) {
          request.bracket.takeProfit = { limitPrice: tpPrice!, ...(takeProfit.clientOrderId === "" ? {} : { clientOrderId: takeProfit.clientOrderId }), ...(tpTif === undefined ? {} : { tif: tpTif }) };
        }
        if (stopLoss !== undefined) {
          request.bracket.stopLoss = { stopPrice: slPrice!, ...(stopLoss.clientOrderId === "" ? {} : { clientOrderId: stopLoss.clientOrderId }), ...(slLimit === undefined ? {} : { limitPrice: slLimit }), ...(slTif === undefined ? {} : { tif: slTif }) };
        }
      }
      return request;
    },
  };
}

function tifOf(field: string, value: TimeInForce): Tif {
  const tif = TIFS[value];
  if (tif === undefined) throw invalidArgument(field, `DAY, GTC or IOC (got ${TimeInForce[value] ?? value})`, "INVALID_TIME_IN_FORCE");
  return tif;
}

/** Runs a check of an embedded message's fields, naming them inside it (`symbol` → `order.symbol`). */
function within<T>(prefix: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== status.INVALID_ARGUMENT || err.fieldViolations.length !== 1) throw err;
    const { field, description } = err.fieldViolations[0]!;
    throw invalidArgument(`${prefix}.${field}`, description, err.reason);
  }
}

/** The domain's field names (orderRequest.ts) → the proto's, for PlaceOrder's refusals. */
const PROTO_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["bracket.takeProfit.clientOrderId", "order.take_profit.client_order_id"],
  ["bracket.stopLoss.clientOrderId", "order.stop_loss.client_order_id"],
  ["bracket.takeProfit.limitPrice", "order.take_profit.limit_price"],
  ["bracket.stopLoss.stopPrice", "order.stop_loss.stop_price"],
  ["bracket.stopLoss.limitPrice", "order.stop_loss.limit_price"],
  ["bracket.takeProfit", "order.take_profit"],
  ["bracket.stopLoss", "order.stop_loss"],
  ["instrument.symbol", "order.symbol"],
  ["clientOrderId", "order.client_order_id"],
  ["limitPrice", "order.limit_price"],
  ["stopPrice", "order.stop_price"],
  ["quantity", "order.quantity"],
  ["account", "order.account_id"],
  ["type", "order.order_type"],
];

/** How each refusal is answered: the order's shape is the caller's to fix, a rail is the service's state. */
const SHAPE_REASONS = new Set(["QUANTITY_BELOW_FILLED", "CLIENT_ORDER_ID_REQUIRED", "CLIENT_ORDER_ID_TOO_LONG", "CLIENT_ORDER_ID_DUPLICATED", "ACCOUNT_REQUIRED", "QUANTITY_NOT_POSITIVE", "PRICE_REQUIRED", "PRICE_NOT_EXPECTED", "PRICE_NOT_POSITIVE", "BRACKET_PRICES_INVERTED"]);

/** A refusal of the order domain (its shape, a rail, a reused id) as the caller's error, fields named as in the proto. */
export function refusalError(refusal: OrderRefusal, protoFields: ReadonlyArray<readonly [string, string]> = PROTO_FIELDS): ApiError {
  const protoName = (name: string) => protoFields.find(([from]) => from === name)?.[1];
  const field = protoName(refusal.field) ?? refusal.field;
  // The field the message starts with, and the bracket's dotted paths wherever they appear (unambiguous).
  let message = refusal.message.startsWith(refusal.field) ? field + refusal.message.slice(refusal.field.length) : refusal.message;
  message = message.replace(/\bbracket\.(takeProfit|stopLoss)(\.\w+)?/g, (m) => protoName(m) ?? m);
  if (SHAPE_REASONS.has(refusal.reason)) return new ApiError(status.INVALID_ARGUMENT, message, refusal.reason, { field }, [{ field, description: message }]);
  if (refusal.reason === "CLIENT_ORDER_ID_REUSED" || refusal.reason === "CLIENT_ORDER_ID_AT_IB") return new ApiError(status.ALREADY_EXISTS, message, refusal.reason, { field });
  return new ApiError(status.FAILED_PRECONDITION, message, refusal.reason, { field });
}

/** ModifyOrder's request: the order it names and the terms to change (a field left unset is unchanged). */
export function readModifyOrder(request: ModifyOrderRequest): { clientOrderId: string; change: OrderAmendment } {
  if (request.clientOrderId === "") throw invalidArgument("client_order_id", "required: the order to change", "CLIENT_ORDER_ID_REQUIRED");
  const change: OrderAmendment = {};
  const quantity = decimalField("quantity", request.quantity ?? "");
  const limitPrice = decimalField("limit_price", request.limitPrice ?? "");
  const stopPrice = decimalField("stop_price", request.stopPrice ?? "");
  if (quantity !== undefined) change.quantity = quantity;
  if (limitPrice !== undefined) change.limitPrice = limitPrice;
  if (stopPrice !== undefined) change.stopPrice = stopPrice;
  if (request.timeInForce !== TimeInForce.TIME_IN_FORCE_UNSPECIFIED) change.tif = tifOf("time_in_force", request.timeInForce);
  if (request.outsideRth !== undefined) change.outsideRth = request.outsideRth;
  if (Object.keys(change).length === 0) throw invalidArgument("client_order_id", "nothing to change: set quantity, limit_price, stop_price, time_in_force or outside_rth", "NOTHING_TO_MODIFY");
  return { clientOrderId: request.clientOrderId, change };
}

/** The domain's field names → ModifyOrderRequest's: what the order is (its type, its symbol) is the order named. */
export const MODIFY_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["limitPrice", "limit_price"],
  ["stopPrice", "stop_price"],
  ["quantity", "quantity"],
  ["clientOrderId", "client_order_id"],
  ["account", "account_id"],
  ["instrument.symbol", "client_order_id"],
  ["type", "client_order_id"],
];
