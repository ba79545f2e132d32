/**
 * The one check of an order request's shape (the gRPC handler maps its refusal; no layer checks these again):
 * positive quantity, the prices its type needs and no others, bracket legs with positive prices on the right
 * sides of each other, and client order ids that fit IB's orderRef. Tick sizes are IB's to check (its 110,
 * recorded as the order's reject), for every price alike. A stop-limit stop-loss's limit is not compared with
 * its stop: IB takes either side (a SELL stop-limit with its limit above the stop is accepted, it just may not
 * fill once triggered), so refusing it here would refuse what IB allows.
 */
import type { Decimal } from "../decimal.js";
import { orderLegs, type OrderRequest, type OrderType } from "./orderRequest.js";
import { ACCEPTED, echo, refuse, type OrderVerdict } from "./orderRefusal.js";

/** Longest client order id: it travels as IB's orderRef, and comes back in every openOrder and execution. */
export const MAX_CLIENT_ORDER_ID_LENGTH = 64;

const NEEDS_LIMIT: ReadonlySet<OrderType> = new Set(["LMT", "STP LMT"]);
const NEEDS_STOP: ReadonlySet<OrderType> = new Set(["STP", "STP LMT"]);

export function checkOrderRequest(request: OrderRequest): OrderVerdict {
  const legs = orderLegs(request);
  const legIds = legs.map((leg) => leg.clientOrderId);
  for (const [i, { role, clientOrderId: id }] of legs.entries()) {
    const field = role === "parent" ? "clientOrderId" : `bracket.${role}.clientOrderId`;
    if (id.trim() === "") return refuse("CLIENT_ORDER_ID_REQUIRED", field, `${field} is required (the order's idempotency key, unique per account)`);
    if (id.length > MAX_CLIENT_ORDER_ID_LENGTH) return refuse("CLIENT_ORDER_ID_TOO_LONG", field, `${field} ${echo(id)} is longer than ${MAX_CLIENT_ORDER_ID_LENGTH} characters`);
    if (legIds.indexOf(id) !== i) return refuse("CLIENT_ORDER_ID_DUPLICATED", field, `${field} ${echo(id)} is already the id of another order of this bracket`);
  }
  if (request.account.trim() === "") return refuse("ACCOUNT_REQUIRED", "account", "account is required");
  if (!request.quantity.isFinite() || request.quantity.lte(0)) return refuse("QUANTITY_NOT_POSITIVE", "quantity", `quantity must be above 0 (got ${request.quantity.toString()})`);
  const priced = checkPrice("limitPrice", request.limitPrice, NEEDS_LIMIT.has(request.type), request.type) ?? checkPrice("stopPrice", request.stopPrice, NEEDS_STOP.has(request.type), request.type);
  if (priced !== undefined) return priced;
  const { takeProfit, stopLoss } = request.bracket ?? {};
  if (takeProfit !== undefined && !positive(takeProfit.limitPrice)) return refuse("PRICE_NOT_POSITIVE", "bracket.takeProfit.limitPrice", "bracket.takeProfit.limitPrice must be above 0");
  if (stopLoss !== undefined && !positive(stopLoss.stopPrice)) return refuse("PRICE_NOT_POSITIVE", "bracket.stopLoss.stopPrice", "bracket.stopLoss.stopPrice must be above 0");
  if (stopLoss?.limitPrice !== undefined && !positive(stopLoss.limitPrice)) return refuse("PRICE_NOT_POSITIVE", "bracket.stopLoss.limitPrice", `bracket.stopLoss.limitPrice must be above 0 (got ${stopLoss.limitPrice.toString()})`);
  if (takeProfit !== undefined && stopLoss !== undefined) {
    // A long's profit is above its stop, a short's below: otherwise both legs would trigger at once.
    const inverted = request.side === "BUY" ? takeProfit.limitPrice.lte(stopLoss.stopPrice) : takeProfit.limitPrice.gte(stopLoss.stopPrice);
    if (inverted) {
      const side = request.side === "BUY" ? "above" : "below";
      return refuse("BRACKET_PRICES_INVERTED", "bracket.takeProfit.limitPrice", `bracket.takeProfit.limitPrice ${takeProfit.limitPrice.toString()} must be ${side} bracket.stopLoss.stopPrice ${stopLoss.stopPrice.toString()} for a ${request.side} parent`);
    }
  }
  return ACCEPTED;
}

function checkPrice(field: string, price: Decimal | undefined, needed: boolean, type: OrderType): OrderVerdict | undefined {
  if (needed && price === undefined) return refuse("PRICE_REQUIRED", field, `${field} is required for a ${type} order`);
  if (!needed && price !== undefined) return refuse("PRICE_NOT_EXPECTED", field, `${field} is not used by a ${type} order: leave it unset`);
  if (price !== undefined && !positive(price)) return refuse("PRICE_NOT_POSITIVE", field, `${field} must be above 0 (got ${price.toString()})`);
  return undefined;
}

function positive(d: Decimal): boolean {
  return d.isFinite() && d.gt(0);
}
