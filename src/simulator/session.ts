/**
 * One client connection: greeting and version negotiation, START_API and clientId, buffered output, the
 * session's subscriptions, message-rate limiting and the pump that drives every stream. Requests are
 * answered by the handlers of ./handlers, found through ./requestTable.
 */
import type { Socket } from "node:net";
import { ERR, type IbError } from "./errors.js";
import type { AccountUpdatesFeed } from "./feeds/accountFeeds.js";
import type { FeedContext, Subscription } from "./feeds/feed.js";
import { formatZoned } from "./feeds/ibDateTime.js";
import { FloodPump, isFlooded } from "./flood.js";
import type { GatewayCore } from "./gateway.js";
import { MessageRateLimiter } from "./limits.js";
import type { Entitlement, InstrumentSpec } from "./market/types.js";
import { FieldReader } from "./messages/inbound.js";
import { MIN_CLIENT_VERSION, MIN_SV, OUT } from "./messages/ids.js";
import * as msg from "./messages/outbound.js";
import { requestTable } from "./requestTable.js";
import { type Field } from "./wire/fields.js";
import { encodeFrame, encodeLegacy, FrameReader, parseGreeting } from "./wire/framing.js";

type State = "greeting" | "await-start" | "ready" | "closed";

/** Buffered output beyond which a client that does not read is dropped (TWS drops slow consumers too). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/** A historical request answered after `historicalLatencyMs`: it holds its reqId and counts as open. */
export interface PendingHistorical {
  reqId: number;
  timer: NodeJS.Timeout;
  /** Historical ticks have no cancel at IB: cancelHistoricalData does not find them. */
  kind: "bars" | "ticks";
}

