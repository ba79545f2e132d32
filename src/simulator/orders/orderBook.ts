/**
 * The Gateway's memory of orders and executions. It belongs to the Gateway (the login), not to a
 * connection: a client that reconnects with its clientId finds its orders, and what filled while no
 * client was connected is answered by reqOpenOrders / reqCompletedOrders / reqExecutions. A Gateway restart
 * (faults.restart) keeps it, as IB's servers keep a paper account's orders across a Gateway restart.
 */
import { parseEndDateTime } from "../feeds/ibDateTime.js";
import type { ExecutionFilter } from "../messages/inboundOrders.js";
import { isDone, isWorking, type SimExecution, type SimOrder } from "./orderTypes.js";

/** One placeOrder message as it reached the Gateway (what-if and refused ones included). */
export interface ReceivedOrder {
  clientId: number;
  /** The order's account ("" when the client left it to the Gateway). */
  account: string;
  orderId: number;
  orderRef: string;
  whatIf: boolean;
  atMs: number;
}

/** First permId: IB's are 9–10 digit integers; this keeps them inside a 32-bit int (clients read an int below 191). */
const FIRST_PERM_ID = 1_100_000_001;

export class OrderBook {
  private readonly orders = new Map<string, SimOrder>();
  /** The working ones, so a check of the market costs nothing for finished orders. */
  private readonly active = new Set<SimOrder>();
  readonly executions: SimExecution[] = [];
  readonly received: ReceivedOrder[] = [];
  private nextPerm = FIRST_PERM_ID;
  private readonly maxIdByClient = new Map<number, number>();

  private static key(clientId: number, orderId: number): string {
    return `${clientId}:${orderId}`;
  }

  get(clientId: number, orderId: number): SimOrder | undefined {
    return this.orders.get(OrderBook.key(clientId, orderId));
  }

  add(o: SimOrder): void {
    this.orders.set(OrderBook.key(o.clientId, o.orderId), o);
    if (isWorking(o)) this.active.add(o);
    this.useId(o.clientId, o.orderId);
  }

  /** An order reached Filled or Cancelled: it leaves the working set (and stays for the queries). */
  settle(o: SimOrder): void {
    this.active.delete(o);
  }

  allocatePermId(): number {
    return this.nextPerm++;
  }

  /** Order ids are per clientId at IB: the next valid one is above every id that client has used. */
  nextValidId(clientId: number): number {
    return (this.maxIdByClient.get(clientId) ?? 0) + 1;
  }

  useId(clientId: number, orderId: number): void {
    if (orderId > (this.maxIdByClient.get(clientId) ?? 0)) this.maxIdByClient.set(clientId, orderId);
  }

  all(): SimOrder[] {
    return [...this.orders.values()];
  }

  working(): SimOrder[] {
    return [...this.active].filter(isWorking);
  }

  get workingCount(): number {
    return this.active.size;
  }

  /** reqOpenOrders answers the client's own orders, reqAllOpenOrders every client's (clientId undefined). */
  open(clientId: number | undefined): SimOrder[] {
    return this.working().filter((o) => o.transmitted && (clientId === undefined || o.clientId === clientId));
  }

  completed(): SimOrder[] {
    return this.all()
      .filter(isDone)
      .sort((a, b) => (a.completedTimeMs ?? 0) - (b.completedTimeMs ?? 0));
  }

  /** The orders held for a parent (bracket children). */
  children(parent: SimOrder): SimOrder[] {
    return this.all().filter((o) => o.parentId === parent.orderId && o.clientId === parent.clientId && o !== parent);
  }

  /** Orders one-cancels-other with this one: its explicit OCA group, and a bracket's sibling children. */
  ocaPeers(o: SimOrder): SimOrder[] {
    return this.working().filter(
      (p) =>
        p !== o &&
        p.account === o.account &&
        ((o.ocaGroup !== "" && p.ocaGroup === o.ocaGroup) || (o.parentId !== 0 && p.parentId === o.parentId && p.clientId === o.clientId)),
    );
  }

  executionsMatching(f: ExecutionFilter, nowMs: number): SimExecution[] {
    const since = f.time ? parseEndDateTime(f.time, nowMs, "America/New_York") : undefined;
    const side = f.side.toUpperCase();
    return this.executions.filter(
      (e) =>
        (f.clientId === 0 || e.clientId === f.clientId) &&
        (!f.acctCode || e.account === f.acctCode) &&
        (since === undefined || e.timeMs >= since * 1000) &&
        (!f.symbol || e.instrument.symbol === f.symbol.toUpperCase()) &&
        (!f.secType || e.instrument.secType === f.secType.toUpperCase()) &&
        (!f.exchange || e.exchange === f.exchange.toUpperCase() || f.exchange.toUpperCase() === "SMART") &&
        (!side || (side === "BUY" ? e.side === "BOT" : side === "SELL" ? e.side === "SLD" : e.side === side)),
    );
  }

  /** placeOrder messages received, for tests asserting how many reached the Gateway. */
  receivedCount(filter: { account?: string; clientId?: number } = {}): number {
    return this.received.filter(
      (r) => (filter.clientId === undefined || r.clientId === filter.clientId) && (filter.account === undefined || r.account === filter.account),
    ).length;
  }
}
