import { EventEmitter } from "node:events";
import { EventName, type CommissionReport, type Contract, type Execution, type IBApi, type Order, type OrderState } from "@stoqey/ib";
import type { Logger } from "../../log/logger.js";
import type { RequestRouter } from "../connection/requestRouter.js";
import { IbError } from "../ibErrors.js";
import { orderCodeEffect } from "./orderCodes.js";

/** IB's orderStatus message, as @stoqey/ib decodes it. */
export interface IbOrderStatus {
  orderId: number;
  status: string;
  filled: number;
  remaining: number;
  avgFillPrice: number;
  permId: number | undefined;
  parentId: number | undefined;
  lastFillPrice: number | undefined;
  clientId: number | undefined;
  whyHeld: string | undefined;
}

/** What the Gateway says about orders, as it says it (mapped to our terms by the order desk). */
export type IbOrderMessage =
  | { type: "open"; orderId: number; contract: Contract; order: Order; state: OrderState }
  | ({ type: "status" } & IbOrderStatus)
  | { type: "execution"; contract: Contract; execution: Execution }
  | { type: "commission"; report: CommissionReport }
  /** An IB message (code 4) addressed to an order id: a reject, a cancel confirmation, a warning. */
  | { type: "message"; orderId: number; code: number; text: string };

export interface GatewayOrdersEvents {
  message: [IbOrderMessage];
}

/** What the Gateway holds of this login's orders after a (re)connect: for reconciling what happened while away. */
export interface GatewayOrderSnapshot {
  open: { orderId: number; contract: Contract; order: Order; state: OrderState }[];
  completed: { contract: Contract; order: Order; state: OrderState }[];
  executions: { contract: Contract; execution: Execution }[];
}

const SNAPSHOT_TIMEOUT_MS = 20_000;

/**
 * The Gateway's order messages for one connection: placeOrder, cancelOrder, reqGlobalCancel, what-if and
 * the reconciliation requests sent; openOrder, orderStatus, execDetails, commissionReport and the messages
 * addressed to an order id heard and passed on as they are, in arrival order. Order ids come from the
 * caller (the desk allocates them from nextValidId and its store); this layer only remembers which ids
 * are orders, so IB's messages for them reach the desk and not the request router.
 */
export class GatewayOrders extends EventEmitter<GatewayOrdersEvents> {
  /** IB's latest nextValidId: the lowest order id it accepts now. */
  private ibNextValidId: number | undefined;
  private readonly orderIds = new Set<number>();
  /** What-if orders waiting for their openOrder (the margin impact), by order id. */
  private readonly whatIfs = new Map<number, { resolve(state: OrderState): void; reject(err: IbError): void }>();
  /** A reconciliation in progress: openOrder/completedOrder messages also go to it. */
  private collecting: GatewayOrderSnapshot | undefined;
  private abandon: (() => void) | undefined;

  constructor(
    private readonly api: IBApi,
    private readonly router: RequestRouter,
    private readonly log: Logger,
    /** This connection's client id: IB numbers each client's orders apart, and answers reqAllOpenOrders with every client's. */
    private readonly clientId: number,
  ) {
    super();
    api.on(EventName.nextValidId, (id: number) => {
      this.ibNextValidId = id;
    });
    api.on(EventName.openOrder, (orderId: number, contract: Contract, order: Order, state: OrderState) => {
      const whatIf = this.whatIfs.get(orderId);
      if (whatIf !== undefined) {
        this.whatIfs.delete(orderId);
        this.orderIds.delete(orderId);
        whatIf.resolve(state);
        return;
      }
      this.collecting?.open.push({ orderId, contract, order, state });
      // Another client's order numbered like one of ours (reqAllOpenOrders lists every client's): not ours.
      if (this.isOurs(order.clientId)) this.emit("message", { type: "open", orderId, contract, order, state });
    });
    api.on(EventName.orderStatus, (orderId: number, status: string, filled: number, remaining: number, avgFillPrice: number, permId?: number, parentId?: number, lastFillPrice?: number, clientId?: number, whyHeld?: string) => {
      if (this.isOurs(clientId)) this.emit("message", { type: "status", orderId, status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice, clientId, whyHeld });
    });
    // Live fills arrive with reqId -1; the answers to reqExecutions with the request's id (collected below).
    api.on(EventName.execDetails, (reqId: number, contract: Contract, execution: Execution) => {
      if (reqId === -1) this.emit("message", { type: "execution", contract, execution: this.attributed(execution) });
    });
    api.on(EventName.commissionReport, (report: CommissionReport) => this.emit("message", { type: "commission", report }));
    api.on(EventName.completedOrder, (contract: Contract, order: Order, state: OrderState) => {
      this.collecting?.completed.push({ contract, order, state });
    });
    api.on(EventName.error, (err: Error, code: number, id: number) => {
      if (id === undefined || !this.orderIds.has(id)) return;
      const whatIf = this.whatIfs.get(id);
      // A warning about a what-if order (399, 2109) is not its answer: the openOrder is.
      if (whatIf !== undefined && orderCodeEffect(code) !== "advisory") {
        this.whatIfs.delete(id);
        this.orderIds.delete(id);
        whatIf.reject(new IbError("invalid", `IB refused the what-if order: ${err.message}`, code));
        return;
      }
      this.emit("message", { type: "message", orderId: id, code, text: err.message });
    });
  }

