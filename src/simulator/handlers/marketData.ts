/** Streaming market data requests: L1 (reqMktData, snapshots), market data type, depth and tick-by-tick. */
import { ERR, type IbError } from "../errors.js";
import { DepthFeed } from "../feeds/depth.js";
import { MarketDataFeed } from "../feeds/marketData.js";
import { ComboFeed, FundFeed, type ResolvedLeg } from "../feeds/syntheticFeeds.js";
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

/**
 * The market data type an instrument is served with under the session's requested type (1 live, 2 frozen,
 * 3 delayed, 4 delayed frozen), or the error refusing it: no permission 354; delayed-only asked for live
 * data (or for depth / tick-by-tick, which have no delayed form) 10089.
 */
function dataTypeFor(session: Session, inst: InstrumentSpec, allowDelayed: boolean): { type: number } | { refused: IbError } {
  const ent = session.entitlement(inst);
  if (ent === "none") return { refused: ERR.NOT_SUBSCRIBED };
  const type = session.marketDataType;
  if (ent === "delayed-only") return allowDelayed && type >= 3 ? { type } : { refused: ERR.NEEDS_SUBSCRIPTION };
  // Live entitlement: live data whatever type was asked (frozen types only matter once the market closes).
  return { type: type === 2 || type === 4 ? (session.market.isOpen(inst, session.now(), false) ? 1 : 2) : 1 };
}

/** Entitlement gate shared by L1/L2/tick-by-tick. Returns the data type to announce, or undefined (error sent). */
function entitled(session: Session, reqId: number, inst: InstrumentSpec, allowDelayed: boolean): number | undefined {
  return announce(session, reqId, dataTypeFor(session, inst, allowDelayed));
}

/** Sends the refusal (undefined) or, for delayed data, 10167; returns the type to serve. */
function announce(session: Session, reqId: number, r: { type: number } | { refused: IbError }): number | undefined {
  if ("refused" in r) {
    session.error(reqId, r.refused);
    return undefined;
  }
  if (r.type >= 3) session.error(reqId, ERR.DISPLAYING_DELAYED);
  return r.type;
}

/**
 * A combo's data type is its legs' weakest: live only if every leg is live, delayed if any leg is, frozen if
 * any leg is. A leg refused refuses the combo (354 before 10089).
 */
function comboDataType(session: Session, legs: readonly ResolvedLeg[]): { type: number } | { refused: IbError } {
  const each = legs.map((l) => dataTypeFor(session, l.spec, true));
  const refusals = each.flatMap((r) => ("refused" in r ? [r.refused] : []));
  if (refusals.length > 0) return { refused: refusals.find((e) => e.code === ERR.NOT_SUBSCRIBED.code) ?? (refusals[0] as IbError) };
  const types = each.map((r) => ("type" in r ? r.type : 1));
  const delayed = types.some((t) => t >= 3);
  const frozen = types.some((t) => t === 2 || t === 4);
  return { type: (delayed ? 3 : 1) + (frozen ? 1 : 0) };
}

const isOption = (inst: InstrumentSpec): boolean => inst.secType === "OPT" || inst.secType === "FOP";

/** A market data line is free (snapshots hold none); 101 otherwise. */
function lineFree(session: Session, req: ReqMktData): boolean {
  if (req.snapshot || session.gateway.count(["mktData", "realTimeBars"]) < session.gateway.options.limits.marketDataLines) return true;
  session.error(req.reqId, ERR.MAX_TICKERS);
  return false;
}

/** Without the option data permission IB answers an option's (or an option combo's) L1 with 354. */
function optionDataAllowed(session: Session, reqId: number, insts: readonly InstrumentSpec[]): boolean {
  if (session.gateway.options.optionDataPermission || !insts.some(isOption)) return true;
  session.error(reqId, ERR.NOT_SUBSCRIBED);
  return false;
}

/** A feed started as a stream (holding its line), or sent once with tickSnapshotEnd. */
function serve(session: Session, req: ReqMktData, feed: { start(now: number): void; sendFull(now: number): void } & Parameters<Session["add"]>[0], minTick: string, dataType: number): void {
  const now = session.now();
  if (req.snapshot || req.regulatorySnapshot) {
    if (session.sv >= MIN_SV.REQ_SMART_COMPONENTS) session.send(msg.tickReqParams(req.reqId, minTick, "", 3));
    session.send(msg.marketDataType(req.reqId, dataType));
    feed.sendFull(now);
    session.send(msg.tickSnapshotEnd(req.reqId));
    return;
  }
  feed.start(now);
  session.add(feed);
}

/** BAG: every leg by conId (200 if one is unknown), then a quote built from the legs. */
function reqComboData(session: Session, req: ReqMktData): void {
  const legs: ResolvedLeg[] = [];
  for (const leg of req.contract.comboLegs ?? []) {
    const found = leg.conId > 0 ? session.market.findContracts({ conId: leg.conId }) : [];
    if (found.length !== 1 || leg.ratio <= 0) {
      session.error(req.reqId, ERR.NO_SECDEF);
      return;
    }
    legs.push({ spec: found[0] as InstrumentSpec, ratio: leg.ratio, buy: leg.action !== "SELL" });
  }
  if (legs.length === 0) {
    session.error(req.reqId, ERR.NO_SECDEF);
    return;
  }
  if (!lineFree(session, req) || !optionDataAllowed(session, req.reqId, legs.map((l) => l.spec))) return;
  const dataType = announce(session, req.reqId, comboDataType(session, legs));
  if (dataType === undefined) return;
  serve(session, req, new ComboFeed(session, req.reqId, dataType, session.gateway.options.delayedMs, legs), "0.01", dataType);
}

export function reqMktData(session: Session, req: ReqMktData): void {
  if (session.duplicate(req.reqId)) return;
  if (req.contract.secType.toUpperCase() === "BAG") {
    reqComboData(session, req);
    return;
  }
  const inst = resolveContract(session, req.reqId, req.contract);
  if (!inst) return;
  const { options } = session.gateway;
  if (!lineFree(session, req) || !optionDataAllowed(session, req.reqId, [inst])) return;
  const dataType = entitled(session, req.reqId, inst, true);
  if (dataType === undefined) return;
  if (inst.secType === "FUND") {
    serve(session, req, new FundFeed(session, req.reqId, dataType, options.delayedMs, inst), inst.minTick, dataType);
    return;
  }
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
  serve(session, req, feed, inst.minTick, dataType);
}

export function cancelMktData(session: Session, reqId: number): void {
  session.cancel(reqId, "mktData", ERR.NO_EID);
}

export function reqMktDepth(session: Session, req: ReqMktDepth): void {
  if (session.duplicate(req.reqId)) return;
  const inst = resolveContract(session, req.reqId, req.contract);
  if (!inst) return;
  const { maxDepth } = session.gateway.options.limits;
  if (inst.secType === "IND" || inst.secType === "FUND") {
    session.error(req.reqId, ERR.DEPTH_NOT_SUPPORTED);
    return;
  }
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
  // No tick-by-tick for indices, funds and options (IB: "not available for options"); a bond prints no trades.
  const t = inst.secType;
  if (t === "IND" || t === "FUND" || isOption(inst) || (t === "BOND" && (type === "Last" || type === "AllLast"))) {
    // IB's wording, e.g. "Failed to request tick-by-tick data.BidAsk tick-by-tick requests are not supported for XAUUSD".
    session.error(req.reqId, ERR.TBT_NOT_SUPPORTED, `${type} tick-by-tick requests are not supported for ${inst.symbol}`);
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
