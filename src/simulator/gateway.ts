/**
 * The simulated Gateway: a TCP server, the clientId registry, limits shared by every client (IB counts
 * lines and pacing per login); fault injection (./faults) drives it through FaultTarget.
 */
import { createServer, type Server, type Socket } from "node:net";
import { SimAccounts } from "./account.js";
import { createFaults, type FaultTarget, type Faults } from "./faults.js";
import type { SubscriptionKind } from "./feeds/feed.js";
import { HistoricalPacer } from "./limits.js";
import type { Market } from "./market/types.js";
import type { ResolvedOptions } from "./options.js";
import { OrderEngine } from "./orders/orderEngine.js";
import { notifyOrderEvent } from "./orders/orderNotifier.js";
import { Session } from "./session.js";

type Level = "debug" | "info" | "warn" | "error";

/** Counters of what the Gateway did, for tests (waiting on them instead of sleeping) and the benchmark. */
export interface GatewayStats {
  /** L1 ticks written in flood mode. */
  floodTicks: number;
  /**
   * Turns of the sessions' stream pump (one per tickIntervalMs per connected session), counted also while
   * streams are stalled or IB's connectivity is lost: each is a chance for every stream to send. A test
   * proves that a stream sent nothing more by letting the pump turn a few times, not by sleeping.
   */
  pumpTurns: number;
  /** Historical requests (bars, ticks) that reached the open-request and pacing checks, per IB symbol, admitted or not. */
  historicalRequests: Map<string, number>;
}

/** What a session sees of its Gateway. */
export interface GatewayCore {
  readonly options: ResolvedOptions;
  readonly market: Market;
  readonly accounts: SimAccounts;
  /** The login's orders and their matching (they outlive connections and Gateway restarts). */
  readonly orders: OrderEngine;
  readonly pacer: HistoricalPacer;
  readonly connected: boolean;
  readonly stats: GatewayStats;
  claimClientId(clientId: number, s: Session): boolean;
  onSessionClosed(s: Session): void;
  count(kinds: SubscriptionKind[]): number;
  openHistoricalCount(): number;
  log(level: Level, obj: Record<string, unknown>, text: string): void;
}

export class Gateway implements GatewayCore, FaultTarget {
  readonly pacer: HistoricalPacer;
  readonly accounts: SimAccounts;
  readonly orders: OrderEngine;
  readonly stats: GatewayStats = { floodTicks: 0, pumpTurns: 0, historicalRequests: new Map() };
  connected = true;
  private server: Server | undefined;
  readonly sessions = new Set<Session>();
  private readonly clientIds = new Map<number, Session>();
  private nextSessionId = 1;
  private boundPort = 0;
  private closed = false;
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  /** Checks working orders against the market: the Gateway's, so orders fill while no client is connected. */
  private readonly orderTimer: NodeJS.Timeout;
  readonly faults: Faults;

  constructor(
    readonly options: ResolvedOptions,
    readonly market: Market,
  ) {
    this.pacer = new HistoricalPacer(options.limits);
    this.accounts = new SimAccounts(market, options.accounts, options.now());
    this.orders = new OrderEngine(market, this.accounts);
    this.orders.onEvent((e) => notifyOrderEvent(this.sessions, e));
    this.orderTimer = setInterval(() => this.checkOrders(), options.tickIntervalMs);
    this.orderTimer.unref();
    this.faults = createFaults(this);
  }

  get port(): number {
    return this.boundPort;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async listen(port = this.options.port): Promise<void> {
    const server = createServer((socket) => this.onConnection(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: this.options.host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr && typeof addr === "object") this.boundPort = addr.port;
    this.log("info", { host: this.options.host, port: this.boundPort }, "simulated IB Gateway listening");
  }

  private onConnection(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const s = new Session(this, socket, this.nextSessionId++);
    this.sessions.add(s);
  }

  claimClientId(clientId: number, s: Session): boolean {
    const holder = this.clientIds.get(clientId);
    if (holder && holder !== s) return false;
    this.clientIds.set(clientId, s);
    return true;
  }

  onSessionClosed(s: Session): void {
    this.sessions.delete(s);
    if (s.clientId !== undefined && this.clientIds.get(s.clientId) === s) this.clientIds.delete(s.clientId);
  }

  count(kinds: SubscriptionKind[]): number {
    let n = 0;
    for (const s of this.sessions) for (const sub of s.subscriptions()) if (kinds.includes(sub.kind)) n++;
    return n;
  }

  openHistoricalCount(): number {
    let n = this.count(["history"]);
    for (const s of this.sessions) n += s.pendingHistoricalCount();
    return n;
  }

  private checkOrders(): void {
    try {
      this.orders.check(this.options.now());
    } catch (e) {
      this.log("error", { err: String(e) }, "order matching failed");
    }
  }

  clientCount(): number {
    return [...this.sessions].filter((s) => s.isReady).length;
  }

  log(level: Level, obj: Record<string, unknown>, text: string): void {
    this.options.logger?.[level](obj, text);
  }

  dropAll(): void {
    for (const s of [...this.sessions]) s.close();
  }

  async stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.orderTimer);
    // Pending fault sleeps end now (their continuations see `closed`).
    for (const [t, resolve] of this.timers) {
      clearTimeout(t);
      resolve();
    }
    this.timers.clear();
    this.dropAll();
    await this.stopListening();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }
}
