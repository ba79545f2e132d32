/**
 * ModifyOrder at the desk (orderDesk.ts `modify` delegates here). At IB a modification is placeOrder again with
 * the order's id and the whole order with its new terms (a bracket leg keeps its parentId); IB answers with
 * openOrder/orderStatus, or refuses the change with a message (e.g. 110, 201) and the order goes on as it was.
 * The store keeps the request as placed (PlaceOrder's idempotency compares it) and the terms changed since in
 * `amended`, written before IB is told, as a claim is.
 */
import type { Decimal } from "../../domain/decimal.js";
import { maskAccountId } from "../../domain/accountMask.js";
import { accountKindOf, checkOrderRails } from "../../domain/orders/orderRails.js";
import type { OrderRailSettings } from "../../domain/orders/orderRailSettings.js";
import type { OrderRefusal } from "../../domain/orders/orderRefusal.js";
import { orderLegs, type OrderLeg, type OrderRequest } from "../../domain/orders/orderRequest.js";
import { checkOrderRequest } from "../../domain/orders/orderRequestProblems.js";
import type { OrderStatus } from "../../domain/orders/orderStatus.js";
import type { Logger } from "../../log/logger.js";
import { amendedLeg, amendmentToColumn, type OrderAmendment } from "../../store/orderRows.js";
import type { OrderStore, StoredOrder } from "../../store/orderStore.js";
import { IbError } from "../ibErrors.js";
import type { IbOrderMessage } from "./gatewayOrders.js";
import { orderCodeEffect } from "./orderCodes.js";

export type { OrderAmendment } from "../../store/orderRows.js";

/**
 * The states in which IB takes a change. Not Unknown (IB may not have the order: placeOrder with its id would
 * place it anew), not Inactive (refused), not PendingCancel (going away), not the done ones.
 */
const MODIFIABLE: ReadonlySet<OrderStatus> = new Set<OrderStatus>(["PendingSubmit", "PreSubmitted", "Submitted", "ApiPending"]);

/** What the desk lends a modification: its store and connection, its rails as they are now, and IB's ear. */
export interface ModifyContext {
  store: OrderStore;
  connection: { readonly isReady: boolean };
  log: Logger;
  /** The rails with the kill switch as it is now (OrderDesk.rails). */
  rails: OrderRailSettings;
  /** The desk's connection's order id space: an order of another one is IB's to refuse us changing. */
  idSpace: string;
  /** How long to wait for IB's word on the change before answering with what is known (PlaceOrder's wait). */
  ackTimeoutMs?: number;
  now?: () => number;
  /** Sends the order with its new terms to IB under its own order id. */
  send(order: StoredOrder, leg: OrderLeg, parentId: number | undefined): void;
  /** A change IB refused after the answer (its word came after the wait) was undone in the store: tell it. */
  undone?(order: StoredOrder): void;
  /** Resolves with IB's next word on an order id (status, openOrder, message); `done` stops listening. */
  nextWord(orderId: number): { word: Promise<IbOrderMessage>; done(): void };
}

export type ModifyResult = { kind: "not-found" } | { kind: "refused"; refusal: OrderRefusal } | { kind: "modified"; order: StoredOrder; sent: boolean };

/**
 * The order `order` would be with `change` applied, as a request of its own (no bracket: a leg's terms are
 * checked alone, as IB takes them), for the shape check and the rails.
 */
export function amendedRequestOf(order: StoredOrder, change: OrderAmendment): OrderRequest {
  return requestOfLeg(order, amendedLeg(order.leg, change));
}

function requestOfLeg(order: StoredOrder, leg: OrderLeg): OrderRequest {
  const request: OrderRequest = { clientOrderId: order.clientOrderId, account: order.account, instrument: order.request.instrument, side: leg.side, quantity: leg.quantity, type: leg.type, tif: leg.tif, outsideRth: leg.outsideRth };
  if (leg.limitPrice !== undefined) request.limitPrice = leg.limitPrice;
  if (leg.stopPrice !== undefined) request.stopPrice = leg.stopPrice;
  return request;
}

/**
 * Changes an open order of this connection: checked as PlaceOrder checks a new order (shape, then the rails on
 * the new terms), recorded, sent, and answered after IB's next word about it (at most the ack timeout). A change
 * equal to the current terms sends nothing (a retried modification). A change IB refuses within the wait is
 * undone in the store (the order goes on with its earlier terms at IB); its message is the order's last.
 */