export class Session implements FeedContext {
  sv = 0;
  clientId: number | undefined;
  readonly id: number;
  /** Streaming subscriptions by reqId. */
  readonly subs = new Map<number, Subscription>();
  readonly pendingHistorical = new Map<number, PendingHistorical>();
  /** reqAccountUpdates has no reqId: at most one per connection, pumped beside the subscriptions. */
  accountUpdates: AccountUpdatesFeed | undefined;
  /** Set by reqMarketDataType: 1 live, 2 frozen, 3 delayed, 4 delayed frozen. */
  marketDataType = 1;
  /** reqPositions was sent and not cancelled: position changes (fills) are sent as they happen. */
  positionsSubscribed = false;
  /** Wall-clock ms until which every stream of this session is stalled. */
  stalledUntil = 0;
  private state: State = "greeting";
  private greetingBuf: Buffer = Buffer.alloc(0);
  private readonly reader = new FrameReader();
  private readonly rate: MessageRateLimiter;
  private readonly floodPump: FloodPump;
  private pumpTimer: NodeJS.Timeout | undefined;
  private tickByTickTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly gateway: GatewayCore,
    readonly socket: Socket,
    id: number,
  ) {
    this.id = id;
    this.rate = new MessageRateLimiter(gateway.options.limits.maxMessagesPerSec);
    this.floodPump = new FloodPump(this);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => this.onClosed());
    socket.on("error", () => this.onClosed());
    socket.on("drain", () => this.floodPump.onDrain());
  }

  get market() {
    return this.gateway.market;
  }

  now(): number {
    return this.gateway.options.now();
  }

  /** The next valid order id of this connection's clientId (ids are per clientId at IB, kept across reconnects). */
  get nextOrderId(): number {
    return this.gateway.orders.book.nextValidId(this.clientId ?? 0);
  }

  get isReady(): boolean {
    return this.state === "ready";
  }

  subscriptions(): IterableIterator<Subscription> {
    return this.subs.values();
  }

  pendingHistoricalCount(): number {
    return this.pendingHistorical.size;
  }

  entitlement(inst: InstrumentSpec): Entitlement {
    return this.gateway.options.entitlements[inst.symbol] ?? inst.entitlement;
  }

  // --- output -----------------------------------------------------------------------------------------

  send(fields: Field[]): boolean {
    if (this.state === "closed" || this.socket.destroyed) return false;
    const ok = this.socket.write(encodeFrame(fields));
    if (this.socket.writableLength > MAX_BUFFERED_BYTES) {
      this.gateway.log("warn", { clientId: this.clientId }, "client does not read; dropping connection");
      this.close();
    }
    return ok;
  }

  error(id: number, e: IbError, suffix = ""): void {
    this.send(msg.errMsg(this.sv || MIN_SV.ADVANCED_ORDER_REJECT, id, e.code, e.text + suffix));
  }

  /** An informational message (farm status, connectivity) for the whole connection. */
  info(e: IbError): void {
    this.error(-1, e);
  }

  close(): void {
    if (this.state === "closed") return;
    this.onClosed();
    this.socket.end();
    this.socket.destroy();
  }

  private onClosed(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    if (this.pumpTimer) clearInterval(this.pumpTimer);
    if (this.tickByTickTimer) clearInterval(this.tickByTickTimer);
    this.pumpTimer = undefined;
    this.tickByTickTimer = undefined;
    for (const p of this.pendingHistorical.values()) clearTimeout(p.timer);
    this.pendingHistorical.clear();
    for (const s of this.subs.values()) s.close?.();
    this.subs.clear();
    this.accountUpdates = undefined;
    this.gateway.onSessionClosed(this);
  }

  // --- subscriptions ----------------------------------------------------------------------------------

  add(s: Subscription): void {
    this.subs.set(s.reqId, s);
  }

  /** 102 when the id names an active subscription (or a historical request still in flight). */
  duplicate(reqId: number): boolean {
    if (this.subs.has(reqId) || this.pendingHistorical.has(reqId)) {
      this.error(reqId, ERR.DUPLICATE_ID);
      return true;
    }
    return false;
  }

  /** Ends the subscription of that kind; `notFound` is sent when there is none (IB is silent for most kinds). */
  cancel(reqId: number, kind: Subscription["kind"], notFound?: IbError): void {
    const s = this.subs.get(reqId);
    if (s && s.kind === kind) {
      s.close?.();
      this.subs.delete(reqId);
      return;
    }
    if (notFound) this.error(reqId, notFound, String(reqId));
  }

  // --- input ------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === "closed") return;
    let data = chunk;
    if (this.state === "greeting") {
      this.greetingBuf = Buffer.concat([this.greetingBuf, chunk]);
      const g = parseGreeting(this.greetingBuf);
      if (g.kind === "incomplete") return;
      if (g.kind === "legacy") {
        this.refuseLegacyClient(g.clientVersion);
        return;
      }
      if (g.kind === "invalid") {
        this.gateway.log("warn", { reason: g.reason }, "bad greeting; closing");
        this.close();
        return;
      }
      const version = Math.min(g.greeting.maxVersion, this.gateway.options.maxServerVersion);
      if (version < g.greeting.minVersion || version < MIN_CLIENT_VERSION) {
        this.gateway.log("warn", { greeting: g.greeting }, "no common server version; closing");
        this.close();
        return;
      }
      this.sv = version;
      // Exactly two fields: version and connection time (tws-protocol.md §1.2).
      this.socket.write(encodeFrame([version, `${formatZoned(this.now(), "UTC")} GMT`]));
      this.state = "await-start";
      data = this.greetingBuf.subarray(g.consumed);
      this.greetingBuf = Buffer.alloc(0);
      if (data.length === 0) return;
    }
    let frames: string[][];
    try {
      frames = this.reader.push(data);
    } catch (e) {
      this.gateway.log("warn", { err: String(e) }, "framing error; closing");
      this.close();
      return;
    }
    for (const f of frames) {
      if ((this.state as State) === "closed") return;
      this.onMessage(f);
    }
  }

  /**
   * A pre-v100 client (no "API\0" greeting). Serving the legacy protocol would mean unframed messages in
   * 20-year-old layouts that no maintained client speaks; closing silently left such a client waiting for
   * ever. It gets what it can read instead: the legacy reply (server version, connection time), an ERR_MSG
   * (id -1, 506, the reason) in the unframed format it decodes, and a close.
   */
  private refuseLegacyClient(clientVersion: number): void {
    this.gateway.log("warn", { clientVersion }, "pre-v100 client; answering 506 and closing");
    const v = this.gateway.options.maxServerVersion;
    this.socket.write(encodeLegacy([v, `${formatZoned(this.now(), "UTC")} GMT`]));
    this.socket.write(encodeLegacy(msg.errMsg(0, -1, ERR.LEGACY_CLIENT.code, ERR.LEGACY_CLIENT.text)));
    this.state = "closed";
    this.gateway.onSessionClosed(this);
    this.socket.end();
  }

  private onMessage(fields: string[]): void {
    const id = Number.parseInt(fields[0] ?? "", 10);
    const r = new FieldReader(fields.slice(1));
    if (this.state === "await-start") {
      if (id !== OUT.START_API) {
        this.gateway.log("warn", { id }, "message before START_API ignored");
        return;
      }
      r.int(); // version
      const clientId = r.int();
      this.start(clientId);
      return;
    }
    this.gateway.log("debug", { clientId: this.clientId, msgId: id, fields: fields.length }, "request");
    const verdict = this.rate.hit();
    if (verdict !== "ok") {
      if (verdict === "violation") {
        this.error(-1, ERR.RATE);
        if (this.rate.violations >= this.gateway.options.limits.maxRateViolations) {
          this.gateway.log("warn", { clientId: this.clientId }, "repeated message-rate violations; disconnecting");
          this.close();
        }
      }
      return;
    }
    const handle = requestTable.get(id);
    if (!handle) {
      this.gateway.log("debug", { id }, "unsupported message");
      this.error(-1, ERR.VALIDATION, `-'sim' : cause - Unsupported message id ${id}`);
      return;
    }
    try {
      handle(this, r);
    } catch (e) {
      this.gateway.log("error", { err: String(e), id }, "request handler failed");
      this.error(-1, ERR.VALIDATION, `-'sim' : cause - internal error handling message ${id}`);
    }
  }

  private start(clientId: number): void {
    if (!this.gateway.claimClientId(clientId, this)) {
      this.error(-1, ERR.CLIENT_ID_IN_USE);
      this.gateway.log("info", { clientId }, "client id in use; closing");
      this.close();
      return;
    }
    this.clientId = clientId;
    this.state = "ready";
    this.info(ERR.SIMULATOR_IDENTITY);
    this.send(msg.managedAccounts(this.gateway.accounts.ids()));
    this.send(msg.nextValidId(this.nextOrderId));
    this.error(-1, ERR.MD_FARM_OK);
    this.error(-1, ERR.HMDS_FARM_OK);
    this.error(-1, ERR.SECDEF_FARM_OK);
    this.pumpTimer = setInterval(() => this.pump(false), this.gateway.options.tickIntervalMs);
    this.pumpTimer.unref();
    // Tick-by-tick is not conflated: its own, faster cadence sends each trade close to its time.
    this.tickByTickTimer = setInterval(() => this.pump(true), this.gateway.options.tickByTickIntervalMs);
    this.tickByTickTimer.unref();
    this.gateway.log("info", { clientId, serverVersion: this.sv }, "client connected");
  }

  // --- pump -------------------------------------------------------------------------------------------

  private pump(tickByTick: boolean): void {
    if (this.state !== "ready") return;
    if (!tickByTick) this.gateway.stats.pumpTurns++;
    if (!this.gateway.connected) return;
    const wall = Date.now();
    if (wall < this.stalledUntil) return;
    const now = this.now();
    const flood = this.gateway.options.flood;
    for (const s of [...this.subs.values()]) {
      if (wall < s.stalledUntil) continue;
      if ((s.kind === "tickByTick") !== tickByTick) continue;
      if (flood && isFlooded(s)) continue; // the flood pump sends its data instead
      try {
        s.pump(now);
      } catch (e) {
        // A failing feed must not take the Gateway down: drop that subscription only.
        this.gateway.log("error", { err: String(e), reqId: s.reqId, kind: s.kind }, "feed failed; subscription dropped");
        this.subs.delete(s.reqId);
      }
    }
    if (tickByTick) return;
    if (this.accountUpdates && wall >= this.accountUpdates.stalledUntil) {
      try {
        this.accountUpdates.pump(now);
      } catch (e) {
        this.gateway.log("error", { err: String(e) }, "account updates failed");
        this.accountUpdates = undefined;
      }
    }
    if (flood) this.floodPump.startIfNeeded();
  }
}
