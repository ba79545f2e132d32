/** Streaming market data requests: L1 (reqMktData, snapshots), market data type, depth and tick-by-tick. */
import { ERR } from "../errors.js";
import { DepthFeed } from "../feeds/depth.js";
import { MarketDataFeed } from "../feeds/marketData.js";
import { parseTickByTickType, TickByTickFeed } from "../feeds/tickByTick.js";
import type { InstrumentSpec } from "../market/types.js";
import { MIN_SV } from "../messages/ids.js";
import type { ReqMktData, ReqMktDepth, ReqTickByTick } from "../messages/inbound.js";
import * as msg from "../messages/outbound.js";
import type { Session } from "../session.js";
import { resolveContract } from "./contracts.js";

/** Depth rows per side: numRows 0 asks for the default; more than the maximum is served as the maximum. */
const DEFAULT_DEPTH_ROWS = 5;
const MAX_DEPTH_ROWS = 50;

export function reqMarketDataType(session: Session, type: number): void {
  if (type >= 1 && type <= 4) session.marketDataType = type;
}

/** Entitlement gate shared by L1/L2/tick-by-tick. Returns the data type to announce, or undefined (error sent). */
function entitled(session: Session, reqId: number, inst: InstrumentSpec, allowDelayed: boolean): number | undefined {
  const ent = session.entitlement(inst);
  if (ent === "none") {
    session.error(reqId, ERR.NOT_SUBSCRIBED);
    return undefined;
  }
  const type = session.marketDataType;
  if (ent === "delayed-only") {
    if (allowDelayed && type >= 3) {
      session.error(reqId, ERR.DISPLAYING_DELAYED);
      return type;
    }
    session.error(reqId, ERR.NEEDS_SUBSCRIPTION);
    return undefined;
  }
  // Live entitlement: live data whatever type was asked (frozen types only matter once the market closes).
  return type === 2 || type === 4 ? (session.market.isOpen(inst, session.now(), false) ? 1 : 2) : 1;
}

export function reqMktData(session: Session, req: ReqMktData): void {
  if (session.duplicate(req.reqId)) return;
  const inst = resolveContract(session, req.reqId, req.contract);
  if (!inst) return;
  const { options } = session.gateway;
  // Snapshots do not hold a market data line.
  if (!req.snapshot && session.gateway.count(["mktData", "realTimeBars"]) >= options.limits.marketDataLines) {
    session.error(req.reqId, ERR.MAX_TICKERS);
    return;
  }
  const dataType = entitled(session, req.reqId, inst, true);
  if (dataType === undefined) return;
  const generic = new Set(
    req.genericTickList
      .split(",")
      .map((s) => Number.parseInt(s, 10))
      .filter((n) => Number.isFinite(n)),
  );
  const feed = new MarketDataFeed(session, {
    reqId: req.reqId,
    instrument: inst,
    dataType,
    delayMs: options.delayedMs,
    genericTicks: generic,
  });
  const now = session.now();
  if (req.snapshot || req.regulatorySnapshot) {
    if (session.sv >= MIN_SV.REQ_SMART_COMPONENTS) session.send(msg.tickReqParams(req.reqId, inst.minTick, "", 3));
    session.send(msg.marketDataType(req.reqId, dataType));
    feed.sendFull(now);
    session.send(msg.tickSnapshotEnd(req.reqId));
    return;
  }
  feed.start(now);
  session.add(feed);
}

export function cancelMktData(session: Session, reqId: number): void {
  session.cancel(reqId, "mktData", ERR.NO_EID);
}

export function reqMktDepth(session: Session, req: ReqMktDepth): void {
  if (session.duplicate(req.reqId)) return;
  const inst = resolveContract(session, req.reqId, req.contract);
  if (!inst) return;
  const { maxDepth } = session.gateway.options.limits;
  if (session.gateway.count(["depth"]) >= maxDepth) {
    session.error(req.reqId, { code: ERR.MAX_DEPTH.code, text: `Max number (${maxDepth}) of market depth requests has been reached` });
    return;
  }
  if (entitled(session, req.reqId, inst, false) === undefined) return;
  const rows = Math.max(1, Math.min(req.numRows || DEFAULT_DEPTH_ROWS, MAX_DEPTH_ROWS));
  const feed = new DepthFeed(session, req.reqId, inst, rows, req.isSmartDepth);
  session.add(feed);
  feed.pump(session.now());
}

export function cancelMktDepth(session: Session, reqId: number): void {
  session.cancel(reqId, "depth", ERR.NO_DEPTH);
}

export function reqTickByTickData(session: Session, req: ReqTickByTick): void {
  if (session.duplicate(req.reqId)) return;
  const inst = resolveContract(session, req.reqId, req.contract);
  if (!inst) return;
  const type = parseTickByTickType(req.tickType);
  if (!type) {
    session.error(req.reqId, ERR.VALIDATION, `-'bH' : cause - Invalid tick type ${req.tickType}`);
    return;
  }
  if (session.gateway.count(["tickByTick"]) >= session.gateway.options.limits.maxTickByTick) {
    session.error(req.reqId, ERR.MAX_TBT);
    return;
  }
  if (entitled(session, req.reqId, inst, false) === undefined) return;
  session.add(new TickByTickFeed(session, req.reqId, inst, type, req.ignoreSize, session.now()));
}

export function cancelTickByTickData(session: Session, reqId: number): void {
  session.cancel(reqId, "tickByTick");
}
