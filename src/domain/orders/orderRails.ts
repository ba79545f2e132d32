/**
 * The safety rails (issue 17 item 3): what an order must pass before IB sees it, checked in a fixed order so
 * the refusal a client gets is the most basic one (orders off before the account, the account before limits).
 * Pure: the caller supplies the settings, the account's kind and, for a market order, a reference price.
 */
import { maskAccountId } from "../accountMask.js";
import type { Decimal } from "../decimal.js";
import { limitFor, type OrderRailSettings } from "./orderRailSettings.js";
import { orderLegs, type OrderLeg, type OrderRequest } from "./orderRequest.js";
import { ACCEPTED, echo, refuse, type OrderVerdict } from "./orderRefusal.js";

export type AccountKind = "paper" | "live";

/**
 * IB paper accounts are DU followed by digits; anything else counts as live. Strict on purpose: a paper
 * account taken for live is refused (ORDERS_ALLOW_LIVE says so), a live one taken for paper would trade.
 */
export function accountKindOf(account: string): AccountKind {
  return /^DU\d+$/.test(account) ? "paper" : "live";
}

export interface RailContext {
  accountKind: AccountKind;
  /**
   * The price a market order's notional is counted at (e.g. the last trade or the far side of the quote,
   * the caller's choice). Without it a market order is refused when a notional limit applies.
   */
  referencePrice?: Decimal;
}

/** The first rail `request` breaks (the bracket legs included), or ACCEPTED. */
export function checkOrderRails(request: OrderRequest, settings: OrderRailSettings, context: RailContext): OrderVerdict {
  if (!settings.enabled) return refuse("ORDERS_DISABLED", "account", "orders are disabled on this service (ORDERS_ENABLED is off)");
  if (settings.killSwitchEngaged) return refuse("KILL_SWITCH_ENGAGED", "account", "new orders are refused since CancelAllOrders engaged the kill switch, until it is released");
  if (context.accountKind === "live" && !settings.allowLive) return refuse("LIVE_ACCOUNT_REFUSED", "account", `account ${echo(maskAccountId(request.account))} is not a paper account, and orders for live accounts are refused (ORDERS_ALLOW_LIVE is off)`);
  const symbol = request.instrument.symbol;
  if (settings.allowedSymbols.size > 0 && !settings.allowedSymbols.has(symbol.toUpperCase())) {
    return refuse("SYMBOL_NOT_ALLOWED", "instrument.symbol", `instrument.symbol ${echo(symbol)} is not among the symbols allowed (ORDERS_ALLOWED_SYMBOLS: ${[...settings.allowedSymbols].join(", ")})`);
  }
  const maxQuantity = limitFor(settings.maxQuantity, symbol);
  if (maxQuantity !== undefined && request.quantity.gt(maxQuantity)) {
    return refuse("QUANTITY_ABOVE_LIMIT", "quantity", `quantity ${request.quantity.toString()} is above the limit of ${maxQuantity.toString()} per order for ${echo(symbol)} (ORDERS_MAX_QUANTITY)`);
  }
  for (const leg of orderLegs(request)) {
    const verdict = checkLeg(leg, request, settings, context);
    if (!verdict.ok) return verdict;
  }
  return ACCEPTED;
}

function checkLeg(leg: OrderLeg, request: OrderRequest, settings: OrderRailSettings, context: RailContext): OrderVerdict {
  const at = leg.role === "parent" ? "" : `bracket.${leg.role}.`;
  if (!settings.allowedOrderTypes.has(leg.type)) {
    const field = leg.role === "parent" ? "type" : `bracket.${leg.role}`;
    return refuse("ORDER_TYPE_NOT_ALLOWED", field, `${field}: ${leg.type} orders are not among the types allowed (ORDERS_ALLOWED_TYPES: ${[...settings.allowedOrderTypes].join(", ")})`);
  }
  const symbol = request.instrument.symbol;
  const maxNotional = limitFor(settings.maxNotional, symbol);
  if (maxNotional === undefined) return ACCEPTED;
  // The order's own price; a market order's from the caller. A stop-limit's limit bounds its fills.
  const price = leg.limitPrice ?? leg.stopPrice ?? context.referencePrice;
  const priceField = leg.limitPrice !== undefined ? `${at}limitPrice` : leg.stopPrice !== undefined ? `${at}stopPrice` : "type";
  if (price === undefined) {
    return refuse("REFERENCE_PRICE_UNAVAILABLE", "type", `a ${leg.type} order's notional cannot be checked against the limit of ${maxNotional.toString()} ${request.instrument.currency} for ${echo(symbol)} (ORDERS_MAX_NOTIONAL): no price is known for it; use a limit order`);
  }
  const notional = leg.quantity.times(price.abs()).times(request.instrument.multiplier ?? 1);
  if (notional.gt(maxNotional)) {
    const priced = priceField === "type" ? `at the reference price ${price.toString()}` : `at ${priceField} ${price.toString()}`;
    return refuse("NOTIONAL_ABOVE_LIMIT", priceField === "type" ? "quantity" : priceField, `notional ${notional.toString()} ${request.instrument.currency} (quantity ${leg.quantity.toString()} ${priced}) is above the limit of ${maxNotional.toString()} per order for ${echo(symbol)} (ORDERS_MAX_NOTIONAL)`);
  }
  return ACCEPTED;
}
