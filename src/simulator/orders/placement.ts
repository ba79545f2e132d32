/**
 * From a placeOrder request to an order, or to IB's refusal (code and text as TWS sends them): 200 unknown
 * contract, 103 a used order id, 110 a price off the contract's tick, 201 insufficient funds, 321/387 an
 * order the simulator does not take. And the what-if answer (margin and commission impact).
 *
 * Funds rule (documented in the README): the part of an order that opens or increases a position needs
 * its notional (quantity × price × multiplier; futures: the initial margin) within the account's
 * AvailableFunds; resting orders reserve nothing. Margin rule: initial margin 25 % of a stock (option,
 * bond, fund) position's value, 100 % of crypto, USD 15,000 per futures contract (as account.ts values
 * the account); maintenance 80 % of initial.
 */
import { Decimal } from "decimal.js";
import { multiplier, type AccountState, type SimAccounts } from "../account.js";
import type { IbError } from "../errors.js";
import type { InstrumentSpec, Market } from "../market/types.js";
import { toContractQuery } from "../messages/inbound.js";
import type { PlaceOrderRequest } from "../messages/inboundOrders.js";
import { orderCommission } from "./commission.js";
import { onTick } from "./matching.js";
import type { OrderAction, SimOrderType, TimeInForce } from "./orderTypes.js";

export const ORDER_ERR = {
  DUPLICATE_ORDER_ID: { code: 103, text: "Duplicate order id" },
  PRICE_INCREMENT: { code: 110, text: "The price does not conform to the minimum price variation for this contract." },
  NO_SECDEF: { code: 200, text: "No security definition has been found for the request" },
  REJECTED: { code: 201, text: "Order rejected - reason:" },
  CANCELLED: { code: 202, text: "Order Canceled - reason:" },
  NOT_CANCELLABLE: { code: 161, text: "Cancel attempted when order is not in a cancellable state. Order permId =" },
  VALIDATION: { code: 321, text: "Error validating request:" },
  /** Advisory: the order stands (e.g. it waits for its market to open). */
  ORDER_MESSAGE: { code: 399, text: "Order Message:" },
  UNSUPPORTED_TYPE: { code: 387, text: "Unsupported order type for this exchange and security type." },
  CANCEL_NOT_FOUND: { code: 10147, text: "OrderId {id} that needs to be cancelled is not found." },
} as const;

export interface Refusal {
  error: IbError;
  suffix: string;
}

const TYPES: readonly SimOrderType[] = ["MKT", "LMT", "STP", "STP LMT"];
const TIFS: readonly TimeInForce[] = ["DAY", "GTC", "IOC"];

export interface ValidOrder {
  instrument: InstrumentSpec;
  account: AccountState;
  action: OrderAction;
  quantity: Decimal;
  orderType: SimOrderType;
  lmtPrice: Decimal | undefined;
  auxPrice: Decimal | undefined;
  tif: TimeInForce;
}

const refuse = (error: IbError, suffix = ""): Refusal => ({ error, suffix });

/** Checks the request's contract, account, side, quantity, type, time in force and prices. */
export function validateOrder(req: PlaceOrderRequest, market: Market, accounts: SimAccounts): ValidOrder | Refusal {
  const found = market.findContracts(toContractQuery(req.contract));
  if (found.length !== 1) return refuse(ORDER_ERR.NO_SECDEF);
  const instrument = found[0] as InstrumentSpec;
  // An index is a value, not a tradable instrument (IB has no order routing for IND).
  if (instrument.secType === "IND") return refuse(ORDER_ERR.REJECTED, `${instrument.symbol} is an index and cannot be traded.`);
  const account = req.account === "" ? accounts.accounts[0] : accounts.accounts.find((a) => a.id === req.account);
  if (!account) return refuse(ORDER_ERR.VALIDATION, `-'bB' : cause - Account ${req.account} is not managed by this login`);
  if (req.action !== "BUY" && req.action !== "SELL") return refuse(ORDER_ERR.VALIDATION, `-'bO' : cause - Invalid action ${req.action}`);
  let quantity: Decimal;
  try {
    quantity = new Decimal(req.totalQuantity || "0");
  } catch {
    quantity = new Decimal(0);
  }
  if (!quantity.isFinite() || quantity.lte(0)) return refuse(ORDER_ERR.VALIDATION, `-'bO' : cause - The order quantity must be positive`);
  if (!quantity.div(instrument.sizeIncrement).isInteger()) {
    return refuse(ORDER_ERR.REJECTED, `The order size is not a multiple of the size increment ${instrument.sizeIncrement}.`);
  }
  const orderType = (req.orderType === "STPLMT" ? "STP LMT" : req.orderType) as SimOrderType;
  if (!TYPES.includes(orderType)) return refuse(ORDER_ERR.UNSUPPORTED_TYPE);
  const tif = (req.tif === "" ? "DAY" : req.tif) as TimeInForce;
  if (!TIFS.includes(tif)) return refuse(ORDER_ERR.VALIDATION, `-'bO' : cause - Unsupported time in force ${req.tif}`);
  const lmtPrice = req.lmtPrice === undefined ? undefined : new Decimal(req.lmtPrice);
  const auxPrice = req.auxPrice === undefined ? undefined : new Decimal(req.auxPrice);
  const needsLmt = orderType === "LMT" || orderType === "STP LMT";
  const needsAux = orderType === "STP" || orderType === "STP LMT";
  if (needsLmt && (!lmtPrice || lmtPrice.lte(0))) return refuse(ORDER_ERR.VALIDATION, `-'bO' : cause - Missing or invalid limit price`);
  if (needsAux && (!auxPrice || auxPrice.lte(0))) return refuse(ORDER_ERR.VALIDATION, `-'bO' : cause - Missing or invalid stop price`);
  for (const p of [needsLmt ? lmtPrice : undefined, needsAux ? auxPrice : undefined]) {
    if (p && !onTick(p, instrument.minTick)) return refuse(ORDER_ERR.PRICE_INCREMENT);
  }
  return {
    instrument,
    account,
    action: req.action,
    quantity,
    orderType,
    lmtPrice: needsLmt ? lmtPrice : undefined,
    auxPrice: needsAux ? auxPrice : undefined,
    tif,
  };
}

