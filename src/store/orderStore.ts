import { toWire, type Decimal } from "../domain/decimal.js";
import { canonicalOrderRequest } from "../domain/orders/canonicalOrderRequest.js";
import type { CommissionReport, Execution } from "../domain/orders/execution.js";
import { orderLegs, type OrderRequest } from "../domain/orders/orderRequest.js";
import type { OrderRefusal } from "../domain/orders/orderRefusal.js";
import type { OrderError, OrderStatus } from "../domain/orders/orderStatus.js";
import { isBusy, openDatabase, type SqliteDatabase } from "./database.js";
import { amendmentToColumn, executionFromRow, liquidityToColumn, orderFromRow, type ExecutionRow, type OrderAmendment, type OrderRow, type StoredExecution, type StoredOrder } from "./orderRows.js";

export type { OrderAmendment, StoredExecution, StoredOrder } from "./orderRows.js";

/** What claim found: a new order (ids allocated, rows written: now tell IB), or the one already placed under that id. */
export interface ClaimResult {
  new: boolean;
  /** The order the client order id names (a bracket's parent). */
  order: StoredOrder;
  /** A bracket's legs, take-profit then stop-loss; empty for a single order. */
  legs: StoredOrder[];
}

export interface ClaimOptions {
  /** The lowest id IB allows now (its last nextValidId). */
  nextValidId: number;
  /** Whose order ids these are: IB numbers orders per connection, so accounts sharing one share it. Default: the account. */
  idSpace?: string;
  nowMs?: number;
}

/** A client order id that came again with a different request (or names another order's bracket leg). */
export class ClientOrderIdReusedError extends Error {
  readonly refusal: OrderRefusal;
  constructor(field: string, clientOrderId: string) {
    const message = `${field} ${JSON.stringify(clientOrderId.slice(0, 64))} was used already for a different order of this account: a retry must repeat the request exactly, a new order needs a new id`;
    super(message);
    this.refusal = { reason: "CLIENT_ORDER_ID_REUSED", field, message };
  }
}

/** What IB said about an order; fields left out are unchanged. */
export interface OrderStateUpdate {
  status?: OrderStatus;
  permId?: number;
  filled?: Decimal;
  remaining?: Decimal;
  avgFillPrice?: Decimal;
  /** null: the order has no last error any more (the service's own word on it, withdrawn once IB reports the order). */
  lastError?: OrderError | null;
}

export interface KillSwitchState {
  engaged: boolean;
  /** The note the client gave when it engaged (or released) the switch; "" when none. */
  reason: string;
  changedMs: number | undefined;
  /** The client that engaged (or released) it; absent when not recorded (set before by_client existed). */
  byClient?: string;
}

/** Longer than the event writer's batches (a few ms), short enough that a CLI's long lock fails the call soon. */
const DEFAULT_BUSY_TIMEOUT_MS = 250;

const ORDER_COLUMNS = "account, client_order_id, id_space, order_id, perm_id, role, parent_client_order_id, request, status, filled, remaining, avg_fill_price, error_code, error_text, created_ms, updated_ms, amended";
const EXECUTION_COLUMNS = "exec_id, account, order_id, client_order_id, con_id, time_ms, side, price, quantity, commission, commission_currency, realized_pnl, exchange, cum_qty, avg_price, liquidity";

/**
 * Orders in the store's file, durable before IB is told: every write is one synchronous IMMEDIATE transaction
 * on this store's own connection, with synchronous=FULL (the WAL is fsynced at each commit: a claim survives
 * a power cut, not only a crash; the market-data connection stays NORMAL). Orders are a few a second at most,
 * so the fsync costs nothing that matters.
 *
 * Several connections may open the file (this process's market-data store and its event writer, another
 * service instance, the operator's CLI): SQLite serializes their write transactions, so two claims of one client
 * order id never both win. A write waits for another connection's transaction up to `busyTimeoutMs` (default
 * 250 ms), blocking the thread: the event writer's batches take a few ms, and a status or an execution from IB
 * must not be lost to one (the market-data writes never block, but they can be written again). Past that (the
 * operator's CLI, a VACUUM) it throws SQLITE_BUSY: a claim's caller tries again without blocking
 * (retryWhileBusy) or answers UNAVAILABLE, and the order is not sent.
 */
export class OrderStore {
  private readonly statements;
  private readonly claimTransaction;

