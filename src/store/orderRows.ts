/** The order store's rows and what they read back as (orderStore.ts). */
import { dec, toWire, type Decimal } from "../domain/decimal.js";
import { orderRequestFromCanonical } from "../domain/orders/canonicalOrderRequest.js";
import type { CommissionReport, Execution, ExecutionLiquidity } from "../domain/orders/execution.js";
import { orderLegs, TIMES_IN_FORCE, type OrderLeg, type OrderRequest, type TimeInForce } from "../domain/orders/orderRequest.js";
import { isOrderStatus, type OrderState } from "../domain/orders/orderStatus.js";

/** An order as stored: its IB state, the request it was placed with, and which order of that request it is. */
export interface StoredOrder extends OrderState {
  account: string;
  clientOrderId: string;
  /** Whose IB order ids orderId counts in (ClaimOptions.idSpace). */
  idSpace: string;
  role: OrderLeg["role"];
  /** A bracket leg's parent. */
  parentClientOrderId?: string;
  /** The whole request as placed (a leg's row carries its parent's request). */
  request: OrderRequest;
  /** This row's order as IB is sent it (the parent, or the leg), with ModifyOrder's changes (`amended`) applied. */
  leg: OrderLeg;
  /** The terms ModifyOrder changed since the order was placed (`request` stays as placed: PlaceOrder's idempotency compares it). */
  amended?: OrderAmendment;
  createdMs: number;
  updatedMs: number;
}

/** An order's terms as ModifyOrder changed them; absent fields are as placed. */
export interface OrderAmendment {
  quantity?: Decimal;
  limitPrice?: Decimal;
  stopPrice?: Decimal;
  tif?: TimeInForce;
  outsideRth?: boolean;
}

/** A leg with an amendment's terms. */
export function amendedLeg(leg: OrderLeg, amendment: OrderAmendment | undefined): OrderLeg {
  if (amendment === undefined) return leg;
  const { quantity, limitPrice, stopPrice, tif, outsideRth } = amendment;
  return { ...leg, ...(quantity === undefined ? {} : { quantity }), ...(limitPrice === undefined ? {} : { limitPrice }), ...(stopPrice === undefined ? {} : { stopPrice }), ...(tif === undefined ? {} : { tif }), ...(outsideRth === undefined ? {} : { outsideRth }) };
}

/** The `amended` column's text: JSON, decimals in their wire form; null when nothing is amended. */
export function amendmentToColumn(amendment: OrderAmendment | undefined): string | null {
  if (amendment === undefined) return null;
  const { quantity, limitPrice, stopPrice, tif, outsideRth } = amendment;
  const column = { quantity: quantity && toWire(quantity), limitPrice: limitPrice && toWire(limitPrice), stopPrice: stopPrice && toWire(stopPrice), tif, outsideRth };
  const text = JSON.stringify(column);
  return text === "{}" ? null : text;
}

function amendmentFromColumn(text: string | null, clientOrderId: string): OrderAmendment | undefined {
  if (text === null) return undefined;
  const c = JSON.parse(text) as { quantity?: string; limitPrice?: string; stopPrice?: string; tif?: string; outsideRth?: boolean };
  if (c.tif !== undefined && !(TIMES_IN_FORCE as readonly string[]).includes(c.tif)) throw new Error(`order ${clientOrderId} in the store has an amended time in force ${c.tif}, which this code never writes`);
  const amendment: OrderAmendment = {};
  if (c.quantity !== undefined) amendment.quantity = dec(c.quantity);
  if (c.limitPrice !== undefined) amendment.limitPrice = dec(c.limitPrice);
  if (c.stopPrice !== undefined) amendment.stopPrice = dec(c.stopPrice);
  if (c.tif !== undefined) amendment.tif = c.tif as TimeInForce;
  if (c.outsideRth !== undefined) amendment.outsideRth = c.outsideRth;
  return amendment;
}

/** An execution and, once IB reported it, its commission. */
export interface StoredExecution {
  execution: Execution;
  commission?: CommissionReport;
}

