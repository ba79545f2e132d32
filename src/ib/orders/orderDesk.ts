import { EventEmitter } from "node:events";
import type { OrderState } from "@stoqey/ib";
import { dec, type Decimal } from "../../domain/decimal.js";
import { orderLegs, type OrderLeg, type OrderRequest } from "../../domain/orders/orderRequest.js";
import { accountKindOf, checkOrderRails } from "../../domain/orders/orderRails.js";
import type { OrderRailSettings } from "../../domain/orders/orderRailSettings.js";
import type { OrderRefusal } from "../../domain/orders/orderRefusal.js";
import { OrderStatusDeduplicator } from "../../domain/orders/orderStatusDeduplicator.js";
import type { Logger } from "../../log/logger.js";
import { maskAccountId } from "../../domain/accountMask.js";
import { isBusy } from "../../store/database.js";
import { ClientOrderIdReusedError, retryWhileBusy, type ClaimResult, type KillSwitchState, type OrderStore, type StoredExecution, type StoredOrder } from "../../store/orderStore.js";

export type { KillSwitchState, OrderStore, StoredExecution, StoredOrder } from "../../store/orderStore.js";
import type { GatewayConnection } from "../connection/gatewayConnection.js";
import { FIRST_REQUEST_ID } from "../connection/requestRouter.js";
import { IbError } from "../ibErrors.js";
import type { GatewayOrders, IbOrderMessage } from "./gatewayOrders.js";
import { commissionOf, executionOf, ibDecimal, statusOf } from "./ibOrderFacts.js";
import { orderCodeEffect } from "./orderCodes.js";
import { isOwnWord, reconcileOrders } from "./orderReconciler.js";
import { modifyOrder, type OrderAmendment } from "./orderModify.js";
import { contractOf, ibOrderOf, maskAccounts, optional, stateKey } from "./ibOrderTerms.js";
import type { OrderCommission, OrderDeskEvent, TradingState } from "./orderDeskEvents.js";

export type { OrderCommission, OrderDeskEvent, TradingState } from "./orderDeskEvents.js";

/** An order refused before IB saw it: a rail, the kill switch, a reused client order id. */
export class OrderRefusedError extends Error {
  constructor(readonly refusal: OrderRefusal) {
    super(refusal.message);
  }
}

/** How long PlaceOrder waits for the run's first reconciliation before answering UNAVAILABLE. */
const RECONCILE_WAIT_MS = 10_000;

export interface OrderDeskOptions {
  gateway: GatewayOrders;
  connection: GatewayConnection;
  store: OrderStore;
  rails: OrderRailSettings;
  log: Logger;
  /** How long PlaceOrder waits for IB's first word on a new order before answering with what it knows. */
  ackTimeoutMs?: number;
  now?: () => number;
}

export interface PlaceResult {
  orders: StoredOrder[];
  /** The client order id was placed before: nothing was sent now. */
  alreadyPlaced: boolean;
}

/** How long a ModifyOrder waits at most for IB's word on the change before it on the same order (orderDesk `modify`). */
const LATE_WORD_WAIT_MS = 5_000;

/**
 * Orders of one Gateway login: the rails checked, the order claimed in the store (durable, idempotent by the
 * client order id) before IB is told, IB's messages about it recorded as they come (duplicates dropped,
 * executions joined with their commissions), what happened while the Gateway was away reconciled on every
 * (re)connect. Every change is an event (`event`), in the order IB said it.
 */
