/**
 * The matching engine: orders' life from placeOrder to Filled or Cancelled, on the simulator's own market.
 *
 * - MKT takes the book level by level (each level one execution); what the book could not give waits for
 *   the book of the next check. LMT takes the levels at or better than its limit at once, then rests and
 *   fills when the book crosses it. STP / STP LMT wait (PreSubmitted) until a trade or the quote touches
 *   the stop, then act as MKT / LMT. IOC: what the first attempt fills, the rest is cancelled.
 * - Orders on a closed market wait (PreSubmitted) unless outsideRth lets them work in extended hours; a
 *   DAY order placed while closed works in the next session. DAY orders are cancelled when their market
 *   closes after having been open (the session's end, for their hours); GTC orders stay.
 * - Brackets: an order sent with transmit=false is staged (no message) until an order of its group is
 *   sent with transmit=true (IB clients send the parent and the first child staged, the last child
 *   transmitting). Children are held (PreSubmitted) until their parent is filled; cancelling the parent
 *   cancels them. Children of one parent are one-cancels-other, as IB links a bracket's legs.
 * - OCA (IB's ocaType 1): the first fill of an order cancels the others of its group.
 * - Orders meet the model's book, never each other; within one check, what an order took from a level is
 *   gone for the next order on that instrument (the book refills at the next instant).
 *
 * `check(now)` runs on the Gateway's own timer (not a session's), so orders fill while no client is
 * connected; it costs nothing without working orders and one book per instrument that has some.
 */
import { Decimal } from "decimal.js";
import { multiplier, type SimAccounts } from "../account.js";
import type { DepthLevel, DepthSnapshot, InstrumentSpec, Market, Quote, Trade } from "../market/types.js";
import type { PlaceOrderRequest } from "../messages/inboundOrders.js";
import { orderCommission } from "./commission.js";
import { applyExecution } from "./fillAccounting.js";
import { oppositeSide, stopTouched, takeBook, workingLimit, type Fill } from "./matching.js";
import { OrderBook } from "./orderBook.js";
import { isDone, isWorking, type OrderAction, type OrderEvent, type SimExecution, type SimOrder, type SimOrderStatus } from "./orderTypes.js";
import { checkFunds, ORDER_ERR, validateOrder, whatIf, type Refusal, type WhatIfState } from "./placement.js";

/** Rows of book an order can take at one instant. */
const BOOK_ROWS = 10;

export type PlaceResult =
  | { kind: "refused"; refusal: Refusal }
  | { kind: "whatIf"; order: SimOrder; state: WhatIfState }
  | { kind: "accepted"; order: SimOrder }
  | { kind: "modified"; order: SimOrder };

export type CancelResult = { kind: "cancelled" } | { kind: "refused"; refusal: Refusal };

/** The market around one instrument at one check, computed only when an order there needs it. */
class MarketView {
  private quoteV: Quote | undefined;
  private bookV: DepthSnapshot | undefined;
  private readonly taken = new Map<string, Decimal>();
  constructor(
    private readonly market: Market,
    readonly instrument: InstrumentSpec,
    readonly nowMs: number,
  ) {}
  quote(): Quote {
    return (this.quoteV ??= this.market.quote(this.instrument, this.nowMs));
  }
  book(): DepthSnapshot {
    return (this.bookV ??= this.market.depth(this.instrument, this.nowMs, BOOK_ROWS));
  }
  /** The side an order takes, less what earlier orders of this check took from it (no level is sold twice). */
  levels(action: OrderAction): DepthLevel[] {
    return oppositeSide(this.book(), action).flatMap((l) => {
      const left = new Decimal(l.size).sub(this.taken.get(`${action}:${l.price}`) ?? 0);
      return left.gt(0) ? [{ ...l, size: left.toFixed() }] : [];
    });
  }
  take(action: OrderAction, f: Fill): void {
    const key = `${action}:${f.price.toFixed()}`;
    this.taken.set(key, (this.taken.get(key) ?? new Decimal(0)).add(f.size));
  }
  trades(fromMs: number): Trade[] {
    return fromMs < this.nowMs ? this.market.trades(this.instrument, fromMs, this.nowMs) : [];
  }
  isOpen(outsideRth: boolean): boolean {
    return this.market.isOpen(this.instrument, this.nowMs, !outsideRth);
  }
}