/** The price an order's funds and what-if are computed at: its limit, its stop, or the side it would take. */
export function referencePrice(v: ValidOrder, market: Market, nowMs: number): Decimal {
  if (v.lmtPrice) return v.lmtPrice;
  if (v.auxPrice) return v.auxPrice;
  const q = market.quote(v.instrument, nowMs);
  return new Decimal(v.action === "BUY" ? q.ask : q.bid);
}

/** Initial margin of a position of `quantity` at `price` (the rule in the header). */
export function initialMargin(inst: InstrumentSpec, quantity: Decimal, price: Decimal): Decimal {
  const q = quantity.abs();
  if (inst.secType === "FUT") return q.mul(15000);
  const value = q.mul(price).mul(multiplier(inst));
  return inst.secType === "CRYPTO" ? value : value.mul("0.25");
}

/** The position before and after the order, and the part of it that opens or increases a position. */
function positionChange(v: ValidOrder): { before: Decimal; after: Decimal; opening: Decimal } {
  const before = v.account.positions.find((p) => p.instrument.conId === v.instrument.conId)?.quantity ?? new Decimal(0);
  const signed = v.action === "BUY" ? v.quantity : v.quantity.neg();
  const closable = !before.isZero() && before.isNeg() !== signed.isNeg() ? Decimal.min(before.abs(), v.quantity) : new Decimal(0);
  return { before, after: before.add(signed), opening: v.quantity.sub(closable) };
}

/** 201 when the opening part's notional (futures: margin) exceeds AvailableFunds. */
export function checkFunds(v: ValidOrder, accounts: SimAccounts, market: Market, nowMs: number): Refusal | undefined {
  const { opening } = positionChange(v);
  if (opening.isZero()) return undefined;
  const price = referencePrice(v, market, nowMs);
  const required = v.instrument.secType === "FUT" ? initialMargin(v.instrument, opening, price) : opening.mul(price).mul(multiplier(v.instrument));
  const val = accounts.value(v.account.id, nowMs);
  if (!val) return undefined;
  const available = val.netLiquidation.sub(val.initMargin);
  if (required.lte(available)) return undefined;
  return refuse(
    ORDER_ERR.REJECTED,
    `YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [${val.netLiquidation.toFixed(2)} USD] MUST EXCEED THE INITIAL MARGIN [${required.add(val.initMargin).toFixed(2)} USD]`,
  );
}

/** What-if numbers of openOrder's OrderState (IB: margin before/change/after, equity with loan, commission). */
export interface WhatIfState {
  initMarginBefore: Decimal;
  maintMarginBefore: Decimal;
  equityWithLoanBefore: Decimal;
  initMarginChange: Decimal;
  maintMarginChange: Decimal;
  equityWithLoanChange: Decimal;
  initMarginAfter: Decimal;
  maintMarginAfter: Decimal;
  equityWithLoanAfter: Decimal;
  commission: Decimal;
}

export function whatIf(v: ValidOrder, accounts: SimAccounts, market: Market, nowMs: number): WhatIfState {
  const val = accounts.value(v.account.id, nowMs);
  const price = referencePrice(v, market, nowMs);
  const { before, after } = positionChange(v);
  const initBefore = val?.initMargin ?? new Decimal(0);
  const initChange = initialMargin(v.instrument, after, price).sub(initialMargin(v.instrument, before, price));
  const ewl = val?.netLiquidation ?? new Decimal(0);
  const commission = orderCommission(v.instrument, v.quantity, v.quantity.mul(price).mul(multiplier(v.instrument)));
  return {
    initMarginBefore: initBefore,
    maintMarginBefore: initBefore.mul("0.8"),
    equityWithLoanBefore: ewl,
    initMarginChange: initChange,
    maintMarginChange: initChange.mul("0.8"),
    equityWithLoanChange: commission.neg(),
    initMarginAfter: initBefore.add(initChange),
    maintMarginAfter: initBefore.add(initChange).mul("0.8"),
    equityWithLoanAfter: ewl.sub(commission),
    commission,
  };
}
