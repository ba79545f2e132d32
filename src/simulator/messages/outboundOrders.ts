/**
 * Encoders of the order messages, field-exact for @stoqey/ib 1.6.10's decoder.js (decodeMsg_OPEN_ORDER,
 * _ORDER_STATUS, _EXECUTION_DATA, _COMMISSION_REPORT, _COMPLETED_ORDER and its OrderDecoder), which reads
 * them as IB's official clients do. Orders are taken from server version 145 (ORDER_CONTAINER): OPEN_ORDER
 * has no version field there, and every later field is gated on the negotiated version up to 176. Fields
 * the simulator has no value for are sent as TWS sends them unset: "" for strings, 0 for flags and ints,
 * Double.MAX_VALUE for optional doubles.
 */
import type { Decimal } from "decimal.js";
import type { InstrumentSpec } from "../market/types.js";
import { COMMISSION_CURRENCY } from "../orders/commission.js";
import type { SimExecution, SimOrder } from "../orders/orderTypes.js";
import type { WhatIfState } from "../orders/placement.js";
import { formatZoned } from "../feeds/ibDateTime.js";
import { dbl, type Field } from "../wire/fields.js";
import { IN, MIN_SV } from "./ids.js";

/** FA_PROFILE_DESUPPORT: OPEN_ORDER carries faProfile below it (the decoder compares its version, = sv here). */
const FA_PROFILE_DESUPPORT = 177;
const money = (d: Decimal): string => d.toDecimalPlaces(2).toFixed();
const price = (d: Decimal | undefined): string => (d === undefined ? dbl(undefined) : d.toFixed());

/** Contract of an order message: conId … localSymbol, tradingClass (no primaryExch), as OrderDecoder.readContractFields. */
function orderContract(c: InstrumentSpec, exchange = c.exchange): Field[] {
  return [c.conId, c.symbol, c.secType, c.lastTradeDateOrContractMonth, c.strike ?? 0, c.right ?? "", c.multiplier, exchange, c.currency, c.localSymbol, c.tradingClass];
}

/** action … tif, ocaGroup, account, openClose, origin, orderRef (shared head of OPEN_ORDER and COMPLETED_ORDER). */
function orderHead(o: SimOrder): Field[] {
  return [o.action, o.totalQuantity.toFixed(), o.orderType, price(o.lmtPrice), price(o.auxPrice), o.tif, o.ocaGroup, o.account, "", 0, o.orderRef];
}

function whatIfFields(sv: number, w: WhatIfState | undefined): Field[] {
  const d = (x: Decimal | undefined) => (x === undefined ? dbl(undefined) : money(x));
  const f: Field[] = [];
  if (sv >= MIN_SV.WHAT_IF_EXT_FIELDS) {
    f.push(d(w?.initMarginBefore), d(w?.maintMarginBefore), d(w?.equityWithLoanBefore));
    f.push(d(w?.initMarginChange), d(w?.maintMarginChange), d(w?.equityWithLoanChange));
  }
  f.push(d(w?.initMarginAfter), d(w?.maintMarginAfter), d(w?.equityWithLoanAfter));
  // commission, minCommission, maxCommission (IB leaves min/max unset when it knows the commission), currency, warningText.
  f.push(w ? w.commission.toFixed() : dbl(undefined), dbl(undefined), dbl(undefined), w ? COMMISSION_CURRENCY : "", "");
  return f;
}

