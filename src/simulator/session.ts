/**
 * One client connection: greeting and version negotiation, START_API and clientId, request dispatch,
 * the session's subscriptions, message-rate limiting and the pump that drives every stream.
 */
import type { Socket } from "node:net";
import { ERR, type IbError } from "./errors.js";
import { DepthFeed } from "./feeds/depth.js";
import type { FeedContext, Subscription } from "./feeds/feed.js";
import {
  barSeconds,
  barsAsOf,
  formatBarDate,
  HistoryUpdateFeed,
  isTradeData,
  RealTimeBarsFeed,
  WHAT_TO_SHOW,
} from "./feeds/history.js";
import { AccountSummaryFeed, AccountUpdatesFeed, AccountUpdatesMultiFeed, PnlFeed, PnlSingleFeed } from "./feeds/accountFeeds.js";
import { historicalTicks, MAX_HISTORICAL_TICKS, parseHistoricalTicksWhat } from "./feeds/historicalTicks.js";
import { formatZoned, parseEndDateTime } from "./feeds/ibDateTime.js";
import { MarketDataFeed } from "./feeds/marketData.js";
import { parseTickByTickType, TickByTickFeed } from "./feeds/tickByTick.js";
import type { GatewayCore } from "./gateway.js";
import { MessageRateLimiter } from "./limits.js";
import { barSizeForQuery, durationStartSec, isValidDurationForBarSize, parseBarSize, parseDuration } from "./market/index.js";
import type { Entitlement, InstrumentSpec, WhatToShow } from "./market/types.js";
import {
  decodeReqContractData,
  decodeReqHeadTimestamp,
  decodeReqHistoricalData,
  decodeReqHistoricalTicks,
  decodeReqMktData,
  decodeReqMktDepth,
  decodeReqRealTimeBars,
  decodeReqTickByTick,
  FieldReader,
  toContractQuery,
  type WireContract,
} from "./messages/inbound.js";
import { MIN_CLIENT_VERSION, MIN_SV, OUT } from "./messages/ids.js";
import * as msg from "./messages/outbound.js";
import { type Field } from "./wire/fields.js";
import { encodeFrame, FrameReader, parseGreeting } from "./wire/framing.js";

type State = "greeting" | "await-start" | "ready" | "closed";

/** Buffered output beyond which a client that does not read is dropped (TWS drops slow consumers too). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

interface PendingHistorical {
  reqId: number;
  timer: NodeJS.Timeout;
  /** Historical ticks have no cancel at IB: cancelHistoricalData does not find them. */
  kind: "bars" | "ticks";
}

export class Session implements FeedContext {
  sv = 0;
  clientId: number | undefined;
  readonly id: number;
  private state: State = "greeting";
  private greetingBuf: Buffer = Buffer.alloc(0);
  private readonly reader = new FrameReader();
  private readonly subs = new Map<number, Subscription>();
  private readonly pendingHistorical = new Map<number, PendingHistorical>();
  private accountUpdates: AccountUpdatesFeed | undefined;
  private marketDataType = 1;
  private nextOrderId = 1;
  private readonly rate: MessageRateLimiter;
  private pumpTimer: NodeJS.Timeout | undefined;
  private tickByTickTimer: NodeJS.Timeout | undefined;
  private flooding = false;
  private floodScheduled = false;
  /** Rate-limited flood: when it started (performance.now()) and frames sent since. */
  private floodStartMs: number | undefined;
  private floodSent = 0;
  /** Wall-clock ms until which every stream of this session is stalled. */
  stalledUntil = 0;