export interface OrderRow {
  account: string;
  client_order_id: string;
  id_space: string;
  order_id: number;
  perm_id: number | null;
  role: string;
  parent_client_order_id: string | null;
  request: string;
  status: string;
  filled: string;
  remaining: string;
  avg_fill_price: string | null;
  error_code: number | null;
  error_text: string | null;
  created_ms: number;
  updated_ms: number;
  /** ModifyOrder's terms (amendmentToColumn), null when never modified. */
  amended: string | null;
}

export interface ExecutionRow {
  exec_id: string;
  account: string | null;
  order_id: number | null;
  client_order_id: string | null;
  con_id: number | null;
  time_ms: number | null;
  side: string | null;
  price: string | null;
  quantity: string | null;
  commission: string | null;
  commission_currency: string | null;
  realized_pnl: string | null;
  exchange: string | null;
  cum_qty: string | null;
  avg_price: string | null;
  /** IB's lastLiquidity: 1 added, 2 removed, 3 routed out. */
  liquidity: number | null;
}

const LIQUIDITY_COLUMN: Record<ExecutionLiquidity, number> = { added: 1, removed: 2, routedOut: 3 };

/** The `liquidity` column: IB's own numbers (lastLiquidity), null when IB did not say. */
export function liquidityToColumn(liquidity: ExecutionLiquidity | undefined): number | null {
  return liquidity === undefined ? null : LIQUIDITY_COLUMN[liquidity];
}

function liquidityFromColumn(value: number | null): ExecutionLiquidity | undefined {
  return (Object.entries(LIQUIDITY_COLUMN) as [ExecutionLiquidity, number][]).find(([, n]) => n === value)?.[0];
}

export function orderFromRow(row: OrderRow): StoredOrder {
  const request = orderRequestFromCanonical(row.request);
  const placed = orderLegs(request).find((l) => l.role === row.role);
  // Written by this code only; a row that says otherwise is a damaged or foreign store, not something to guess about.
  if (placed === undefined || !isOrderStatus(row.status)) throw new Error(`order ${row.client_order_id} in the store has role ${row.role} and status ${row.status}, which its request cannot have`);
  const amended = amendmentFromColumn(row.amended, row.client_order_id);
  const leg = amendedLeg(placed, amended);
  const order: StoredOrder = {
    account: row.account,
    clientOrderId: row.client_order_id,
    idSpace: row.id_space,
    orderId: row.order_id,
    role: leg.role,
    request,
    leg,
    status: row.status,
    filled: dec(row.filled),
    remaining: dec(row.remaining),
    createdMs: row.created_ms,
    updatedMs: row.updated_ms,
  };
  if (amended !== undefined) order.amended = amended;
  if (row.perm_id !== null) order.permId = row.perm_id;
  if (row.parent_client_order_id !== null) order.parentClientOrderId = row.parent_client_order_id;
  if (row.avg_fill_price !== null) order.avgFillPrice = dec(row.avg_fill_price);
  if (row.error_code !== null) order.lastError = { code: row.error_code, text: row.error_text ?? "" };
  return order;
}

/** undefined while only the commission report is known (the execution's columns are null). */
export function executionFromRow(row: ExecutionRow): StoredExecution | undefined {
  if (row.time_ms === null || row.account === null || row.order_id === null || row.con_id === null || row.side === null || row.price === null || row.quantity === null) return undefined;
  const execution: Execution = { execId: row.exec_id, account: row.account, orderId: row.order_id, conId: row.con_id, timeMs: row.time_ms, side: row.side as Execution["side"], price: dec(row.price), quantity: dec(row.quantity) };
  if (row.client_order_id !== null) execution.clientOrderId = row.client_order_id;
  if (row.exchange !== null) execution.exchange = row.exchange;
  if (row.cum_qty !== null) execution.cumulativeQuantity = dec(row.cum_qty);
  if (row.avg_price !== null) execution.averagePrice = dec(row.avg_price);
  const liquidity = liquidityFromColumn(row.liquidity);
  if (liquidity !== undefined) execution.liquidity = liquidity;
  const stored: StoredExecution = { execution };
  if (row.commission !== null) {
    const commission: CommissionReport = { execId: row.exec_id, commission: dec(row.commission), currency: row.commission_currency ?? "" };
    if (row.realized_pnl !== null) commission.realizedPnl = dec(row.realized_pnl);
    stored.commission = commission;
  }
  return stored;
}