/** OPEN_ORDER (5) at sv ≥ 145. `status` is the order's, or "PreSubmitted" for a what-if answer. */
export function openOrder(sv: number, o: SimOrder, whatIf?: WhatIfState): Field[] {
  const f: Field[] = [IN.OPEN_ORDER, o.orderId, ...orderContract(o.instrument), ...orderHead(o)];
  f.push(o.clientId, o.permId, o.outsideRth, 0 /* hidden */, 0 /* discretionaryAmt */, "" /* goodAfterTime */, "" /* sharesAllocation */);
  f.push("", "", "" /* faGroup, faMethod, faPercentage */);
  if (sv < FA_PROFILE_DESUPPORT) f.push("" /* faProfile */);
  f.push("" /* modelCode */, "" /* goodTillDate */, "" /* rule80A */, dbl(undefined) /* percentOffset */, "" /* settlingFirm */);
  f.push(0 /* shortSaleSlot */, "" /* designatedLocation */, -1 /* exemptCode */, 0 /* auctionStrategy */);
  f.push(dbl(undefined), dbl(undefined), dbl(undefined) /* startingPrice, stockRefPrice, delta */);
  f.push(dbl(undefined), dbl(undefined) /* stockRangeLower, stockRangeUpper */, "" /* displaySize */);
  f.push(0, 0, 0 /* blockOrder, sweepToFill, allOrNone */, "" /* minQty */, o.ocaType, 0, 0 /* eTradeOnly, firmQuoteOnly */);
  f.push(dbl(undefined) /* nbboPriceCap */, o.parentId, 0 /* triggerMethod */);
  // Volatility params; deltaNeutralOrderType "" (non-empty would announce the delta-neutral fields).
  f.push(dbl(undefined), 0, "", dbl(undefined), 0 /* continuousUpdate */, 0 /* referencePriceType */);
  f.push(dbl(undefined), dbl(undefined) /* trailStopPrice, trailingPercent */, dbl(undefined), "" /* basisPoints, basisPointsType */);
  f.push("" /* comboLegsDescription */, 0, 0 /* combo legs, order combo legs */, 0 /* smart combo routing params */);
  f.push("", "", dbl(undefined) /* scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement */, "" /* hedgeType */);
  f.push(0 /* optOutSmartRouting */, "", "" /* clearingAccount, clearingIntent */, 0 /* notHeld */, 0 /* deltaNeutralContract */);
  f.push("" /* algoStrategy */, 0 /* solicited */, whatIf !== undefined, whatIf ? "PreSubmitted" : o.status);
  f.push(...whatIfFields(sv, whatIf));
  f.push(0, 0 /* randomizeSize, randomizePrice */, 0 /* conditions */);
  f.push("" /* adjustedOrderType */, dbl(undefined) /* triggerPrice */, dbl(undefined), dbl(undefined) /* trailStopPrice, lmtPriceOffset */);
  f.push(dbl(undefined), dbl(undefined), dbl(undefined) /* adjustedStopPrice, adjustedStopLimitPrice, adjustedTrailingAmount */, 0);
  f.push("", "", "" /* softDollarTier name, value, displayName */, dbl(undefined) /* cashQty */);
  f.push(0 /* dontUseAutoPriceForHedge */, 0 /* isOmsContainer */);
  if (sv >= MIN_SV.D_PEG_ORDERS) f.push(0 /* discretionaryUpToLimitPrice */);
  if (sv >= MIN_SV.PRICE_MGMT_ALGO) f.push(0 /* usePriceMgmtAlgo */);
  if (sv >= MIN_SV.DURATION) f.push("" /* duration */);
  if (sv >= MIN_SV.POST_TO_ATS) f.push("" /* postToAts */);
  if (sv >= MIN_SV.AUTO_CANCEL_PARENT) f.push(0 /* autoCancelParent */);
  if (sv >= MIN_SV.PEGBEST_PEGMID_OFFSETS) f.push("", "", dbl(undefined), dbl(undefined), dbl(undefined));
  return f;
}

/** ORDER_STATUS (3): no version from sv 131 (MARKET_CAP_PRICE), then mktCapPrice last. */
export function orderStatus(sv: number, o: SimOrder): Field[] {
  const f: Field[] = [IN.ORDER_STATUS];
  if (sv < MIN_SV.MARKET_CAP_PRICE) f.push(6);
  f.push(o.orderId, o.status, o.filled.toFixed(), o.totalQuantity.sub(o.filled).toFixed(), o.avgFillPrice.toFixed(), o.permId, o.parentId, o.lastFillPrice.toFixed(), o.clientId, "" /* whyHeld */);
  if (sv >= MIN_SV.MARKET_CAP_PRICE) f.push(0);
  return f;
}