  /** IB's clientId on an order's messages (absent on older layouts: then taken as ours, the only numbering we hear). */
  private isOurs(clientId: number | undefined): boolean {
    return clientId === undefined || clientId === this.clientId;
  }

  /** Another client's fill keeps no orderRef: its orderRef is not our client order id. */
  private attributed(execution: Execution): Execution {
    return this.isOurs(execution.clientId) ? execution : { ...execution, orderRef: undefined };
  }

  /** A snapshot being collected is abandoned (the connection it asked was lost): its waits end at once. */
  abandonSnapshot(): void {
    this.abandon?.();
  }

  /** The lowest order id IB accepts now: the last nextValidId heard, else asked for (reqIds). */
  async nextValidId(timeoutMs = 5_000): Promise<number> {
    if (this.ibNextValidId !== undefined) return this.ibNextValidId;
    return new Promise<number>((resolve, reject) => {
      const heard = (id: number) => {
        clearTimeout(timer);
        resolve(id);
      };
      const timer = setTimeout(() => {
        this.api.off(EventName.nextValidId, heard);
        reject(new IbError("timeout", `IB did not say the next valid order id within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.api.once(EventName.nextValidId, heard);
      this.api.reqIds();
    });
  }

  /** Sends an order (or a change to one: the same id again). Its fate comes as messages. */
  place(orderId: number, contract: Contract, order: Order): void {
    this.orderIds.add(orderId);
    this.api.placeOrder(orderId, contract, order);
  }

  /** Listens for IB's messages about an order placed by an earlier run (found in the store). */
  adopt(orderId: number): void {
    this.orderIds.add(orderId);
  }

  cancel(orderId: number): void {
    this.api.cancelOrder(orderId);
  }

  /** Cancels every open order of the account, whoever placed it (IB's reqGlobalCancel). */
  cancelAll(): void {
    this.api.reqGlobalCancel();
  }

  /** IB's what-if: the order's margin and commission impact, without placing it. */
  whatIf(orderId: number, contract: Contract, order: Order, timeoutMs = 10_000): Promise<OrderState> {
    return new Promise<OrderState>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.whatIfs.delete(orderId);
        reject(new IbError("timeout", `IB did not answer the what-if order within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.whatIfs.set(orderId, {
        resolve: (state) => (clearTimeout(timer), resolve(state)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      this.orderIds.add(orderId);
      this.api.placeOrder(orderId, contract, { ...order, whatIf: true, transmit: true });
    });
  }

  /**
   * What the Gateway holds now: every open order of the account (reqAllOpenOrders: placed by any client,
   * so orders of an earlier run's session are found), the orders completed today (reqCompletedOrders) and
   * the executions of the day (reqExecutions; their commission reports arrive as messages). One at a time.
   */
  async snapshot(): Promise<GatewayOrderSnapshot> {
    if (this.collecting !== undefined) throw new IbError("internal", "an order reconciliation is already running");
    const snapshot: GatewayOrderSnapshot = { open: [], completed: [], executions: [] };
    this.collecting = snapshot;
    try {
      await this.untilEvent(EventName.openOrderEnd, () => this.api.reqAllOpenOrders(), "open orders");
      await this.untilEvent(EventName.completedOrdersEnd, () => this.api.reqCompletedOrders(false), "completed orders");
      await this.router.request({
        what: "executions",
        timeoutMs: SNAPSHOT_TIMEOUT_MS,
        listen: (reqId, end) => {
          this.router.on(EventName.execDetails, reqId, (contract: Contract, execution: Execution) => snapshot.executions.push({ contract, execution: this.attributed(execution) }));
          this.router.on(EventName.execDetailsEnd, reqId, end);
        },
        send: (reqId) => this.api.reqExecutions(reqId, {}),
        result: () => undefined,
      });
      return snapshot;
    } finally {
      this.collecting = undefined;
      this.abandon = undefined;
    }
  }

  /** Sends a request answered by an end message without a request id, and waits for the end. */
  private untilEvent(end: EventName, send: () => void, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.api.off(end, done);
        reject(new IbError("timeout", `IB did not answer the request for ${what} within ${SNAPSHOT_TIMEOUT_MS} ms`));
      }, SNAPSHOT_TIMEOUT_MS);
      timer.unref();
      this.abandon = () => {
        this.api.off(end, done);
        clearTimeout(timer);
        reject(new IbError("unavailable", `the connection was lost while asking IB for ${what}`));
      };
      this.api.once(end, done);
      try {
        send();
      } catch (err) {
        this.api.off(end, done);
        clearTimeout(timer);
        this.log.warn({ err }, `could not ask IB for ${what}`);
        reject(new IbError("internal", `could not ask IB for ${what}`));
      }
    });
  }
}
