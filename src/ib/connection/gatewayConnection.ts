import { EventEmitter } from "node:events";
import { EventName, IBApi } from "@stoqey/ib";
import { isPaperPort } from "../../config/gatewayUrl.js";
import type { Logger } from "../../log/logger.js";
import { maskAccountId } from "../../domain/accountMask.js";
import { ibMessagesIn, ibOutboundDropped, ibReconnects } from "../../metrics/metrics.js";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
import { installInputFairness } from "./inputFairness.js";
import { installOutboundLimiter, type OutboundLimiter } from "./outboundLimiter.js";
import { isSimulatorIdentity, type ConnectionState, type GatewayMode, type GatewayStatus } from "./gatewayStatus.js";

export interface GatewayConnectionOptions {
  mode: GatewayMode;
  host: string;
  port: number;
  clientId: number;
  /** IB_ACCOUNT_ID: must be among the managed accounts, or start-up fails. */
  accountId: string | undefined;
  log: Logger;
  /** How long to wait for the API to become ready (nextValidId) after a connect attempt. */
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Outbound messages per second (OutboundLimiter): IB allows 50, we keep 45. */
  maxRequestsPerSecond?: number;
}

/** Why the connection cannot be used and retrying will not help (bad account id, for instance). */
export class GatewayFatalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GatewayFatalError";
  }
}

export interface GatewayConnectionEvents {
  /** The API is ready (nextValidId received); `reconnected` is true after a loss. */
  ready: [{ reconnected: boolean }];
  /** The socket to the Gateway closed. */
  lost: [{ reason: string }];
  /** IB lost its own connectivity (1100) or restored it (1101 data lost / 1102 data maintained). */
  ibConnectivity: [{ up: boolean; dataLost: boolean; code: number }];
  state: [ConnectionState];
  /** The connection cannot be used and will not be retried (e.g. the account is no longer managed). */
  fatal: [{ message: string }];
}

// IB message codes on the connection level (tws-protocol.md §3). They arrive with id -1, which
// @stoqey/ib emits on `info`, not on `error`.
const CLIENT_ID_IN_USE = 326;
const CONNECTIVITY_LOST = 1100;
const RESTORED_DATA_LOST = 1101;
const RESTORED_DATA_MAINTAINED = 1102;
const SOCKET_PORT_RESET = 1300;

/**
 * One @stoqey/ib connection to a Gateway, kept alive: the API counts as ready on nextValidId (not on TCP
 * connect), a dropped socket is reconnected with capped exponential backoff and jitter using the same
 * client id (IBApiNext's clientId + 1 habit would orphan the old session's subscriptions), and 326
 * (client id in use) is reported plainly instead of looping fast.
 */
export class GatewayConnection extends EventEmitter<GatewayConnectionEvents> {
  readonly api: IBApi;
  private readonly outbound: OutboundLimiter;
  private readonly options: Required<Omit<GatewayConnectionOptions, "accountId">> & { accountId: string | undefined };
  private current: GatewayStatus;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readyTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;
  private everReady = false;
  private pendingManagedAccounts: string[] = [];
  private firstReady: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(options: GatewayConnectionOptions) {
    super();
    this.options = {
      connectTimeoutMs: 10_000,
      backoff: DEFAULT_BACKOFF,
      // 40/s in bursts of 5 (OutboundLimiter): at most 45 in any second, as ib_insync's throttle, leaving IB's
      // 50/s (error 100, then dropped requests) a margin for arrivals bunched by the network or a busy Gateway.
      // At 45/s a chain snapshot (60 contract details + 60 lines + their cancels) lost requests to error 100.
      maxRequestsPerSecond: 40,
      ...options,
    };
    this.current = {
      mode: options.mode,
      host: options.host,
      port: options.port,
      clientId: options.clientId,
      state: "disconnected",
      serverVersion: 0,
      connectionTime: "",
      managedAccounts: [],
      activeAccount: undefined,
      isPaper: isPaperPort(options.port),
      connectedSince: undefined,
      reconnectCount: 0,
      lastError: undefined,
      ibConnectivity: false,
    };
    this.api = new IBApi({ host: options.host, port: options.port });
    this.outbound = installOutboundLimiter(this.api, this.options.maxRequestsPerSecond);
    this.wire();
  }