/** Execution time as TWS writes it: "yyyyMMdd HH:mm:ss" and its zone. */
export function executionTime(timeMs: number): string {
  return `${formatZoned(timeMs, "America/New_York")} US/Eastern`;
}

/** EXECUTION_DATA (11): reqId -1 for a live fill; no version from sv 136 (LAST_LIQUIDITY). */
export function executionData(sv: number, reqId: number, e: SimExecution): Field[] {
  const f: Field[] = [IN.EXECUTION_DATA];
  if (sv < MIN_SV.LAST_LIQUIDITY) f.push(10);
  f.push(reqId, e.orderId, ...orderContract(e.instrument, e.exchange));
  f.push(e.execId, executionTime(e.timeMs), e.account, e.exchange, e.side, e.shares.toFixed(), e.price.toFixed(), e.permId, e.clientId, 0 /* liquidation */);
  f.push(e.cumQty.toFixed(), e.avgPrice.toFixed(), e.orderRef, "" /* evRule */, dbl(undefined) /* evMultiplier */);
  if (sv >= MIN_SV.MODELS_SUPPORT) f.push("" /* modelCode */);
  if (sv >= MIN_SV.LAST_LIQUIDITY) f.push(e.lastLiquidity);
  return f;
}

/** COMMISSION_REPORT (59, version 1): realizedPNL unset for an execution that only opened. */
export function commissionReport(e: SimExecution): Field[] {
  return [IN.COMMISSION_REPORT, 1, e.execId, e.commission.toFixed(), COMMISSION_CURRENCY, e.realizedPnl === undefined ? dbl(undefined) : money(e.realizedPnl), dbl(undefined), ""];
}

/** COMPLETED_ORDER (101, sv ≥ 150): the decoder's version is "max", so no faProfile and no auctionStrategy. */
export function completedOrder(sv: number, o: SimOrder): Field[] {
  const f: Field[] = [IN.COMPLETED_ORDER, ...orderContract(o.instrument), ...orderHead(o)];
  f.push(o.permId, o.outsideRth, 0 /* hidden */, 0 /* discretionaryAmt */, "" /* goodAfterTime */);
  f.push("", "", "" /* faGroup, faMethod, faPercentage */, "" /* modelCode */, "" /* goodTillDate */, "" /* rule80A */);
  f.push(dbl(undefined) /* percentOffset */, "" /* settlingFirm */, 0, "", -1 /* shortSaleSlot, designatedLocation, exemptCode */);
  f.push(dbl(undefined), dbl(undefined), dbl(undefined), dbl(undefined), dbl(undefined) /* box and peg-to-stock prices */);
  f.push("" /* displaySize */, 0, 0 /* sweepToFill, allOrNone */, "" /* minQty */, o.ocaType, 0 /* triggerMethod */);
  f.push(dbl(undefined), 0, "", dbl(undefined), 0, 0 /* volatility params */, dbl(undefined), dbl(undefined) /* trail params */);
  f.push("" /* comboLegsDescription */, 0, 0, 0 /* combo legs, order combo legs, smart combo routing */);
  f.push("", "", dbl(undefined) /* scale */, "" /* hedgeType */, "", "" /* clearing */, 0 /* notHeld */, 0 /* deltaNeutral */);
  f.push("" /* algoStrategy */, 0 /* solicited */, o.status, 0, 0 /* randomize */, 0 /* conditions */);
  f.push(dbl(undefined), dbl(undefined) /* trailStopPrice, lmtPriceOffset */, dbl(undefined) /* cashQty */, 0, 0 /* dontUseAutoPriceForHedge, isOmsContainer */);
  f.push("" /* autoCancelDate */, o.filled.toFixed(), 0 /* refFuturesConId */, 0 /* autoCancelParent */, "" /* shareholder */);
  f.push(0, 0 /* imbalanceOnly, routeMarketableToBbo */, 0 /* parentPermId */);
  f.push(o.completedTimeMs === undefined ? "" : executionTime(o.completedTimeMs), o.completedStatus);
  if (sv >= MIN_SV.PEGBEST_PEGMID_OFFSETS) f.push("", "", dbl(undefined), dbl(undefined), dbl(undefined));
  return f;
}
