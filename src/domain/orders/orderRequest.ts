/**
 * An order as a client asks for it, in domain terms: no TWS ids, no proto messages, prices and sizes as Decimal.
 * One request is one order, or a bracket: the parent plus a take-profit limit and/or a stop-loss stop (or
 * stop-limit) that IB
 * activates when the parent fills (linked by the parent's order id, transmitted as one group).
 */
import type { Decimal } from "../decimal.js";

export type OrderSide = "BUY" | "SELL";
export const ORDER_SIDES: readonly OrderSide[] = ["BUY", "SELL"];

/** IB's orderType strings for the kinds we place. */
export type OrderType = "MKT" | "LMT" | "STP" | "STP LMT";
export const ORDER_TYPES: readonly OrderType[] = ["MKT", "LMT", "STP", "STP LMT"];

/** IB's tif strings for the ones we place. */
export type TimeInForce = "DAY" | "GTC" | "IOC";
export const TIMES_IN_FORCE: readonly TimeInForce[] = ["DAY", "GTC", "IOC"];

/** The contract an order is for: IB's conId (what IB trades) and its description (what rails and people read). */
export interface InstrumentRef {
  conId: number;
  symbol: string;
  secType: string;
  exchange: string;
  currency: string;
  /** IB contract multiplier (futures, options); absent = 1. The notional rail uses it. */
  multiplier?: Decimal;
}

/** A bracket's take-profit: a limit order on the other side, at `limitPrice`. */
export interface TakeProfitLeg {
  /** Absent: derived from the parent's (bracketLegClientOrderId). */
  clientOrderId?: string;
  limitPrice: Decimal;
  /** Absent: the parent's. E.g. a DAY entry whose exits work until cancelled (GTC). */
  tif?: TimeInForce;
}

/**
 * A bracket's stop-loss: a stop order on the other side, triggered at `stopPrice`; with `limitPrice`, a
 * stop-limit (once triggered, a limit order at that price: no fill worse than it, and maybe no fill at all).
 */
export interface StopLossLeg {
  clientOrderId?: string;
  stopPrice: Decimal;
  limitPrice?: Decimal;
  /** Absent: the parent's. */
  tif?: TimeInForce;
}

export interface OrderRequest {
  /** The client's idempotency key, unique per account (sent to IB as orderRef, to reconcile by). */
  clientOrderId: string;
  account: string;
  instrument: InstrumentRef;
  side: OrderSide;
  quantity: Decimal;
  type: OrderType;
  /** LMT and STP LMT. */
  limitPrice?: Decimal;
  /** STP and STP LMT: the trigger. */
  stopPrice?: Decimal;
  tif: TimeInForce;
  outsideRth: boolean;
  bracket?: { takeProfit?: TakeProfitLeg; stopLoss?: StopLossLeg };
}

export type BracketRole = "takeProfit" | "stopLoss";

/** One order IB will receive: the parent (or a single order) or a bracket leg, which names its parent. */
export interface OrderLeg {
  role: "parent" | BracketRole;
  clientOrderId: string;
  /** Legs only. */
  parentClientOrderId?: string;
  side: OrderSide;
  quantity: Decimal;
  type: OrderType;
  limitPrice?: Decimal;
  stopPrice?: Decimal;
  tif: TimeInForce;
  outsideRth: boolean;
}

export function oppositeSide(side: OrderSide): OrderSide {
  return side === "BUY" ? "SELL" : "BUY";
}

/** A leg's client order id when the request names none: the parent's plus the leg's role. */
export function bracketLegClientOrderId(parentClientOrderId: string, role: BracketRole): string {
  return `${parentClientOrderId}.${role === "takeProfit" ? "tp" : "sl"}`;
}

/**
 * The orders a request becomes, parent first: legs take the other side and the parent's quantity and
 * outside-RTH flag (as IB's own bracket sample does), their own time in force or the parent's, a take-profit
 * LMT and a stop-loss STP (STP LMT when it has a limit price).
 */
export function orderLegs(request: OrderRequest): OrderLeg[] {
  const common = { quantity: request.quantity, tif: request.tif, outsideRth: request.outsideRth };
  const parent: OrderLeg = { role: "parent", clientOrderId: request.clientOrderId, side: request.side, type: request.type, ...common };
  if (request.limitPrice !== undefined) parent.limitPrice = request.limitPrice;
  if (request.stopPrice !== undefined) parent.stopPrice = request.stopPrice;
  const legs = [parent];
  const exit = oppositeSide(request.side);
  const { takeProfit, stopLoss } = request.bracket ?? {};
  if (takeProfit !== undefined) {
    const clientOrderId = takeProfit.clientOrderId ?? bracketLegClientOrderId(request.clientOrderId, "takeProfit");
    legs.push({ role: "takeProfit", clientOrderId, parentClientOrderId: request.clientOrderId, side: exit, type: "LMT", limitPrice: takeProfit.limitPrice, ...common, tif: takeProfit.tif ?? request.tif });
  }
  if (stopLoss !== undefined) {
    const clientOrderId = stopLoss.clientOrderId ?? bracketLegClientOrderId(request.clientOrderId, "stopLoss");
    const leg: OrderLeg = { role: "stopLoss", clientOrderId, parentClientOrderId: request.clientOrderId, side: exit, type: "STP", stopPrice: stopLoss.stopPrice, ...common, tif: stopLoss.tif ?? request.tif };
    if (stopLoss.limitPrice !== undefined) {
      leg.type = "STP LMT";
      leg.limitPrice = stopLoss.limitPrice;
    }
    legs.push(leg);
  }
  return legs;
}