export class OrderDesk extends EventEmitter<{ event: [OrderDeskEvent] }> {
  private dedupe = new OrderStatusDeduplicator();
  /** Our client order ids IB holds (open, completed or filled today), as the last reconciliation and IB's messages said. */
  private readonly atIb = new Set<string>();
  /** The first reconciliation of this run: until it is done, what IB already holds is not known. */
  private firstReconcile: Promise<void>;
  private reconciled!: () => void;
  private reconciling = false;
  private reconcileAgain = false;
  /** CancelAllOrders came while the Gateway was away: IB's global cancel is sent when it is back. */
  private globalCancelOwed = false;
  /** Orders placed in this run waiting for IB's first word, by IB order id. */
  private readonly waiting = new Map<number, Set<(word: IbOrderMessage) => void>>();
  /** ModifyOrder calls in flight, by account and client order id: the next waits for the one before. */
  private readonly modifying = new Map<string, Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly options: OrderDeskOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.firstReconcile = new Promise((resolve) => (this.reconciled = resolve));
    options.gateway.on("message", (m) => {
      // Inside @stoqey/ib's decoder: a failure here must not take the connection (or the process) down.
      try {
        this.onMessage(m);
      } catch (err) {
        options.log.error({ err, message: m.type }, "could not record IB's message about an order: reconciling again");
        void this.reconcile();
      }
    });
    options.connection.on("lost", () => options.gateway.abandonSnapshot());
    // What changed while away: reconciled before anything else is believed about open orders.
    options.connection.on("ready", () => {
      // IB says it all again after a reconnect: nothing it says then is a duplicate of before.
      this.dedupe = new OrderStatusDeduplicator();
      if (this.globalCancelOwed && this.options.store.killSwitch().engaged) {
        this.globalCancelOwed = false;
        options.gateway.cancelAll();
        options.log.warn({ audit: "cancel-all-sent" }, "the Gateway is back: IB's global cancel owed by the kill switch is sent");
      }
      void this.reconcile();
    });
    // IB's servers back (1101, 1102): the Gateway kept the socket, but fills and cancels meanwhile may not have been said.
    options.connection.on("ibConnectivity", ({ up }) => {
      if (up && options.connection.isReady) void this.reconcile();
    });
    for (const order of options.store.listOpen()) if (order.idSpace === this.idSpace(order.account)) options.gateway.adopt(order.orderId);
    // Made on a connection already up (its "ready" was before): reconciled now.
    if (options.connection.isReady) void this.reconcile();
  }

  /** Reads of the order store (the API layer reads orders through the desk, never the store). */
  order(account: string, clientOrderId: string): StoredOrder | undefined {
    return this.options.store.get(account, clientOrderId);
  }

  orderByPermId(permId: number): StoredOrder | undefined {
    return this.options.store.getByPermId(permId);
  }

  /** Orders not done of the account, oldest first; or those changed since `sinceMs`, newest first. */
  orders(account: string, query: { openOnly: true } | { sinceMs: number; limit: number }): StoredOrder[] {
    return "openOnly" in query ? this.options.store.listOpen(account) : this.options.store.listRecent(query.sinceMs, { account, limit: query.limit });
  }

  executions(account: string, query: { sinceMs: number; limit: number; clientOrderId?: string }): StoredExecution[] {
    return this.options.store.listExecutions(query.sinceMs, { account, limit: query.limit, ...(query.clientOrderId === undefined ? {} : { clientOrderId: query.clientOrderId }) });
  }

  killSwitch(): KillSwitchState {
    return this.options.store.killSwitch();
  }

  /** Whether new orders are accepted now, and what holds them back. */
  tradingState(): TradingState {
    const account = this.account;
    return { enabled: this.options.rails.enabled, allowLive: this.options.rails.allowLive, account, isPaper: account !== undefined && accountKindOf(account) === "paper", killSwitch: this.killSwitch() };
  }

  /** The commissions of an order's fills so far; undefined before IB's first commission report. */
  commissionOf(order: StoredOrder): OrderCommission | undefined {
    const costs = this.options.store.listExecutions(0, { account: order.account, clientOrderId: order.clientOrderId, limit: 1_000 }).flatMap((e) => (e.commission === undefined ? [] : [e.commission]));
    return costs.length === 0 ? undefined : { total: costs.reduce((sum, c) => sum.plus(c.commission), dec(0)), currency: costs[0]!.currency };
  }

  /** What a client joining StreamOrders gets first: the open orders as they are now, and the trading status. */
  currentState(account: string): OrderDeskEvent[] {
    return [...this.options.store.listOpen(account).map((order) => this.orderEvent(order, false)), { type: "trading", state: this.tradingState() }];
  }

  /** The kill switch and the rails as they are now. */
  get rails(): OrderRailSettings {
    return { ...this.options.rails, killSwitchEngaged: this.options.store.killSwitch().engaged };
  }

  /** The account orders go to: IB_ACCOUNT_ID or the login's only account. */
  get account(): string | undefined {
    return this.options.connection.status.activeAccount;
  }

  /**
   * Places an order (or a bracket), once per client order id: a request seen before answers with its orders
   * as they are now and sends nothing. Throws OrderRefusedError for a rail (before anything is stored) and
   * IbError "unavailable" while the Gateway is not connected (nothing stored: safe to retry).
   */
  async place(request: OrderRequest, referencePrice?: Decimal): Promise<PlaceResult> {
    const { store, gateway, connection, log } = this.options;
    const seen = store.get(request.account, request.clientOrderId);
    if (seen !== undefined) return this.claimed(request);
    const verdict = checkOrderRails(request, this.rails, { accountKind: accountKindOf(request.account), ...(referencePrice === undefined ? {} : { referencePrice }) });
    if (!verdict.ok) throw new OrderRefusedError(verdict.refusal);
    if (!connection.isReady) throw new IbError("unavailable", "the Gateway is not connected: the order was not sent (safe to retry with the same client order id)");
    // Bounded: a Gateway that never answers the reconciliation does not hold PlaceOrder (nothing sent: retry).
    const reconciled = await Promise.race([this.firstReconcile.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), RECONCILE_WAIT_MS).unref())]);
    if (!reconciled) throw new IbError("unavailable", "the orders IB holds are not known yet (the first reconciliation with the Gateway is still running): the order was not sent (safe to retry with the same client order id)");
    // Not in this store, but IB has it (an earlier run with another store file, a standby that took over): not sent again.
    if (this.atIb.has(request.clientOrderId)) {
      throw new OrderRefusedError({ reason: "CLIENT_ORDER_ID_AT_IB", field: "clientOrderId", message: `clientOrderId ${JSON.stringify(request.clientOrderId.slice(0, 64))} is the orderRef of an order IB already holds for this account today (placed by another run or provider whose order store this is not): not sent again` });
    }
    const nextValidId = await gateway.nextValidId();
    if (nextValidId >= FIRST_REQUEST_ID) throw new IbError("internal", `IB's next order id ${nextValidId} reaches the adapter's request ids (${FIRST_REQUEST_ID}): IB's messages about the order could not be told from a request's; not sent`);
    // The awaits above left time for CancelAllOrders: the kill switch is read again right before the claim.
    if (this.options.store.killSwitch().engaged) throw new OrderRefusedError({ reason: "KILL_SWITCH_ENGAGED", field: "account", message: "new orders are refused since CancelAllOrders engaged the kill switch, until it is released" });
    const claim = await this.claim(request, nextValidId);
    if (!claim.new) return { orders: [claim.order, ...claim.legs], alreadyPlaced: true };
    const rows = [claim.order, ...claim.legs];
    const listening = rows.map((row) => this.listen(row.orderId));
    const acked = listening.map((l) => l.word);
    try {
      const contract = contractOf(request);
      rows.forEach((row, i) => {
        // A bracket goes as one group: IB activates nothing until the last leg arrives with transmit set.
        const parentId = row.role === "parent" ? undefined : claim.order.orderId;
        gateway.place(row.orderId, contract, ibOrderOf(row.leg, request.account, i === rows.length - 1, parentId));
      });
      log.info({ audit: "place", clientOrderId: request.clientOrderId, orderIds: rows.map((r) => r.orderId), account: maskAccountId(request.account), symbol: request.instrument.symbol, side: request.side, quantity: request.quantity.toString(), type: request.type }, "order sent to IB");
      await Promise.race([Promise.all(acked), new Promise((resolve) => setTimeout(resolve, this.options.ackTimeoutMs ?? 5_000).unref())]);
    } finally {
      // Only this call's listeners (a ModifyOrder of the order may be listening too), also when a send threw.
      for (const l of listening) l.done();
    }
    return { orders: this.current(rows), alreadyPlaced: false };
  }

  /**
   * IB's what-if for a request: margin and commission impact, nothing placed (an order id is used, as IB
   * requires, and never reused). A bracket is previewed by its parent.
   */
  async preview(request: OrderRequest): Promise<OrderState> {
    const { store, gateway, connection } = this.options;
    // IB takes a what-if as an order (an id, its order rate): orders off or a live account not allowed refuse it too.
    const { enabled, allowLive } = this.options.rails;
    if (!enabled) throw new OrderRefusedError({ reason: "ORDERS_DISABLED", field: "account", message: "orders are disabled on this service (ORDERS_ENABLED is off): previews too, IB takes a what-if as an order" });
    if (accountKindOf(request.account) === "live" && !allowLive) throw new OrderRefusedError({ reason: "LIVE_ACCOUNT_REFUSED", field: "account", message: `account ${maskAccountId(request.account)} is not a paper account, and orders for live accounts are refused (ORDERS_ALLOW_LIVE is off)` });
    if (!connection.isReady) throw new IbError("unavailable", "the Gateway is not connected: nothing was previewed");
    const orderId = store.allocateOrderId(this.idSpace(request.account), await gateway.nextValidId());
    const [parent] = orderLegs(request);
    return gateway.whatIf(orderId, contractOf(request), ibOrderOf(parent!, request.account, true, undefined));
  }

  /** Asks IB to cancel an order; its fate comes as events (Cancelled, or filled first). */
  cancel(account: string, clientOrderId: string): StoredOrder | undefined {
    const order = this.options.store.get(account, clientOrderId);
    if (order === undefined) return undefined;
    if (order.idSpace !== this.idSpace(account)) {
      throw new OrderRefusedError({ reason: "ORDER_OF_ANOTHER_CONNECTION", field: "clientOrderId", message: `clientOrderId ${JSON.stringify(clientOrderId.slice(0, 64))} was placed through another Gateway connection (${order.idSpace}): IB lets only that client id cancel it (or CancelAllOrders)` });
    }
    if (!this.options.connection.isReady) throw new IbError("unavailable", "the Gateway is not connected: the cancel was not sent");
    this.options.gateway.cancel(order.orderId);
    this.options.log.info({ audit: "cancel", clientOrderId, orderId: order.orderId, account: maskAccountId(account) }, "order cancel sent to IB");
    return order;
  }

  /** Changes an open order's terms at IB (orderModify.ts); undefined when the store has no such order. */
  async modify(account: string, clientOrderId: string, change: OrderAmendment, referencePrice?: Decimal): Promise<StoredOrder | undefined> {
    // One change of an order at a time: IB's next word answers the one change in flight (two at once both heard
    // the first's refusal, and the second undid itself back to the first's refused terms).
    const key = `${account}\u0000${clientOrderId}`;
    const earlier = this.modifying.get(key) ?? Promise.resolve();
    let word: Promise<unknown> | undefined;
    const turn = earlier.then(() => this.modifyNow(account, clientOrderId, change, referencePrice, (w) => (word = w)));
    // A change answered before IB's word (the wait ran out) still has that word to come: the next change waits
    // for it (at most LATE_WORD_WAIT_MS or the ack wait, the longer: only against IB never speaking), else its
    // own wait would hear it, e.g. take the first's late refusal as its own and undo itself back to the refused terms.
    const bound = Math.max(this.options.ackTimeoutMs ?? 5_000, LATE_WORD_WAIT_MS);
    const settled = turn.then(
      () => (word === undefined ? undefined : Promise.race([word.then(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, bound).unref())])),
      () => undefined,
    );
    this.modifying.set(key, settled);
    try {
      return await turn;
    } finally {
      if (this.modifying.get(key) === settled) this.modifying.delete(key);
    }
  }

  private async modifyNow(account: string, clientOrderId: string, change: OrderAmendment, referencePrice: Decimal | undefined, listening: (word: Promise<IbOrderMessage>) => void): Promise<StoredOrder | undefined> {
    const send = (o: StoredOrder, leg: OrderLeg, parentId: number | undefined) => this.options.gateway.place(o.orderId, contractOf(o.request), ibOrderOf(leg, o.account, true, parentId));
    const nextWord = (orderId: number) => {
      const next = this.nextWord(orderId);
      listening(next.word);
      return next;
    };
    const result = await modifyOrder({ ...this.options, rails: this.rails, idSpace: this.idSpace(account), send, nextWord, undone: (o) => this.emit("event", this.orderEvent(o, false)) }, account, clientOrderId, change, referencePrice);
    if (result.kind === "refused") throw new OrderRefusedError(result.refusal);
    if (result.kind === "not-found") return undefined;
    // The terms are not in IB's status (onMessage sees no change in them): the change is an event of its own.
    if (result.sent) this.emit("event", this.orderEvent(result.order, false));
    return result.order;
  }

  /** IB's next word on an order (onMessage resolves `waiting`), for a change; a wait already there (place's) hears it too. */
  private nextWord(orderId: number): { word: Promise<IbOrderMessage>; done(): void } {
    return this.listen(orderId);
  }

  /** Listens for IB's next word on an order id until `done` (each listener its own: one leaving takes no other's). */
  private listen(orderId: number): { word: Promise<IbOrderMessage>; done(): void } {
    let heard!: (m: IbOrderMessage) => void;
    const word = new Promise<IbOrderMessage>((resolve) => (heard = resolve));
    const listeners = this.waiting.get(orderId) ?? new Set();
    listeners.add(heard);
    this.waiting.set(orderId, listeners);
    const done = () => {
      const now = this.waiting.get(orderId);
      if (now === undefined) return;
      now.delete(heard);
      if (now.size === 0) this.waiting.delete(orderId);
    };
    return { word, done };
  }

  /**
   * The kill switch: every open order of the account cancelled at IB (whoever placed it), new orders refused
   * until released. `note`: the client's reason; `byClient`: the client (kept apart: TradingBlock.by_client).
   */
  cancelAll(note: string, byClient?: string): StoredOrder[] {
    const { store, gateway, connection, log } = this.options;
    store.setKillSwitch(true, note, this.now(), byClient);
    if (connection.isReady) gateway.cancelAll();
    else this.globalCancelOwed = true;
    log.warn({ audit: "cancel-all", client: byClient, reason: note.slice(0, 200), sent: connection.isReady }, connection.isReady ? "kill switch engaged: IB's global cancel sent, new orders refused" : "kill switch engaged: new orders refused; IB's global cancel is sent when the Gateway is back");
    this.emit("event", { type: "trading", state: this.tradingState() });
    return store.listOpen(this.account);
  }

  release(note: string, byClient?: string): void {
    this.options.store.setKillSwitch(false, note, this.now(), byClient);
    this.options.log.warn({ audit: "enable", client: byClient, reason: note.slice(0, 200) }, "kill switch released: orders accepted again");
    this.emit("event", { type: "trading", state: this.tradingState() });
  }

  /** Compares the store's open orders with what the Gateway holds and records what changed while away. */
  async reconcile(): Promise<void> {
    const { store, gateway, log } = this.options;
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = true;
    try {
      const askedMs = this.now();
      const snapshot = await gateway.snapshot();
      const clientId = this.options.connection.status.clientId;
      const changed = reconcileOrders(store, snapshot, { account: this.account, idSpace: (a) => this.idSpace(a), nowMs: this.now(), askedMs, clientId });
      for (const o of [...snapshot.open, ...snapshot.completed]) if (o.order.orderRef && (o.order.clientId === undefined || o.order.clientId === clientId)) this.atIb.add(o.order.orderRef);
      for (const { execution } of snapshot.executions) if (execution.orderRef) this.atIb.add(execution.orderRef);
      for (const order of changed.orders) this.emit("event", this.orderEvent(order, true));
      for (const execution of changed.executions) this.emit("event", this.executionEvent(execution, true));
      if (changed.orders.length > 0 || changed.executions.length > 0) log.info({ orders: changed.orders.length, executions: changed.executions.length }, "orders reconciled with the Gateway");
    } catch (err) {
      // The connection went (lost, or the service stopping): the next "ready" reconciles; nothing went wrong here.
      if (err instanceof IbError && err.kind === "unavailable") log.info({ reason: err.message }, "order reconciliation abandoned: the Gateway connection went; it runs again on the reconnect");
      else log.warn({ err }, "could not reconcile orders with the Gateway: open orders keep their last known state");
    } finally {
      this.reconciling = false;
      this.reconciled();
      if (this.reconcileAgain) {
        this.reconcileAgain = false;
        void this.reconcile();
      }
    }
  }

  /**
   * IB numbers orders per API connection (a Gateway and a client id), whatever the account: two accounts of
   * one login share the numbering. The account is not part of it.
   */
  private idSpace(_account: string): string {
    const { host, port, clientId } = this.options.connection.status;
    return `${host}:${port}/${clientId}`;
  }

  /** The store's claim, waiting out another connection's brief write lock (then UNAVAILABLE: nothing sent). */
  private async claim(request: OrderRequest, nextValidId: number): Promise<ClaimResult> {
    try {
      return await retryWhileBusy(() => this.options.store.claim(request, { nextValidId, idSpace: this.idSpace(request.account), nowMs: this.now() }));
    } catch (err) {
      if (err instanceof ClientOrderIdReusedError) throw new OrderRefusedError(err.refusal);
      if (isBusy(err)) throw new IbError("unavailable", "the order store is locked by another writer: the order was not sent (safe to retry with the same client order id)");
      throw err;
    }
  }

  /** The orders a client order id placed before (the same request: else CLIENT_ORDER_ID_REUSED). */
  private async claimed(request: OrderRequest): Promise<PlaceResult> {
    const claim = await this.claim(request, 0);
    return { orders: [claim.order, ...claim.legs], alreadyPlaced: true };
  }

  private current(rows: StoredOrder[]): StoredOrder[] {
    return rows.map((r) => this.options.store.get(r.account, r.clientOrderId) ?? r);
  }

  private onMessage(m: IbOrderMessage): void {
    const { store, log } = this.options;
    if (m.type === "execution" || m.type === "commission") {
      if (m.type === "execution") {
        const execution = executionOf(m.contract, m.execution, this.now());
        if (execution === undefined) return;
        if (execution.clientOrderId !== undefined) this.atIb.add(execution.clientOrderId);
        store.recordExecution(execution);
        this.emitExecution(execution.execId);
      } else {
        const report = commissionOf(m.report);
        if (report === undefined) return;
        // IB repeats a fill's commission with every reqExecutions (each reconciliation): news only when it changed.
        const known = store.getExecution(report.execId)?.commission;
        if (known !== undefined && known.commission.eq(report.commission) && known.currency === report.currency && (known.realizedPnl?.toString() ?? "") === (report.realizedPnl?.toString() ?? "")) return;
        store.recordCommission(report);
        this.emitExecution(report.execId);
      }
      return;
    }
    const account = this.account;
    if (account === undefined) return;
    const order = store.getByOrderId(this.idSpace(account), m.orderId);
    if (order === undefined) return; // another client's order (TWS, another API client): not ours to record
    let updated: StoredOrder | undefined;
    if (m.type === "status") {
      const news = this.dedupe.isNew({ orderId: m.orderId, status: m.status, filled: ibDecimal(m.filled) ?? order.filled, remaining: ibDecimal(m.remaining) ?? order.remaining, ...optional("avgFillPrice", ibDecimal(m.avgFillPrice)), ...optional("lastFillPrice", ibDecimal(m.lastFillPrice)), ...optional("whyHeld", m.whyHeld || undefined) });
      // IB reports the order: the service's own word on it (NOT_RECEIVED / FATE_UNKNOWN) is withdrawn, even when the status repeats.
      const withdrawn = isOwnWord(order.lastError);
      if (!news && !withdrawn) return;
      const { status, unrecognized } = statusOf(m.status);
      if (unrecognized !== undefined) log.warn({ orderId: m.orderId, status: unrecognized.slice(0, 40) }, "IB sent an order status this service does not know: recorded as Unknown");
      const avg = ibDecimal(m.avgFillPrice);
      updated = store.updateState(order.account, order.clientOrderId, { status, ...optional("permId", m.permId || undefined), ...optional("filled", ibDecimal(m.filled)), ...optional("remaining", ibDecimal(m.remaining)), ...(avg !== undefined && !avg.isZero() ? { avgFillPrice: avg } : {}), ...(withdrawn ? { lastError: null } : {}) }, this.now());
    } else if (m.type === "open") {
      // openOrder carries the permId; its status is taken only as IB's first word. Its "Filled" can come
      // before the orderStatus with the fill: quantities and terminal states are orderStatus's to say.
      const { status } = statusOf(m.state.status);
      const first = (order.status === "PendingSubmit" || order.status === "Unknown") && status !== "Filled";
      updated = store.updateState(order.account, order.clientOrderId, { ...optional("status", first ? status : undefined), ...optional("permId", m.order.permId || undefined) }, this.now());
    } else {
      const effect = orderCodeEffect(m.code);
      const lastError = { code: m.code, text: m.text.slice(0, 500) };
      // A refusal before IB acknowledged the order: it never worked (IB may confirm with Inactive/Cancelled).
      const status = effect === "cancelled" ? "Cancelled" : effect === "rejected" && order.status === "PendingSubmit" ? "Inactive" : undefined;
      log.info({ audit: "ib-message", clientOrderId: order.clientOrderId, orderId: m.orderId, code: m.code, effect: effect ?? "none", text: maskAccounts(m.text.slice(0, 200)) }, "IB message about an order");
      updated = store.updateState(order.account, order.clientOrderId, { lastError, ...optional("status", status) }, this.now());
    }
    if (updated === undefined) return;
    for (const heard of [...(this.waiting.get(m.orderId) ?? [])]) heard(m);
    // IB says the same again in other words (openOrder after orderStatus): an event is a change.
    if (stateKey(updated) !== stateKey(order)) this.emit("event", this.orderEvent(updated, this.reconciling));
  }

  private emitExecution(execId: string): void {
    const execution = this.options.store.getExecution(execId);
    if (execution !== undefined) this.emit("event", this.executionEvent(execution, this.reconciling));
  }

  private orderEvent(order: StoredOrder, reconciled: boolean): OrderDeskEvent {
    return { type: "order", order, commission: this.commissionOf(order), reconciled };
  }

  /** An execution with its order (symbol, perm id, currency) when it is one of ours. */
  private executionEvent(execution: StoredExecution, reconciled: boolean): OrderDeskEvent {
    const { clientOrderId, account } = execution.execution;
    const order = clientOrderId === undefined ? undefined : this.options.store.get(account, clientOrderId);
    return { type: "execution", execution, order, reconciled };
  }
}