  get status(): GatewayStatus {
    return { ...this.current, managedAccounts: [...this.current.managedAccounts] };
  }

  /** Messages waiting in the outbound token bucket (metrics). */
  get outboundQueued(): number {
    return this.outbound.queued;
  }

  /** How long a request sent now waits in the outbound token bucket (ms). */
  get outboundBacklogMs(): number {
    return this.outbound.backlogMs();
  }

  get isReady(): boolean {
    return this.current.state === "connected";
  }

  /**
   * Connects and resolves when the API is ready. Rejects (and stops) when the first attempt fails: with
   * IB_GATEWAY_URL set, start-up must fail clearly rather than serve nothing. Later losses reconnect.
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstReady = { resolve, reject };
      this.connect("connecting");
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.readyTimer);
    this.setState("disconnected");
    this.outbound.clear();
    // Also while a connect is pending (TCP up, handshake not done): isConnected is still false then.
    this.api.disconnect();
    this.firstReady?.reject(new Error("stopped before the Gateway connection was ready"));
    this.firstReady = undefined;
  }

  private connect(state: ConnectionState): void {
    if (this.stopped) return;
    this.setState(state);
    this.pendingManagedAccounts = [];
    clearTimeout(this.readyTimer);
    this.readyTimer = setTimeout(() => {
      this.fail(`no API handshake from ${this.address} within ${this.options.connectTimeoutMs} ms (is it an IB Gateway/TWS with the API enabled?)`);
      this.api.disconnect();
    }, this.options.connectTimeoutMs);
    this.api.connect(this.options.clientId);
  }

  private get address(): string {
    return `${this.current.host}:${this.current.port}`;
  }

  private wire(): void {
    const api = this.api;
    api.on(EventName.server, (version: number, connectionTime: string) => {
      this.current.serverVersion = version;
      this.current.connectionTime = connectionTime;
      // A new connection: what it is comes from this session (a simulator names itself before nextValidId).
      this.current.mode = this.options.mode;
      // A new socket per connection: give each one the input time slice.
      if (!installInputFairness(api)) this.options.log.debug("could not reach @stoqey/ib's socket: IB input is not time-sliced");
    });
    api.on(EventName.managedAccounts, (accounts: string) => {
      this.pendingManagedAccounts = accounts.split(",").map((a) => a.trim()).filter((a) => a !== "");
    });
    api.on(EventName.nextValidId, () => this.onReady());
    // @stoqey/ib emits `received` once per decoded message, before handling it.
    api.on(EventName.received, () => ibMessagesIn.inc());
    api.on(EventName.disconnected, () => this.onDisconnected());
    api.on(EventName.info, (message: string, code: number) => this.onInfo(message, code));
    api.on(EventName.error, (err: Error, code: number, reqId: number) => {
      // Connection-level failures (socket errors: 502) carry reqId -1; request errors are the adapter's.
      if (reqId === -1 || reqId === undefined) this.current.lastError = `${err.message} (code ${code})`;
    });
  }

  private onReady(): void {
    if (this.stopped) return; // a handshake that completed after stop(): the socket is being closed
    if (this.current.state === "connected") return; // nextValidId also answers reqIds
    clearTimeout(this.readyTimer);
    const accounts = this.pendingManagedAccounts;
    const wanted = this.options.accountId;
    if (wanted !== undefined && !accounts.includes(wanted)) {
      this.fatal(
        `IB_ACCOUNT_ID ${maskAccountId(wanted)} is not managed by this login (managed: ${accounts.map(maskAccountId).join(", ") || "none"})`,
      );
      return;
    }
    if (wanted === undefined && accounts.length > 1) {
      this.options.log.warn({ accounts: accounts.map(maskAccountId) }, "several managed accounts and no IB_ACCOUNT_ID: using the first");
    }
    const active = wanted ?? accounts[0];
    this.current.managedAccounts = accounts;
    this.current.activeAccount = active;
    this.current.isPaper = (active?.startsWith("DU") ?? false) || isPaperPort(this.current.port);
    this.current.connectedSince = new Date();
    this.current.ibConnectivity = true;
    this.current.lastError = undefined;
    const reconnected = this.everReady;
    if (reconnected) {
      this.current.reconnectCount++;
      ibReconnects.inc();
    }
    this.everReady = true;
    this.attempt = 0;
    this.setState("connected");
    this.options.log.info(
      { gateway: this.address, mode: this.current.mode, serverVersion: this.current.serverVersion, account: active ? maskAccountId(active) : undefined, paper: this.current.isPaper },
      reconnected ? "reconnected to the Gateway" : "connected to the Gateway",
    );
    this.firstReady?.resolve();
    this.firstReady = undefined;
    this.emit("ready", { reconnected });
  }

  private onInfo(message: string, code: number): void {
    if (this.stopped) return;
    if (isSimulatorIdentity(code, message)) {
      if (this.current.mode !== "simulator") this.options.log.info({ gateway: this.address }, "the Gateway is a simulator (it says so on the wire)");
      this.current.mode = "simulator";
      return;
    }
    switch (code) {
      case CLIENT_ID_IN_USE:
        this.fail(`client id ${this.options.clientId} is already in use at ${this.address}: set IB_CLIENT_ID to an unused id, or wait until the old session is released`);
        return;
      case CONNECTIVITY_LOST:
        this.current.ibConnectivity = false;
        this.options.log.warn({ code }, "IB lost connectivity to its servers; data is stale until it is restored");
        this.emit("ibConnectivity", { up: false, dataLost: false, code });
        return;
      case RESTORED_DATA_LOST:
      case RESTORED_DATA_MAINTAINED:
        this.current.ibConnectivity = true;
        this.options.log.info({ code }, code === RESTORED_DATA_LOST ? "IB connectivity restored, data lost: resubscribing" : "IB connectivity restored, data maintained");
        this.emit("ibConnectivity", { up: true, dataLost: code === RESTORED_DATA_LOST, code });
        return;
      case 100:
        // Our outbound token bucket should make this impossible; IB drops the session after 3.
        this.options.log.warn({ code, message }, "IB reports the message rate was exceeded (error 100)");
        return;
      case SOCKET_PORT_RESET:
        this.current.lastError = message;
        return;
      default:
        this.options.log.debug({ code, message }, "gateway info");
    }
  }

  private onDisconnected(): void {
    clearTimeout(this.readyTimer);
    // Whatever is still queued was meant for the session that just died: never write it onto the next.
    const dropped = this.outbound.clear();
    if (dropped > 0) {
      ibOutboundDropped.inc(dropped);
      this.options.log.info({ dropped }, "dropped queued outbound messages of the lost session");
    }
    if (this.stopped) return;
    const wasConnected = this.current.state === "connected";
    this.current.connectedSince = undefined;
    this.current.ibConnectivity = false;
    const reason = this.current.lastError ?? "connection closed by the Gateway";
    if (this.firstReady !== undefined) {
      // The very first attempt failed: say so and stop; no silent retries at start-up.
      this.fatal(`cannot connect to the IB Gateway at ${this.address}: ${reason}`);
      return;
    }
    if (wasConnected) {
      this.setState("lost");
      this.options.log.warn({ gateway: this.address, reason }, "Gateway connection lost; reconnecting");
      this.emit("lost", { reason });
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    this.options.log.info({ gateway: this.address, delayMs: delay, attempt: this.attempt }, "reconnect scheduled");
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect("reconnecting"), delay);
  }

  private fail(message: string): void {
    this.current.lastError = message;
    this.options.log.error({ gateway: this.address }, message);
  }

  private fatal(message: string): void {
    this.fail(message);
    const pending = this.firstReady;
    this.firstReady = undefined;
    this.stop();
    if (pending !== undefined) pending.reject(new GatewayFatalError(message));
    else this.emit("fatal", { message }); // after start-up nobody awaits: the app must hear it
  }

  private setState(state: ConnectionState): void {
    if (this.current.state === state) return;
    this.current.state = state;
    this.emit("state", state);
  }
}