export async function modifyOrder(ctx: ModifyContext, account: string, clientOrderId: string, change: OrderAmendment, referencePrice?: Decimal): Promise<ModifyResult> {
  const { store, log } = ctx;
  const now = ctx.now ?? Date.now;
  const order = store.get(account, clientOrderId);
  if (order === undefined) return { kind: "not-found" };
  const id = JSON.stringify(clientOrderId.slice(0, 64));
  if (order.idSpace !== ctx.idSpace) {
    return refused("ORDER_OF_ANOTHER_CONNECTION", "clientOrderId", `clientOrderId ${id} was placed through another Gateway connection (${order.idSpace}): IB lets only that client id change it`);
  }
  if (!MODIFIABLE.has(order.status)) return refused("ORDER_NOT_OPEN", "clientOrderId", `clientOrderId ${id} is ${order.status}: only an open order can be changed`);
  // IB carries no parent's new quantity to its exits (nor a leg's to the others): an entry larger than its
  // exits is partly unprotected, a smaller one leaves exits that overshoot. A bracket keeps its quantity.
  if (order.request.bracket !== undefined && change.quantity !== undefined && !change.quantity.eq(order.leg.quantity)) {
    return refused("BRACKET_QUANTITY_FIXED", "quantity", `clientOrderId ${id} is part of a bracket: its quantity is the bracket's (IB would not change the other orders with it); cancel the bracket and place a new one`);
  }
  const leg = amendedLeg(order.leg, change);
  const request = requestOfLeg(order, leg);
  const shape = checkOrderRequest(request);
  if (!shape.ok) return { kind: "refused", refusal: shape.refusal };
  if (request.quantity.lt(order.filled)) return refused("QUANTITY_BELOW_FILLED", "quantity", `quantity ${request.quantity.toString()} is below what has filled (${order.filled.toString()})`);
  if (sameTerms(leg, order.leg)) return { kind: "modified", order, sent: false };
  const rails = checkOrderRails(request, ctx.rails, { accountKind: accountKindOf(account), ...(referencePrice === undefined ? {} : { referencePrice }) });
  if (!rails.ok) return { kind: "refused", refusal: rails.refusal };
  if (!ctx.connection.isReady) throw new IbError("unavailable", "the Gateway is not connected: the change was not sent");
  const parentId = order.parentClientOrderId === undefined ? undefined : store.get(account, order.parentClientOrderId)?.orderId;
  if (order.parentClientOrderId !== undefined && parentId === undefined) throw new IbError("internal", `the parent of bracket leg ${id} is not in the order store: the change was not sent`);
  const before = order.amended;
  const sentAmendment = amendmentOf(order, leg);
  const amended = store.amend(account, clientOrderId, sentAmendment, now()) ?? order;
  const next = ctx.nextWord(order.orderId);
  let word: IbOrderMessage | undefined;
  let unsent = false;
  // Undone only while the store holds this change (a later ModifyOrder's terms are its own to keep or undo).
  const undo = (): StoredOrder | undefined => {
    const current = store.get(account, clientOrderId);
    if (current === undefined || amendmentToColumn(current.amended) !== amendmentToColumn(sentAmendment)) return undefined;
    log.info({ audit: "modify-refused", clientOrderId, orderId: order.orderId, code: current.lastError?.code }, "IB refused the order change: the earlier terms stand");
    return store.amend(account, clientOrderId, before, now());
  };
  try {
    try {
      ctx.send(amended, amended.leg, parentId);
    } catch (err) {
      // Not sent: the store keeps no terms IB was never told.
      store.amend(account, clientOrderId, before, now());
      unsent = true;
      throw err;
    }
    log.info({ audit: "modify", clientOrderId, orderId: order.orderId, account: maskAccountId(account), ...termsOf(amended.leg) }, "order change sent to IB");
    word = await Promise.race([next.word, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ctx.ackTimeoutMs ?? 5_000).unref())]);
  } finally {
    if (word !== undefined || unsent) next.done();
    else {
      // No word within the wait: IB's word, when it comes, may still refuse the change.
      void next.word.then((late) => {
        next.done();
        if (!refusedByIb(late)) return;
        const undone = undo();
        if (undone !== undefined) ctx.undone?.(undone);
      });
    }
  }
  const after = store.get(account, clientOrderId) ?? amended;
  if (!refusedByIb(word)) return { kind: "modified", order: after, sent: true };
  // IB keeps the order as it was (code 104, 110, 201…): so does the store; the message says why.
  return { kind: "modified", order: undo() ?? after, sent: true };
}

function refused(reason: string, field: string, message: string): ModifyResult {
  return { kind: "refused", refusal: { reason, field, message } };
}

/**
 * Whether IB's word after the change refuses it. The word itself, not the order's last message compared with
 * the one before: a refusal repeating the order's last message (a second off-tick price) is a refusal too.
 */
function refusedByIb(word: IbOrderMessage | undefined): boolean {
  if (word?.type !== "message" || CANCEL_REFUSALS.has(word.code)) return false;
  const effect = orderCodeEffect(word.code);
  return effect === "rejected" || effect === "change-refused";
}

/** IB's refusals of a cancel (orderCodes.ts): about a cancel sent meanwhile, not about the change. */
const CANCEL_REFUSALS: ReadonlySet<number> = new Set([161, 10147, 10148]);

/** The terms of `leg` that differ from the order as placed (undefined: none). */
function amendmentOf(order: StoredOrder, leg: OrderLeg): OrderAmendment | undefined {
  const placed = orderLegs(order.request).find((l) => l.role === order.role) ?? order.leg;
  const amendment: OrderAmendment = {};
  if (!leg.quantity.eq(placed.quantity)) amendment.quantity = leg.quantity;
  if (leg.limitPrice !== undefined && !sameDecimal(leg.limitPrice, placed.limitPrice)) amendment.limitPrice = leg.limitPrice;
  if (leg.stopPrice !== undefined && !sameDecimal(leg.stopPrice, placed.stopPrice)) amendment.stopPrice = leg.stopPrice;
  if (leg.tif !== placed.tif) amendment.tif = leg.tif;
  if (leg.outsideRth !== placed.outsideRth) amendment.outsideRth = leg.outsideRth;
  return Object.keys(amendment).length === 0 ? undefined : amendment;
}

function sameTerms(a: OrderLeg, b: OrderLeg): boolean {
  return a.quantity.eq(b.quantity) && sameDecimal(a.limitPrice, b.limitPrice) && sameDecimal(a.stopPrice, b.stopPrice) && a.tif === b.tif && a.outsideRth === b.outsideRth;
}

function sameDecimal(a: Decimal | undefined, b: Decimal | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.eq(b);
}

/** A leg's terms for the audit line. */
function termsOf(leg: OrderLeg): Record<string, string | boolean> {
  return { quantity: leg.quantity.toString(), ...(leg.limitPrice === undefined ? {} : { limitPrice: leg.limitPrice.toString() }), ...(leg.stopPrice === undefined ? {} : { stopPrice: leg.stopPrice.toString() }), tif: leg.tif, outsideRth: leg.outsideRth };
}