  constructor(
    private readonly gw: GatewayCore,
    readonly socket: Socket,
    id: number,
  ) {
    this.id = id;
    this.rate = new MessageRateLimiter(gw.options.limits.maxMessagesPerSec);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => this.onClosed());
    socket.on("error", () => this.onClosed());
    socket.on("drain", () => {
      if (this.flooding) this.scheduleFlood();
    });
  }

  get market() {
    return this.gw.market;
  }

  now(): number {
    return this.gw.options.now();
  }

  get isReady(): boolean {
    return this.state === "ready";
  }

  subscriptions(): IterableIterator<Subscription> {
    return this.subs.values();
  }

  entitlement(inst: InstrumentSpec): Entitlement {
    return this.gw.options.entitlements[inst.symbol] ?? inst.entitlement;
  }

  // --- output -----------------------------------------------------------------------------------------

  send(fields: Field[]): boolean {
    if (this.state === "closed" || this.socket.destroyed) return false;
    const ok = this.socket.write(encodeFrame(fields));
    if (this.socket.writableLength > MAX_BUFFERED_BYTES) {
      this.gw.log("warn", { clientId: this.clientId }, "client does not read; dropping connection");
      this.close();
    }
    return ok;
  }

  error(id: number, e: IbError, suffix = ""): void {
    this.send(msg.errMsg(this.sv || MIN_SV.ADVANCED_ORDER_REJECT, id, e.code, e.text + suffix));
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
    this.gw.onSessionClosed(this);
  }

  // --- input ------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === "closed") return;
    let data = chunk;
    if (this.state === "greeting") {
      this.greetingBuf = Buffer.concat([this.greetingBuf, chunk]);
      const g = parseGreeting(this.greetingBuf);
      if (g.kind === "incomplete") return;
      if (g.kind === "invalid") {
        this.gw.log("warn", { reason: g.reason }, "bad greeting; closing");
        this.close();
        return;
      }
      const version = Math.min(g.greeting.maxVersion, this.gw.options.maxServerVersion);
      if (version < g.greeting.minVersion || version < MIN_CLIENT_VERSION) {
        this.gw.log("warn", { greeting: g.greeting }, "no common server version; closing");
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
      this.gw.log("warn", { err: String(e) }, "framing error; closing");
      this.close();
      return;
    }
    for (const f of frames) {
      if ((this.state as State) === "closed") return;
      this.onMessage(f);
    }
  }

  private onMessage(fields: string[]): void {
    const id = Number.parseInt(fields[0] ?? "", 10);
    const r = new FieldReader(fields.slice(1));
    if (this.state === "await-start") {
      if (id !== OUT.START_API) {
        this.gw.log("warn", { id }, "message before START_API ignored");
        return;
      }
      r.int(); // version
      const clientId = r.int();
      this.start(clientId);
      return;
    }
    this.gw.log("debug", { clientId: this.clientId, msgId: id, fields: fields.length }, "request");
    const verdict = this.rate.hit();
    if (verdict !== "ok") {
      if (verdict === "violation") {
        this.error(-1, ERR.RATE);
        if (this.rate.violations >= this.gw.options.limits.maxRateViolations) {
          this.gw.log("warn", { clientId: this.clientId }, "repeated message-rate violations; disconnecting");
          this.close();
        }
      }
      return;
    }
    try {
      this.dispatch(id, r);
    } catch (e) {
      this.gw.log("error", { err: String(e), id }, "request handler failed");
      this.error(-1, ERR.VALIDATION, `-'sim' : cause - internal error handling message ${id}`);
    }
  }

  private start(clientId: number): void {
    if (!this.gw.claimClientId(clientId, this)) {
      this.error(-1, ERR.CLIENT_ID_IN_USE);
      this.gw.log("info", { clientId }, "client id in use; closing");
      this.close();
      return;
    }
    this.clientId = clientId;
    this.state = "ready";
    this.send(msg.managedAccounts(this.gw.accounts.ids()));
    this.send(msg.nextValidId(this.nextOrderId));
    this.error(-1, ERR.MD_FARM_OK);
    this.error(-1, ERR.HMDS_FARM_OK);
    this.error(-1, ERR.SECDEF_FARM_OK);
    this.pumpTimer = setInterval(() => this.pump(false), this.gw.options.tickIntervalMs);
    this.pumpTimer.unref();
    // Tick-by-tick is not conflated: its own, faster cadence sends each trade close to its time.
    this.tickByTickTimer = setInterval(() => this.pump(true), this.gw.options.tickByTickIntervalMs);
    this.tickByTickTimer.unref();
    this.gw.log("info", { clientId, serverVersion: this.sv }, "client connected");
  }

  // --- pump -------------------------------------------------------------------------------------------

  private pump(tickByTick: boolean): void {
    if (this.state !== "ready" || !this.gw.connected) return;
    const wall = Date.now();
    if (wall < this.stalledUntil) return;
    const now = this.now();
    for (const s of [...this.subs.values()]) {
      if (wall < s.stalledUntil) continue;
      if ((s.kind === "tickByTick") !== tickByTick) continue;
      if (this.gw.options.flood && isFlooded(s)) continue; // flood() sends its data instead
      try {
        s.pump(now);
      } catch (e) {
        // A failing feed must not take the Gateway down: drop that subscription only.
        this.gw.log("error", { err: String(e), reqId: s.reqId, kind: s.kind }, "feed failed; subscription dropped");
        this.subs.delete(s.reqId);
      }
    }
    if (tickByTick) return;
    if (this.accountUpdates && wall >= this.accountUpdates.stalledUntil) {
      try {
        this.accountUpdates.pump(now);
      } catch (e) {
        this.gw.log("error", { err: String(e) }, "account updates failed");
        this.accountUpdates = undefined;
      }
    }
    if (this.gw.options.flood && !this.flooding && [...this.subs.values()].some(isFlooded)) {
      this.flooding = true;
      this.scheduleFlood();
    }
  }

  private scheduleFlood(): void {
    if (this.floodScheduled) return;
    this.floodScheduled = true;
    setImmediate(() => {
      this.floodScheduled = false;
      this.flood();
    });
  }

  /**
   * Flood mode: write L1 ticks (and tick-by-tick trades) until the socket says stop, then continue on
   * 'drain'; with floodRatePerSec, no faster than that on average.
   */
  private flood(): void {
    if (this.state !== "ready" || !this.gw.connected) {
      this.flooding = false;
      return;
    }
    const wall = Date.now();
    const feeds = [...this.subs.values()].filter((s): s is MarketDataFeed | TickByTickFeed => isFlooded(s) && wall >= s.stalledUntil);
    if (feeds.length === 0 || wall < this.stalledUntil) {
      this.flooding = false;
      return;
    }
    const { floodRatePerSec, floodStampSizes } = this.gw.options;
    const now = this.now();
    for (let round = 0; round < 8; round++) {
      let batch = this.gw.options.floodBatch;
      if (floodRatePerSec !== undefined) {
        this.floodStartMs ??= performance.now();
        const due = Math.floor(((performance.now() - this.floodStartMs) * floodRatePerSec) / 1000) - this.floodSent;
        if (due <= 0) {
          setTimeout(() => this.scheduleFlood(), 1);
          return;
        }
        batch = Math.max(1, Math.min(batch, Math.ceil(due / feeds.length)));
      }
      const stamp = floodStampSizes ? String(Math.round((performance.timeOrigin + performance.now()) * 1000)) : undefined;
      const frames: Field[][] = [];
      for (const f of feeds) f.floodFrames(now, batch, frames, stamp);
      const buf = Buffer.concat(frames.map((fr) => encodeFrame(fr)));
      this.gw.stats.floodTicks += frames.length;
      this.floodSent += frames.length;
      if (!this.socket.write(buf)) return; // resumes on 'drain'
    }
    this.scheduleFlood();
  }

  // --- dispatch ---------------------------------------------------------------------------------------

  private dispatch(id: number, r: FieldReader): void {
    const sv = this.sv;
    switch (id) {
      case OUT.REQ_CURRENT_TIME:
        this.send(msg.currentTime(Math.floor(this.now() / 1000)));
        return;
      case OUT.REQ_IDS:
        this.send(msg.nextValidId(this.nextOrderId));
        return;
      case OUT.REQ_MANAGED_ACCTS:
        this.send(msg.managedAccounts(this.gw.accounts.ids()));
        return;
      case OUT.REQ_MARKET_DATA_TYPE: {
        r.int();
        const t = r.int();
        if (t >= 1 && t <= 4) this.marketDataType = t;
        return;
      }
      case OUT.REQ_CONTRACT_DATA:
        return this.onContractDetails(decodeReqContractData(sv, r));
      case OUT.REQ_MKT_DATA:
        return this.onMktData(decodeReqMktData(sv, r));
      case OUT.CANCEL_MKT_DATA: {
        r.int();
        return this.cancel(r.int(), "mktData", ERR.NO_EID);
      }
      case OUT.REQ_MKT_DEPTH:
        return this.onMktDepth(decodeReqMktDepth(sv, r));
      case OUT.CANCEL_MKT_DEPTH: {
        r.int();
        return this.cancel(r.int(), "depth", ERR.NO_DEPTH);
      }
      case OUT.REQ_TICK_BY_TICK_DATA:
        return this.onTickByTick(decodeReqTickByTick(sv, r));
      case OUT.CANCEL_TICK_BY_TICK_DATA:
        return this.cancel(r.int(), "tickByTick");
      case OUT.REQ_HISTORICAL_DATA:
        return this.onHistorical(decodeReqHistoricalData(sv, r));
      case OUT.CANCEL_HISTORICAL_DATA: {
        r.int();
        return this.onCancelHistorical(r.int());
      }
      case OUT.REQ_HISTORICAL_TICKS:
        return this.onHistoricalTicks(decodeReqHistoricalTicks(sv, r));
      case OUT.REQ_HEAD_TIMESTAMP:
        return this.onHeadTimestamp(decodeReqHeadTimestamp(sv, r));
      case OUT.CANCEL_HEAD_TIMESTAMP:
        return;
      case OUT.REQ_REAL_TIME_BARS:
        return this.onRealTimeBars(decodeReqRealTimeBars(sv, r));
      case OUT.CANCEL_REAL_TIME_BARS: {
        r.int();
        return this.cancel(r.int(), "realTimeBars");
      }
      case OUT.REQ_ACCOUNT_SUMMARY: {
        r.int();
        const reqId = r.int();
        const group = r.str();
        const tags = r.str();
        return this.onAccountSummary(reqId, group, tags);
      }
      case OUT.CANCEL_ACCOUNT_SUMMARY: {
        r.int();
        return this.cancel(r.int(), "accountSummary");
      }
      case OUT.REQ_ACCOUNT_DATA: {
        r.int();
        const subscribe = r.bool();
        const acct = r.str();
        return this.onAccountUpdates(subscribe, acct);
      }
      case OUT.REQ_POSITIONS:
        return this.onPositions();
      case OUT.REQ_POSITIONS_MULTI: {
        r.int();
        const reqId = r.int();
        const account = r.str();
        return this.onPositionsMulti(reqId, account, r.str());
      }
      case OUT.CANCEL_POSITIONS_MULTI:
        return;
      case OUT.REQ_ACCOUNT_UPDATES_MULTI: {
        r.int();
        const reqId = r.int();
        const account = r.str();
        const modelCode = r.str();
        return this.onAccountUpdatesMulti(reqId, account, modelCode, r.bool());
      }
      case OUT.CANCEL_ACCOUNT_UPDATES_MULTI: {
        r.int();
        return this.cancel(r.int(), "accountMulti");
      }
      case OUT.CANCEL_POSITIONS:
        return;
      case OUT.REQ_PNL: {
        const reqId = r.int();
        const account = r.str();
        r.str(); // modelCode
        return this.onPnl(reqId, account, undefined);
      }
      case OUT.CANCEL_PNL:
        return this.cancel(r.int(), "pnl");
      case OUT.REQ_PNL_SINGLE: {
        const reqId = r.int();
        const account = r.str();
        r.str(); // modelCode
        return this.onPnl(reqId, account, r.int());
      }
      case OUT.CANCEL_PNL_SINGLE:
        return this.cancel(r.int(), "pnlSingle");
      case OUT.REQ_OPEN_ORDERS:
      case OUT.REQ_ALL_OPEN_ORDERS:
        this.send(msg.openOrderEnd());
        return;
      case OUT.REQ_AUTO_OPEN_ORDERS:
      case OUT.REQ_GLOBAL_CANCEL:
        return;
      case OUT.REQ_EXECUTIONS: {
        r.int();
        this.send(msg.executionDataEnd(r.int()));
        return;
      }
      case OUT.REQ_COMPLETED_ORDERS:
        this.send(msg.completedOrdersEnd());
        return;
      case OUT.REQ_USER_INFO:
        this.send(msg.userInfo(r.int(), ""));
        return;
      case OUT.PLACE_ORDER: {
        const orderId = sv < 145 ? (r.int(), r.int()) : r.int();
        this.error(orderId, { code: 201, text: "Order rejected - reason:" }, "Order placement is not supported by the simulated Gateway.");
        return;
      }
      case OUT.CANCEL_ORDER:
      case OUT.START_API: // already started: TWS ignores a repeat
        return;
      default:
        this.gw.log("debug", { id }, "unsupported message");
        this.error(-1, ERR.VALIDATION, `-'sim' : cause - Unsupported message id ${id}`);
    }
  }

  // --- helpers ----------------------------------------------------------------------------------------

  private cancel(reqId: number, kind: Subscription["kind"], notFound?: IbError): void {
    const s = this.subs.get(reqId);
    if (s && s.kind === kind) {
      s.close?.();
      this.subs.delete(reqId);
      return;
    }
    if (notFound) this.error(reqId, notFound, String(reqId));
  }

  /** 102 when the id names an active subscription (or a historical request still in flight). */
  private duplicate(reqId: number): boolean {
    if (this.subs.has(reqId) || this.pendingHistorical.has(reqId)) {
      this.error(reqId, ERR.DUPLICATE_ID);
      return true;
    }
    return false;
  }

  /** Exactly one instrument, or error 200. */
  private resolve(reqId: number, c: WireContract): InstrumentSpec | undefined {
    const found = this.market.findContracts(toContractQuery(c));
    if (found.length !== 1) {
      this.error(reqId, ERR.NO_SECDEF);
      return undefined;
    }
    return found[0];
  }

  private add(s: Subscription): void {
    this.subs.set(s.reqId, s);
  }

  // --- contract details -------------------------------------------------------------------------------

  private onContractDetails(req: ReturnType<typeof decodeReqContractData>): void {
    const found = this.market.findContracts(toContractQuery(req.contract));
    if (found.length === 0) {
      this.error(req.reqId, ERR.NO_SECDEF);
      return;
    }
    for (const c of found) this.send(msg.contractData(this.sv, req.reqId, c));
    this.send(msg.contractDataEnd(req.reqId));
  }

  // --- market data ------------------------------------------------------------------------------------

  /** Entitlement gate shared by L1/L2/tick-by-tick. Returns the data type to announce, or undefined (error sent). */
  private entitled(reqId: number, inst: InstrumentSpec, allowDelayed: boolean): number | undefined {
    const ent = this.entitlement(inst);
    if (ent === "none") {
      this.error(reqId, ERR.NOT_SUBSCRIBED);
      return undefined;
    }
    if (ent === "delayed-only") {
      if (allowDelayed && this.marketDataType >= 3) {
        this.error(reqId, ERR.DISPLAYING_DELAYED);
        return this.marketDataType;
      }
      this.error(reqId, ERR.NEEDS_SUBSCRIPTION);
      return undefined;
    }
    // Live entitlement: live data whatever type was asked (frozen types only matter once the market closes).
    return this.marketDataType === 2 || this.marketDataType === 4 ? (this.market.isOpen(inst, this.now(), false) ? 1 : 2) : 1;
  }

  private onMktData(req: ReturnType<typeof decodeReqMktData>): void {
    if (this.duplicate(req.reqId)) return;
    const inst = this.resolve(req.reqId, req.contract);
    if (!inst) return;
    if (!req.snapshot && this.gw.count(["mktData", "realTimeBars"]) >= this.gw.options.limits.marketDataLines) {
      this.error(req.reqId, ERR.MAX_TICKERS);
      return;
    }
    const dataType = this.entitled(req.reqId, inst, true);
    if (dataType === undefined) return;
    const generic = new Set(
      req.genericTickList
        .split(",")
        .map((s) => Number.parseInt(s, 10))
        .filter((n) => Number.isFinite(n)),
    );
    const feed = new MarketDataFeed(this, {
      reqId: req.reqId,
      instrument: inst,
      dataType,
      delayMs: this.gw.options.delayedMs,
      genericTicks: generic,
    });
    const now = this.now();
    if (req.snapshot || req.regulatorySnapshot) {
      this.send(msg.tickReqParams(req.reqId, inst.minTick, "", 3));
      this.send(msg.marketDataType(req.reqId, dataType));
      feed.sendFull(now);
      this.send(msg.tickSnapshotEnd(req.reqId));
      return;
    }
    feed.start(now);
    this.add(feed);
  }

  private onMktDepth(req: ReturnType<typeof decodeReqMktDepth>): void {
    if (this.duplicate(req.reqId)) return;
    const inst = this.resolve(req.reqId, req.contract);
    if (!inst) return;
    if (this.gw.count(["depth"]) >= this.gw.options.limits.maxDepth) {
      this.error(req.reqId, { code: ERR.MAX_DEPTH.code, text: `Max number (${this.gw.options.limits.maxDepth}) of market depth requests has been reached` });
      return;
    }
    if (this.entitled(req.reqId, inst, false) === undefined) return;
    const rows = Math.max(1, Math.min(req.numRows || 5, 50));
    const feed = new DepthFeed(this, req.reqId, inst, rows, req.isSmartDepth);
    this.add(feed);
    feed.pump(this.now());
  }

  private onTickByTick(req: ReturnType<typeof decodeReqTickByTick>): void {
    if (this.duplicate(req.reqId)) return;
    const inst = this.resolve(req.reqId, req.contract);
    if (!inst) return;
    const type = parseTickByTickType(req.tickType);
    if (!type) {
      this.error(req.reqId, ERR.VALIDATION, `-'bH' : cause - Invalid tick type ${req.tickType}`);
      return;
    }
    if (this.gw.count(["tickByTick"]) >= this.gw.options.limits.maxTickByTick) {
      this.error(req.reqId, ERR.MAX_TBT);
      return;
    }
    if (this.entitled(req.reqId, inst, false) === undefined) return;
    this.add(new TickByTickFeed(this, req.reqId, inst, type, req.ignoreSize, this.now()));
  }

  // --- history ----------------------------------------------------------------------------------------

  /** Validates whatToShow for an instrument; sends the error and returns undefined when invalid. */
  private whatToShow(reqId: number, inst: InstrumentSpec, raw: string): WhatToShow | undefined {
    const w = raw.toUpperCase() as WhatToShow;
    if (!WHAT_TO_SHOW.includes(w)) {
      this.error(reqId, ERR.VALIDATION, `-'bS' : cause - Invalid whatToShow ${raw}`);
      return undefined;
    }
    if (inst.secType === "CRYPTO" && w === "TRADES") {
      this.error(reqId, ERR.CRYPTO_TRADES);
      return undefined;
    }
    if (inst.secType !== "CRYPTO" && w === "AGGTRADES") {
      this.error(reqId, ERR.HMDS, `No data of type AGGTRADES is available for ${inst.symbol}@${inst.exchange}`);
      return undefined;
    }
    if (inst.secType === "CASH" && isTradeData(w)) {
      this.error(reqId, ERR.HMDS, `No historical market data for ${inst.symbol}/${inst.secType}@${inst.exchange} Last 0`);
      return undefined;
    }
    return w;
  }

  private onHistorical(req: ReturnType<typeof decodeReqHistoricalData>): void {
    const { reqId } = req;
    if (this.duplicate(reqId)) return;
    const inst = this.resolve(reqId, req.contract);
    if (!inst) return;
    if (this.entitlement(inst) === "none") {
      this.error(reqId, ERR.HMDS, `No market data permissions for ${inst.exchange} ${inst.secType}`);
      return;
    }
    const what = this.whatToShow(reqId, inst, req.whatToShow);
    if (!what) return;
    const parsedBarSize = parseBarSize(req.barSize);
    if (parsedBarSize === undefined) {
      this.error(reqId, ERR.VALIDATION, `-'bP' : cause - Historical data bar size setting is invalid. Legal ones are: 1 secs, 5 secs, 10 secs, 15 secs, 30 secs, 1 min, 2 mins, 3 mins, 5 mins, 10 mins, 15 mins, 20 mins, 30 mins, 1 hour, 2 hours, 3 hours, 4 hours, 8 hours, 1 day, 1W, 1M`);
      return;
    }
    const barSize = barSizeForQuery(parsedBarSize);
    const duration = parseDuration(req.duration);
    if (!duration) {
      this.error(reqId, ERR.VALIDATION, `-'bQ' : cause - Historical data query duration string [${req.duration}] is invalid`);
      return;
    }
    if (req.keepUpToDate && req.endDateTime.trim() !== "") {
      this.error(reqId, ERR.VALIDATION, `-'bR' : cause - End date not supported with live updates`);
      return;
    }
    const now = this.now();
    const endSec = parseEndDateTime(req.endDateTime, now, inst.timeZoneId || "UTC");
    if (endSec === undefined) {
      this.error(reqId, ERR.VALIDATION, `-'bW' : cause - Historical data query end date/time string [${req.endDateTime}] is invalid.  Format is 'YYYYMMDD{SPACE}hh:mm:ss[{SPACE}TMZ]'.`);
      return;
    }
    if (!isValidDurationForBarSize(duration, parsedBarSize)) {
      this.error(reqId, ERR.HMDS, "Time length exceed max.");
      return;
    }
    const startSec = durationStartSec(endSec, duration, inst.session);
    if ((endSec - startSec) / barSeconds(barSize) > 200_000) {
      this.error(reqId, ERR.HMDS, "Time length exceed max.");
      return;
    }
    const lim = this.gw.options.limits;
    if (this.gw.openHistoricalCount() >= lim.historicalMaxOpen) {
      this.error(reqId, ERR.PROCESSING, `-'bX' : cause - Only ${lim.historicalMaxOpen} simultaneous API historical data requests allowed.`);
      return;
    }
    const violation = this.gw.pacer.admit({
      contractKey: `${inst.conId}|${inst.exchange}|${what}`,
      identityKey: `${inst.conId}|${req.endDateTime}|${req.barSize}|${req.duration}|${what}|${req.useRTH}|${req.keepUpToDate}`,
      weight: what === "BID_ASK" ? 2 : 1,
    });
    if (violation) {
      this.error(reqId, ERR.HMDS, violation);
      return;
    }
    const answer = () => {
      this.pendingHistorical.delete(reqId);
      if (this.state !== "ready") return;
      const at = this.now();
      const bars = barsAsOf(this.market, inst, { barSize, fromSec: startSec, toSec: endSec, useRTH: req.useRTH, whatToShow: what }, at);
      if (bars.length === 0 && !req.keepUpToDate) {
        this.error(reqId, ERR.HMDS, `HMDS query returned no data: ${inst.localSymbol}@${inst.exchange} ${what}`);
        return;
      }
      const tz = inst.timeZoneId || "UTC";
      const fmt = (s: number) => (this.sv >= MIN_SV.INSTRUMENT_TIMEZONE ? `${formatZoned(s * 1000, tz)} ${tz}` : formatZoned(s * 1000, "UTC"));
      this.send(
        msg.historicalData(
          this.sv,
          reqId,
          fmt(startSec),
          fmt(endSec),
          bars.map((bar) => ({ date: formatBarDate(bar.startSec, barSize, req.formatDate, tz, this.sv), bar })),
        ),
      );
      if (req.keepUpToDate) {
        this.add(new HistoryUpdateFeed(this, reqId, inst, barSize, req.useRTH, what, req.formatDate));
      }
    };
    const latency = this.gw.options.historicalLatencyMs;
    if (latency <= 0) {
      answer();
      return;
    }
    const timer = setTimeout(answer, latency);
    timer.unref();
    this.pendingHistorical.set(reqId, { reqId, timer, kind: "bars" });
  }

  private onCancelHistorical(reqId: number): void {
    const pending = this.pendingHistorical.get(reqId);
    if (pending && pending.kind === "bars") {
      clearTimeout(pending.timer);
      this.pendingHistorical.delete(reqId);
      this.error(reqId, ERR.HMDS, `API historical data query cancelled: ${reqId}`);
      return;
    }
    const s = this.subs.get(reqId);
    if (s && s.kind === "history") {
      this.subs.delete(reqId);
      return;
    }
    this.error(reqId, ERR.NO_HIST_QUERY, String(reqId));
  }

  /**
   * reqHistoricalTicks (OUT 96). Checks in IB's order of layers: contract (200), request validation (321),
   * permissions and data availability (162 from HMDS, like bars), open-request limit (322), pacing (162,
   * counted in the same pacer as bars: IB paces every HMDS request; BID_ASK counts twice). One answer,
   * done = 1, possibly empty. No cancel exists at IB (cancelHistoricalData does not find the request).
   */
  private onHistoricalTicks(req: ReturnType<typeof decodeReqHistoricalTicks>): void {
    const { reqId } = req;
    if (this.duplicate(reqId)) return;
    const inst = this.resolve(reqId, req.contract);
    if (!inst) return;
    const what = parseHistoricalTicksWhat(req.whatToShow);
    if (!what) {
      // AGGTRADES is a bar-only value at IB; historical ticks know TRADES, BID_ASK and MIDPOINT.
      this.error(reqId, ERR.VALIDATION, `-'bS' : cause - Invalid whatToShow ${req.whatToShow} for historical ticks: TRADES, BID_ASK or MIDPOINT`);
      return;
    }
    if (req.numberOfTicks < 1 || req.numberOfTicks > MAX_HISTORICAL_TICKS) {
      this.error(reqId, ERR.VALIDATION, `-'bU' : cause - Invalid numberOfTicks ${req.numberOfTicks}: 1 to ${MAX_HISTORICAL_TICKS} ticks per request`);
      return;
    }
    const hasStart = req.startDateTime.trim() !== "";
    const hasEnd = req.endDateTime.trim() !== "";
    if (hasStart === hasEnd) {
      this.error(reqId, ERR.VALIDATION, `-'bV' : cause - Exactly one of start and end date/time must be specified`);
      return;
    }
    const now = this.now();
    // A date without a zone is read in the instrument's zone, as for bars (parseEndDateTime).
    const raw = hasStart ? req.startDateTime : req.endDateTime;
    const sec = parseEndDateTime(raw, now, inst.timeZoneId || "UTC");
    if (sec === undefined || /^\d{8}$/.test(raw.trim())) {
      this.error(reqId, ERR.VALIDATION, `-'bW' : cause - Historical data query ${hasStart ? "start" : "end"} date/time string [${raw}] is invalid.  Format is 'YYYYMMDD{SPACE}hh:mm:ss[{SPACE}TMZ]'.`);
      return;
    }
    if (this.entitlement(inst) === "none") {
      this.error(reqId, ERR.HMDS, `No market data permissions for ${inst.exchange} ${inst.secType}`);
      return;
    }
    // Crypto TRADES is accepted here (10299 is for bars, where AGGTRADES replaces it); forex has no trades.
    if (inst.secType === "CASH" && what === "TRADES") {
      this.error(reqId, ERR.HMDS, `No historical market data for ${inst.symbol}/${inst.secType}@${inst.exchange} Last 0`);
      return;
    }
    const lim = this.gw.options.limits;
    if (this.gw.openHistoricalCount() >= lim.historicalMaxOpen) {
      this.error(reqId, ERR.PROCESSING, `-'bX' : cause - Only ${lim.historicalMaxOpen} simultaneous API historical data requests allowed.`);
      return;
    }
    const violation = this.gw.pacer.admit({
      contractKey: `${inst.conId}|${inst.exchange}|${what}`,
      identityKey: `ticks|${inst.conId}|${req.startDateTime}|${req.endDateTime}|${req.numberOfTicks}|${what}|${req.useRth}|${req.ignoreSize}`,
      weight: what === "BID_ASK" ? 2 : 1,
    });
    if (violation) {
      this.error(reqId, ERR.HMDS, violation);
      return;
    }
    const answer = () => {
      this.pendingHistorical.delete(reqId);
      if (this.state !== "ready") return;
      const ticks = historicalTicks(this.market, inst, {
        what,
        // The end second is inclusive: ticks stamped with it belong to the answer.
        ...(hasStart ? { fromMs: sec * 1000 } : { toMs: (sec + 1) * 1000 }),
        nowMs: this.now(),
        numberOfTicks: req.numberOfTicks,
        useRth: req.useRth,
        ignoreSize: req.ignoreSize,
      });
      const timeSec = (ms: number) => Math.floor(ms / 1000);
      if (what === "TRADES") {
        this.send(msg.historicalTicksLast(this.sv, reqId, ticks.map((t) => ({ timeSec: timeSec(t.timeMs), mask: 0, price: t.price, size: t.size, exchange: t.exchange, conditions: "" })), true));
      } else if (what === "BID_ASK") {
        this.send(msg.historicalTicksBidAsk(this.sv, reqId, ticks.map((t) => ({ timeSec: timeSec(t.timeMs), mask: 0, bid: t.bid, ask: t.ask, bidSize: t.bidSize, askSize: t.askSize })), true));
      } else {
        this.send(msg.historicalTicksMidpoint(this.sv, reqId, ticks.map((t) => ({ timeSec: timeSec(t.timeMs), price: t.price, size: t.size })), true));
      }
    };
    const latency = this.gw.options.historicalLatencyMs;
    if (latency <= 0) {
      answer();
      return;
    }
    const timer = setTimeout(answer, latency);
    timer.unref();
    this.pendingHistorical.set(reqId, { reqId, timer, kind: "ticks" });
  }

  pendingHistoricalCount(): number {
    return this.pendingHistorical.size;
  }

  private onHeadTimestamp(req: ReturnType<typeof decodeReqHeadTimestamp>): void {
    const inst = this.resolve(req.reqId, req.contract);
    if (!inst) return;
    const what = this.whatToShow(req.reqId, inst, req.whatToShow);
    if (!what) return;
    const sec = this.market.headTimestampSec(inst, what, req.useRTH);
    // TWS answers "yyyyMMdd  HH:mm:ss" (two spaces, Gateway time zone: UTC here) or epoch seconds.
    const text = req.formatDate === 2 ? String(sec) : formatZoned(sec * 1000, "UTC").replace(" ", "  ");
    this.send(msg.headTimestamp(req.reqId, text));
  }

  private onRealTimeBars(req: ReturnType<typeof decodeReqRealTimeBars>): void {
    if (this.duplicate(req.reqId)) return;
    const inst = this.resolve(req.reqId, req.contract);
    if (!inst) return;
    if (req.barSize !== 5) {
      this.error(req.reqId, ERR.VALIDATION, `-'bA' : cause - Invalid bar size ${req.barSize}: only 5 second bars are supported`);
      return;
    }
    const w = req.whatToShow.toUpperCase();
    if (!["TRADES", "AGGTRADES", "MIDPOINT", "BID", "ASK"].includes(w)) {
      this.error(req.reqId, ERR.VALIDATION, `-'bS' : cause - Invalid whatToShow ${req.whatToShow}`);
      return;
    }
    if (this.gw.count(["mktData", "realTimeBars"]) >= this.gw.options.limits.marketDataLines) {
      this.error(req.reqId, ERR.MAX_TICKERS);
      return;
    }
    if (this.entitlement(inst) === "none") {
      this.error(req.reqId, ERR.NOT_SUBSCRIBED);
      return;
    }
    this.add(new RealTimeBarsFeed(this, req.reqId, inst, w as WhatToShow, req.useRTH, this.now()));
  }

  // --- account ----------------------------------------------------------------------------------------

  private onAccountSummary(reqId: number, group: string, tags: string): void {
    if (this.duplicate(reqId)) return;
    const active = [...this.subs.values()].filter((s) => s.kind === "accountSummary").length;
    if (active >= this.gw.options.limits.maxAccountSummary) {
      this.error(reqId, ERR.PROCESSING, `-'bF' : cause - Maximum number of account summary requests exceeded`);
      return;
    }
    const feed = new AccountSummaryFeed(this, reqId, this.gw.accounts, group, tags, this.gw.options.accountRefreshMs);
    this.add(feed);
    feed.start(this.now());
  }

  private onAccountUpdates(subscribe: boolean, acct: string): void {
    if (!subscribe) {
      this.accountUpdates = undefined;
      return;
    }
    const ids = this.gw.accounts.ids();
    const account = acct && ids.includes(acct) ? acct : ids[0];
    if (!account || (acct && !ids.includes(acct))) {
      this.error(-1, ERR.VALIDATION, `-'bB' : cause - Account ${acct} is not managed by this login`);
      return;
    }
    this.accountUpdates = new AccountUpdatesFeed(this, account, this.gw.accounts, this.gw.options.accountRefreshMs);
    this.accountUpdates.start(this.now());
  }

  private onPositions(): void {
    for (const a of this.gw.accounts.accounts) {
      for (const p of a.positions) this.send(msg.position(this.sv, a.id, p.instrument, p.quantity.toFixed(), p.avgCost.toFixed()));
    }
    this.send(msg.positionEnd());
  }

  private knownAccountOrAll(reqId: number, account: string): boolean {
    if (account === "" || account.toUpperCase() === "ALL" || this.gw.accounts.ids().includes(account)) return true;
    this.error(reqId, ERR.VALIDATION, `-'bB' : cause - Account ${account} is not managed by this login`);
    return false;
  }

  private onPositionsMulti(reqId: number, account: string, modelCode: string): void {
    if (!this.knownAccountOrAll(reqId, account)) return;
    for (const a of this.gw.accounts.accounts) {
      if (account && account.toUpperCase() !== "ALL" && a.id !== account) continue;
      for (const p of a.positions) {
        this.send(msg.positionMulti(this.sv, reqId, a.id, p.instrument, p.quantity.toFixed(), p.avgCost.toFixed(), modelCode));
      }
    }
    this.send(msg.positionMultiEnd(reqId));
  }

  private onAccountUpdatesMulti(reqId: number, account: string, modelCode: string, ledgerAndNLV: boolean): void {
    if (this.duplicate(reqId)) return;
    if (!this.knownAccountOrAll(reqId, account)) return;
    const feed = new AccountUpdatesMultiFeed(this, reqId, this.gw.accounts, account, modelCode, ledgerAndNLV, this.gw.options.accountRefreshMs);
    this.add(feed);
    feed.start(this.now());
  }

  private onPnl(reqId: number, account: string, conId: number | undefined): void {
    if (this.duplicate(reqId)) return;
    if (!this.gw.accounts.ids().includes(account)) {
      this.error(reqId, ERR.VALIDATION, `-'bB' : cause - Account ${account} is not managed by this login`);
      return;
    }
    const o = this.gw.options;
    const feed =
      conId === undefined
        ? new PnlFeed(this, reqId, this.gw.accounts, account, o.pnlIntervalMs)
        : new PnlSingleFeed(this, reqId, this.gw.accounts, account, conId, o.pnlIntervalMs);
    this.add(feed);
    feed.pump(this.now());
  }

  // --- faults -----------------------------------------------------------------------------------------

  /** 1101: every market data stream is gone; the client must re-request. */
  dropMarketDataSubscriptions(): void {
    for (const [id, s] of this.subs) {
      if (s.kind === "mktData" || s.kind === "depth" || s.kind === "tickByTick" || s.kind === "history" || s.kind === "realTimeBars") {
        s.close?.();
        this.subs.delete(id);
      }
    }
  }

  /** 317 for each depth subscription, then a fresh book. */
  resetDepth(): void {
    const now = this.now();
    for (const s of this.subs.values()) {
      if (s instanceof DepthFeed) {
        this.error(s.reqId, ERR.DEPTH_RESET);
        s.reset();
        s.pump(now);
      }
    }
  }

  /** 10197 for each L1 subscription and a pause of its stream. */
  competingSession(untilWall: number): void {
    for (const s of this.subs.values()) {
      if (s.kind === "mktData") {
        this.error(s.reqId, ERR.COMPETING_SESSION);
        s.stalledUntil = Math.max(s.stalledUntil, untilWall);
      }
    }
  }

  /** Stalls one subscription (reqId) or the whole session. Returns false when the reqId is unknown. */
  stall(untilWall: number, reqId?: number): boolean {
    if (reqId === undefined) {
      this.stalledUntil = untilWall;
      return true;
    }
    const s = this.subs.get(reqId);
    if (!s) return false;
    s.stalledUntil = untilWall;
    return true;
  }

  info(e: IbError): void {
    this.error(-1, e);
  }
}

/** What flood mode sends as fast as the socket accepts: L1 and tick-by-tick trades. */
function isFlooded(s: Subscription): s is MarketDataFeed | TickByTickFeed {
  return s instanceof MarketDataFeed || (s instanceof TickByTickFeed && (s.type === "Last" || s.type === "AllLast"));
}