  private constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      order: db.prepare<[string, string], OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE account = ? AND client_order_id = ?`),
      // A bracket's legs have the ids right after their parent's (claim allocates them so): found by IB's id.
      legs: db.prepare<[string, number, number, string], OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id_space = ? AND order_id > ? AND order_id <= ? AND parent_client_order_id = ? ORDER BY order_id`),
      byOrderId: db.prepare<[string, number], OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id_space = ? AND order_id = ?`),
      byPermId: db.prepare<[number], OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE perm_id = ?`),
      insertOrder: db.prepare(`INSERT INTO orders (${ORDER_COLUMNS}) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 'PendingSubmit', '0', ?, NULL, NULL, NULL, ?, ?, NULL)`),
      amend: db.prepare("UPDATE orders SET amended = ?, updated_ms = ? WHERE account = ? AND client_order_id = ?"),
      updateOrder: db.prepare(
        "UPDATE orders SET status = coalesce(?, status), perm_id = coalesce(?, perm_id), filled = coalesce(?, filled), remaining = coalesce(?, remaining), avg_fill_price = coalesce(?, avg_fill_price), " +
          "error_code = CASE WHEN ? THEN NULL ELSE coalesce(?, error_code) END, error_text = CASE WHEN ? THEN NULL ELSE coalesce(?, error_text) END, updated_ms = ? WHERE account = ? AND client_order_id = ?",
      ),
      // The partial index's WHERE, word for word; forced, or the planner walks every order of the account by its key.
      openOf: db.prepare<[string], OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders INDEXED BY orders_open WHERE account = ? AND status NOT IN ('Filled', 'Cancelled', 'ApiCancelled') ORDER BY order_id`),
      openAll: db.prepare<[], OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE status NOT IN ('Filled', 'Cancelled', 'ApiCancelled') ORDER BY order_id`),
      recent: db.prepare<[number, string | null, string | null, number], OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE updated_ms >= ? AND (? IS NULL OR account = ?) ORDER BY updated_ms DESC, order_id DESC LIMIT ?`),
      mark: db.prepare<[string], { last_order_id: number }>("SELECT last_order_id FROM order_id_marks WHERE id_space = ?"),
      setMark: db.prepare("INSERT INTO order_id_marks (id_space, last_order_id) VALUES (?, ?) ON CONFLICT (id_space) DO UPDATE SET last_order_id = excluded.last_order_id"),
      upsertExecution: db.prepare(
        "INSERT INTO executions (exec_id, account, order_id, client_order_id, con_id, time_ms, side, price, quantity, exchange, cum_qty, avg_price, liquidity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) " +
          "ON CONFLICT (exec_id) DO UPDATE SET account = excluded.account, order_id = excluded.order_id, client_order_id = excluded.client_order_id, con_id = excluded.con_id, time_ms = excluded.time_ms, side = excluded.side, price = excluded.price, quantity = excluded.quantity, " +
          "exchange = excluded.exchange, cum_qty = excluded.cum_qty, avg_price = excluded.avg_price, liquidity = excluded.liquidity",
      ),
      upsertCommission: db.prepare(
        "INSERT INTO executions (exec_id, commission, commission_currency, realized_pnl) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (exec_id) DO UPDATE SET commission = excluded.commission, commission_currency = excluded.commission_currency, realized_pnl = excluded.realized_pnl",
      ),
      execution: db.prepare<[string], ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE exec_id = ?`),
      executions: db.prepare<[number, string | null, string | null, string | null, string | null, number], ExecutionRow>(
        `SELECT ${EXECUTION_COLUMNS} FROM executions WHERE time_ms >= ? AND (? IS NULL OR account = ?) AND (? IS NULL OR client_order_id = ?) ORDER BY time_ms, exec_id LIMIT ?`,
      ),
      killSwitch: db.prepare<[], { engaged: number; reason: string; changed_ms: number; by_client: string | null }>("SELECT engaged, reason, changed_ms, by_client FROM order_switches WHERE name = 'killSwitch'"),
      setKillSwitch: db.prepare("INSERT OR REPLACE INTO order_switches (name, engaged, reason, changed_ms, by_client) VALUES ('killSwitch', ?, ?, ?, ?)"),
    };
    this.claimTransaction = db.transaction((request: OrderRequest, options: ClaimOptions): ClaimResult => this.claimInTransaction(request, options));
  }

  /**
   * Opens (creating and migrating when needed) the store file with a connection of its own. Opening may wait
   * up to 5 s for another connection's migration or write (startup); then a write waits `busyTimeoutMs` at most.
   */
  static open(path: string, options: { busyTimeoutMs?: number } = {}): OrderStore {
    const db = openDatabase(path, 5_000);
    db.pragma("synchronous = FULL");
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
    return new OrderStore(db);
  }

  /**
   * The idempotency primitive, one transaction: the first claim of (account, clientOrderId) allocates IB order
   * ids (the parent's, then its legs', consecutive) and records the order as PendingSubmit; a later claim with
   * the same request returns that order as it is now (new: false: do not send it again). Throws
   * ClientOrderIdReusedError when the id comes with a different request or names a leg of another order.
   */
  claim(request: OrderRequest, options: ClaimOptions): ClaimResult {
    return this.claimTransaction.immediate(request, options);
  }

  /**
   * An IB order id for `idSpace`: the larger of IB's nextValidId and one above every id handed out before,
   * recorded before it is returned (a what-if preview needs an id too).
   */
  allocateOrderId(idSpace: string, nextValidId: number): number {
    return this.db.transaction(() => this.allocate(idSpace, nextValidId, 1)).immediate();
  }

  /** The highest IB order id handed out in `idSpace` (undefined: none yet). */
  lastOrderId(idSpace: string): number | undefined {
    return this.statements.mark.get(idSpace)?.last_order_id;
  }

  get(account: string, clientOrderId: string): StoredOrder | undefined {
    const row = this.statements.order.get(account, clientOrderId);
    return row === undefined ? undefined : orderFromRow(row);
  }

  /** The order IB numbers `orderId` (openOrder, orderStatus, errors). */
  getByOrderId(idSpace: string, orderId: number): StoredOrder | undefined {
    const row = this.statements.byOrderId.get(idSpace, orderId);
    return row === undefined ? undefined : orderFromRow(row);
  }

  /** The order IB knows as `permId` (completed orders and executions of an earlier session). */
  getByPermId(permId: number): StoredOrder | undefined {
    const row = this.statements.byPermId.get(permId);
    return row === undefined ? undefined : orderFromRow(row);
  }

  /** Records what IB said about an order; the order as it is now, or undefined when the store has no such order. */
  updateState(account: string, clientOrderId: string, update: OrderStateUpdate, nowMs = Date.now()): StoredOrder | undefined {
    const wire = (d: Decimal | undefined) => (d === undefined ? null : toWire(d));
    const clear = update.lastError === null ? 1 : 0;
    const changed = this.statements.updateOrder.run(
      update.status ?? null,
      update.permId ?? null,
      wire(update.filled),
      wire(update.remaining),
      wire(update.avgFillPrice),
      clear,
      update.lastError?.code ?? null,
      clear,
      update.lastError?.text ?? null,
      nowMs,
      account,
      clientOrderId,
    ).changes;
    return changed === 0 ? undefined : this.get(account, clientOrderId);
  }

  /**
   * Records the terms ModifyOrder sent for an order (all changed since it was placed; undefined: as placed),
   * before IB is told. The request as placed is kept as it was. The order as it is now, or undefined.
   */
  amend(account: string, clientOrderId: string, amendment: OrderAmendment | undefined, nowMs = Date.now()): StoredOrder | undefined {
    const changed = this.statements.amend.run(amendmentToColumn(amendment), nowMs, account, clientOrderId).changes;
    return changed === 0 ? undefined : this.get(account, clientOrderId);
  }

  /** Orders not done (Filled, Cancelled, ApiCancelled), of one account or all, oldest first: Unknown and Inactive included. */
  listOpen(account?: string): StoredOrder[] {
    const rows = account === undefined ? this.statements.openAll.all() : this.statements.openOf.all(account);
    return rows.map(orderFromRow);
  }

  /** Orders changed since `sinceMs`, newest first, at most `limit`. */
  listRecent(sinceMs: number, options: { account?: string; limit?: number } = {}): StoredOrder[] {
    const account = options.account ?? null;
    return this.statements.recent.all(sinceMs, account, account, options.limit ?? 1_000).map(orderFromRow);
  }

  /** Records a fill (again: the same row, IB's latest word); its commission, if it came first, stays joined. */
  recordExecution(execution: Execution): void {
    const e = execution;
    const wire = (d: Decimal | undefined) => (d === undefined ? null : toWire(d));
    this.statements.upsertExecution.run(e.execId, e.account, e.orderId, e.clientOrderId ?? null, e.conId, e.timeMs, e.side, toWire(e.price), toWire(e.quantity), e.exchange ?? null, wire(e.cumulativeQuantity), wire(e.averagePrice), liquidityToColumn(e.liquidity));
  }

  /** Joins a commission report to its execution's row (which may come after it). */
  recordCommission(report: CommissionReport): void {
    this.statements.upsertCommission.run(report.execId, toWire(report.commission), report.currency, report.realizedPnl === undefined ? null : toWire(report.realizedPnl));
  }

  /** An execution with its commission if that came; undefined while only its commission report is known. */
  getExecution(execId: string): StoredExecution | undefined {
    const row = this.statements.execution.get(execId);
    return row === undefined ? undefined : executionFromRow(row);
  }

  /** Executions from `sinceMs` on, oldest first, of an account and/or one order; at most `limit`. */
  listExecutions(sinceMs: number, options: { account?: string; clientOrderId?: string; limit?: number } = {}): StoredExecution[] {
    const account = options.account ?? null;
    const clientOrderId = options.clientOrderId ?? null;
    return this.statements.executions
      .all(sinceMs, account, account, clientOrderId, clientOrderId, options.limit ?? 1_000)
      .map(executionFromRow)
      .filter((e): e is StoredExecution => e !== undefined);
  }

  /** The kill switch as last set (off when never set): it outlives a restart. */
  killSwitch(): KillSwitchState {
    const row = this.statements.killSwitch.get();
    if (row === undefined) return { engaged: false, reason: "", changedMs: undefined };
    return { engaged: row.engaged === 1, reason: row.reason, changedMs: row.changed_ms, ...(row.by_client === null ? {} : { byClient: row.by_client }) };
  }

  /** Engages or releases the kill switch: `reason` is the client's note, `byClient` who did it (kept apart, for TradingBlock.by_client). */
  setKillSwitch(engaged: boolean, reason: string, nowMs = Date.now(), byClient?: string): void {
    this.statements.setKillSwitch.run(engaged ? 1 : 0, reason, nowMs, byClient ?? null);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private claimInTransaction(request: OrderRequest, options: ClaimOptions): ClaimResult {
    const canonical = canonicalOrderRequest(request);
    const account = request.account;
    const found = this.statements.order.get(account, request.clientOrderId);
    if (found !== undefined) {
      if (found.role !== "parent" || found.request !== canonical) throw new ClientOrderIdReusedError("clientOrderId", request.clientOrderId);
      const legs = this.statements.legs.all(found.id_space, found.order_id, found.order_id + 2, request.clientOrderId).filter((row) => row.account === account);
      return { new: false, order: orderFromRow(found), legs: legs.map(orderFromRow) };
    }
    const legs = orderLegs(request);
    for (const leg of legs.slice(1)) {
      if (this.statements.order.get(account, leg.clientOrderId) !== undefined) throw new ClientOrderIdReusedError(`bracket.${leg.role}.clientOrderId`, leg.clientOrderId);
    }
    const idSpace = options.idSpace ?? account;
    const first = this.allocate(idSpace, options.nextValidId, legs.length);
    const nowMs = options.nowMs ?? Date.now();
    for (const [i, leg] of legs.entries()) {
      this.statements.insertOrder.run(account, leg.clientOrderId, idSpace, first + i, leg.role, leg.parentClientOrderId ?? null, canonical, toWire(leg.quantity), nowMs, nowMs);
    }
    const stored = legs.map((leg) => orderFromRow(this.statements.order.get(account, leg.clientOrderId)!));
    return { new: true, order: stored[0]!, legs: stored.slice(1) };
  }

  /** `count` consecutive ids from max(nextValidId, mark + 1); moves the mark (inside the caller's transaction). */
  private allocate(idSpace: string, nextValidId: number, count: number): number {
    if (!Number.isSafeInteger(nextValidId) || nextValidId < 0) throw new RangeError(`nextValidId must be a non-negative integer (got ${nextValidId})`);
    const mark = this.statements.mark.get(idSpace)?.last_order_id;
    const first = mark === undefined ? nextValidId : Math.max(nextValidId, mark + 1);
    this.statements.setMark.run(idSpace, first + count - 1);
    return first;
  }
}

/**
 * Runs a store write, trying again while another connection holds the file's write lock beyond the store's
 * busy timeout (SQLITE_BUSY: the operator's CLI, a VACUUM), 5 ms doubling to 100 ms between tries, without
 * holding the event loop; after `timeoutMs` the last busy error is thrown (answer UNAVAILABLE, send nothing).
 */
export async function retryWhileBusy<T>(write: () => T, timeoutMs = 2_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (let waitMs = 5; ; waitMs = Math.min(100, waitMs * 2)) {
    try {
      return write();
    } catch (err) {
      if (!isBusy(err) || performance.now() + waitMs > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}