export class OrderEngine {
  readonly book = new OrderBook();
  private readonly listeners: ((e: OrderEvent) => void)[] = [];

  constructor(
    private readonly market: Market,
    private readonly accounts: SimAccounts,
  ) {}

  onEvent(listener: (e: OrderEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: OrderEvent): void {
    for (const l of this.listeners) l(e);
  }

  // --- requests ---------------------------------------------------------------------------------------

  place(clientId: number, req: PlaceOrderRequest, nowMs: number): PlaceResult {
    const v = validateOrder(req, this.market, this.accounts);
    this.book.received.push({
      clientId,
      account: "error" in v ? req.account || (this.accounts.accounts[0]?.id ?? "") : v.account.id,
      orderId: req.orderId,
      orderRef: req.orderRef,
      whatIf: req.whatIf,
      atMs: nowMs,
    });
    const existing = this.book.get(clientId, req.orderId);
    if (existing && isDone(existing) && !req.whatIf) return { kind: "refused", refusal: { error: ORDER_ERR.DUPLICATE_ORDER_ID, suffix: "" } };
    if ("error" in v) return { kind: "refused", refusal: v };
    if (!req.whatIf) {
      const funds = checkFunds(v, this.accounts, this.market, nowMs);
      if (funds) return { kind: "refused", refusal: funds };
    }
    const order: SimOrder = {
      orderId: req.orderId,
      clientId,
      permId: existing?.permId ?? 0,
      account: v.account.id,
      instrument: v.instrument,
      action: v.action,
      totalQuantity: v.quantity,
      orderType: v.orderType,
      lmtPrice: v.lmtPrice,
      auxPrice: v.auxPrice,
      tif: v.tif,
      ocaGroup: req.ocaGroup,
      ocaType: req.ocaType,
      orderRef: req.orderRef,
      parentId: req.parentId,
      outsideRth: req.outsideRth,
      transmitted: req.transmit,
      status: "PreSubmitted",
      triggered: false,
      filled: new Decimal(0),
      avgFillPrice: new Decimal(0),
      lastFillPrice: new Decimal(0),
      commission: new Decimal(0),
      sawOpen: false,
      checkedToMs: nowMs,
      completedTimeMs: undefined,
      completedStatus: "",
    };
    if (req.whatIf) return { kind: "whatIf", order, state: whatIf(v, this.accounts, this.market, nowMs) };
    if (existing) return this.modify(existing, order, nowMs);
    if (order.parentId !== 0) {
      const parent = this.book.get(clientId, order.parentId);
      if (!parent || (isDone(parent) && parent.status !== "Filled")) {
        return { kind: "refused", refusal: { error: ORDER_ERR.REJECTED, suffix: "Parent order is not found or no longer working." } };
      }
    }
    order.permId = this.book.allocatePermId();
    this.book.add(order);
    if (order.transmitted) this.transmit(order, nowMs);
    return { kind: "accepted", order };
  }

  /** placeOrder with the id of a working order: its price, quantity and time in force change. */
  private modify(existing: SimOrder, next: SimOrder, nowMs: number): PlaceResult {
    if (next.totalQuantity.lt(existing.filled)) {
      return { kind: "refused", refusal: { error: ORDER_ERR.REJECTED, suffix: "The order quantity cannot be below the filled quantity." } };
    }
    Object.assign(existing, {
      totalQuantity: next.totalQuantity,
      lmtPrice: next.lmtPrice,
      auxPrice: next.auxPrice,
      tif: next.tif,
      orderRef: next.orderRef,
      outsideRth: next.outsideRth,
    });
    if (!existing.transmitted && next.transmitted) this.transmit(existing, nowMs);
    else if (existing.transmitted) {
      this.emit({ type: "status", order: existing });
      this.work(existing, new MarketView(this.market, existing.instrument, nowMs), false);
    }
    return { kind: "modified", order: existing };
  }

  cancel(clientId: number, orderId: number, nowMs: number, reason = "Cancelled by Trader"): CancelResult {
    const o = this.book.get(clientId, orderId);
    if (!o) return { kind: "refused", refusal: { error: { code: ORDER_ERR.CANCEL_NOT_FOUND.code, text: ORDER_ERR.CANCEL_NOT_FOUND.text.replace("{id}", String(orderId)) }, suffix: "" } };
    if (!isWorking(o)) return { kind: "refused", refusal: { error: ORDER_ERR.NOT_CANCELLABLE, suffix: ` ${o.permId}` } };
    this.cancelOrder(o, nowMs, reason);
    return { kind: "cancelled" };
  }

  /** reqGlobalCancel: every working order of every client. */
  globalCancel(nowMs: number): void {
    for (const o of this.book.working()) if (isWorking(o)) this.cancelOrder(o, nowMs, "Cancelled by Global Cancel");
  }

  // --- the engine -------------------------------------------------------------------------------------

  /** One check of every working order against the market at `nowMs`. */
  check(nowMs: number): void {
    if (this.book.workingCount === 0) return;
    const working = this.book.working();
    const views = new Map<number, MarketView>();
    for (const o of working) {
      if (!isWorking(o)) continue; // cancelled by an earlier order's fill in this pass
      let view = views.get(o.instrument.conId);
      if (!view) views.set(o.instrument.conId, (view = new MarketView(this.market, o.instrument, nowMs)));
      try {
        this.work(o, view, false);
      } catch (e) {
        // One order the model cannot serve must not stop the others (nor fail again every check).
        this.cancelOrder(o, nowMs, `Cancelled (simulator error: ${String(e)})`);
      }
    }
  }

  /** Sends a staged group: the order, its parent and the parent's staged children. */
  private transmit(o: SimOrder, nowMs: number): void {
    const parent = o.parentId !== 0 ? this.book.get(o.clientId, o.parentId) : undefined;
    const group = parent ? [parent, ...this.book.children(parent)] : [o, ...this.book.children(o)];
    for (const g of group) {
      if (g.transmitted && g !== o) continue;
      if (isDone(g)) continue;
      g.transmitted = true;
      g.checkedToMs = nowMs;
      g.status = this.restingStatus(g, new MarketView(this.market, g.instrument, nowMs));
      this.emit({ type: "status", order: g });
    }
    for (const g of group) if (g.transmitted && isWorking(g)) this.work(g, new MarketView(this.market, g.instrument, nowMs), true);
  }

  private held(o: SimOrder): boolean {
    if (!o.transmitted) return true;
    if (o.parentId === 0) return false;
    return this.book.get(o.clientId, o.parentId)?.status !== "Filled";
  }

  /** PreSubmitted while held, untriggered or outside its hours; Submitted while working at the exchange. */
  private restingStatus(o: SimOrder, view: MarketView): SimOrderStatus {
    if (this.held(o)) return "PreSubmitted";
    if ((o.orderType === "STP" || o.orderType === "STP LMT") && !o.triggered) return "PreSubmitted";
    return view.isOpen(o.outsideRth) ? "Submitted" : "PreSubmitted";
  }

  /** One attempt of one order: expiry, trigger, fills, IOC. `first`: the attempt at placement. */
  private work(o: SimOrder, view: MarketView, first: boolean): void {
    if (this.held(o)) return;
    const now = view.nowMs;
    const open = view.isOpen(o.outsideRth);
    if (o.tif === "DAY" && o.sawOpen && !open) {
      this.cancelOrder(o, now, "Cancelled (DAY order expired)");
      return;
    }
    if (open) o.sawOpen = true;
    if (open && (o.orderType === "STP" || o.orderType === "STP LMT") && !o.triggered) {
      if (stopTouched(o.action, o.auxPrice as Decimal, view.quote(), view.trades(o.checkedToMs))) o.triggered = true;
    }
    o.checkedToMs = now;
    const status = this.restingStatus(o, view);
    if (status !== o.status) {
      o.status = status;
      this.emit({ type: "status", order: o });
    }
    if (status === "Submitted") {
      const remaining = o.totalQuantity.sub(o.filled);
      const rested = !first && o.orderType === "LMT";
      const fills = takeBook(view.levels(o.action), o.action, remaining, workingLimit(o), rested ? 1 : 2);
      for (const f of fills) {
        if (!isWorking(o)) break;
        view.take(o.action, f);
        this.fill(o, f, now);
      }
    }
    if (o.tif === "IOC" && isWorking(o) && (status === "Submitted" || !open)) this.cancelOrder(o, now, "Cancelled (IOC remainder)");
  }

  private fill(o: SimOrder, f: Fill, nowMs: number): void {
    const inst = o.instrument;
    const cum = o.filled.add(f.size);
    const avg = o.avgFillPrice.mul(o.filled).add(f.price.mul(f.size)).div(cum);
    const total = orderCommission(inst, cum, avg.mul(cum).mul(multiplier(inst)));
    const execution: SimExecution = {
      execId: execId(o, this.book.executions.filter((e) => e.permId === o.permId).length + 1, nowMs),
      orderId: o.orderId,
      clientId: o.clientId,
      permId: o.permId,
      account: o.account,
      instrument: inst,
      timeMs: nowMs,
      side: o.action === "BUY" ? "BOT" : "SLD",
      shares: f.size,
      price: f.price,
      cumQty: cum,
      avgPrice: avg.toDecimalPlaces(8),
      orderRef: o.orderRef,
      exchange: inst.primaryExch && inst.exchange === "SMART" ? inst.primaryExch : inst.exchange,
      commission: total.sub(o.commission),
      realizedPnl: undefined,
      lastLiquidity: f.liquidity,
    };
    const acct = this.accounts.accounts.find((a) => a.id === o.account);
    if (acct) execution.realizedPnl = applyExecution(acct, execution);
    this.book.executions.push(execution);
    o.filled = cum;
    o.avgFillPrice = execution.avgPrice;
    o.lastFillPrice = f.price;
    o.commission = total;
    const done = cum.gte(o.totalQuantity);
    if (done) {
      o.status = "Filled";
      o.completedTimeMs = nowMs;
      o.completedStatus = "Filled";
      this.book.settle(o);
    }
    this.emit({ type: "execution", order: o, execution });
    this.emit({ type: "status", order: o });
    // OCA type 1 (and a bracket's legs): the first fill cancels the others.
    for (const peer of this.book.ocaPeers(o)) this.cancelOrder(peer, nowMs, "Cancelled by OCA");
    if (done) {
      for (const child of this.book.children(o)) {
        if (!isWorking(child) || !child.transmitted) continue;
        child.checkedToMs = nowMs; // a child's stop watches the market from its activation on
        this.work(child, new MarketView(this.market, child.instrument, nowMs), true);
      }
    }
  }

  private cancelOrder(o: SimOrder, nowMs: number, reason: string): void {
    if (!isWorking(o)) return;
    o.status = "Cancelled";
    o.completedTimeMs = nowMs;
    o.completedStatus = reason;
    this.book.settle(o);
    this.emit({ type: "cancelled", order: o, reason });
    for (const child of this.book.children(o)) if (child.status !== "Filled") this.cancelOrder(child, nowMs, "Cancelled (parent cancelled)");
  }
}

const hex = (n: number, width: number): string => (n >>> 0).toString(16).padStart(width, "0").slice(-width);

/** IB's execId shape, "0000e0d5.6554ab3c.01.01": the order's permId, the fill's second, the fill's number. */
function execId(o: SimOrder, n: number, nowMs: number): string {
  return `${hex(o.permId, 8)}.${hex(Math.floor(nowMs / 1000), 8)}.${hex(n, 2)}.01`;
}
