/**
 * Historical data requests (answered from the HMDS at IB): bars (+ keepUpToDate), historical ticks, head
 * timestamp; and 5-second real-time bars. Checks run in IB's order of layers: contract (200), request
 * validation (321), permissions and data availability (162), open-request limit (322), pacing (162).
 */
import { ERR } from "../errors.js";
import { historicalTicks, MAX_HISTORICAL_TICKS, parseHistoricalTicksWhat } from "../feeds/historicalTicks.js";
import { barSeconds, barsAsOf, formatBarDate, HistoryUpdateFeed, isTradeData, RealTimeBarsFeed, WHAT_TO_SHOW } from "../feeds/history.js";
import { formatZoned, parseEndDateTime } from "../feeds/ibDateTime.js";
import { barSizeForQuery, barWindowStartSec, durationStartSec, isValidDurationForBarSize, parseBarSize, parseDuration } from "../market/index.js";
import type { InstrumentSpec, WhatToShow } from "../market/types.js";
import { MIN_SV } from "../messages/ids.js";
import type { ReqHeadTimestamp, ReqHistoricalData, ReqHistoricalTicks, ReqRealTimeBars } from "../messages/inbound.js";
import * as msg from "../messages/outbound.js";
import type { PendingHistorical, Session } from "../session.js";
import { resolveContract } from "./contracts.js";

/** Bars one request may span (a sanity bound of the simulator, checked after IB's duration table). */
const MAX_BARS_PER_REQUEST = 200_000;

/** Validates whatToShow for an instrument; sends the error and returns undefined when invalid. */
function whatToShow(session: Session, reqId: number, inst: InstrumentSpec, raw: string): WhatToShow | undefined {
  const w = raw.toUpperCase() as WhatToShow;
  if (!WHAT_TO_SHOW.includes(w)) {
    session.error(reqId, ERR.VALIDATION, `-'bS' : cause - Invalid whatToShow ${raw}`);
    return undefined;
  }
  if (inst.secType === "CRYPTO" && w === "TRADES") {
    session.error(reqId, ERR.CRYPTO_TRADES);
    return undefined;
  }
  if (inst.secType !== "CRYPTO" && w === "AGGTRADES") {
    session.error(reqId, ERR.HMDS, `No data of type AGGTRADES is available for ${inst.symbol}@${inst.exchange}`);
    return undefined;
  }
  if (inst.secType === "CASH" && isTradeData(w)) {
    session.error(reqId, ERR.HMDS, `No historical market data for ${inst.symbol}/${inst.secType}@${inst.exchange} Last 0`);
    return undefined;
  }
  // An index and a fund have prices only (TRADES); a bond has quotes but prints no trades.
  const t = inst.secType;
  if (((t === "IND" || t === "FUND") && w !== "TRADES") || (t === "BOND" && isTradeData(w))) {
    session.error(reqId, ERR.HMDS, `No historical market data for ${inst.symbol}/${t}@${inst.exchange} ${w}`);
    return undefined;
  }
  return w;
}

/**
 * The open-request limit (322), then pacing (162). IB paces every HMDS request in one pacer, bars and
 * ticks alike; BID_ASK counts twice. False when refused (error sent).
 */
function admitHistorical(session: Session, reqId: number, inst: InstrumentSpec, what: string, identityKey: string): boolean {
  const { gateway } = session;
  const lim = gateway.options.limits;
  gateway.stats.historicalRequests.set(inst.symbol, (gateway.stats.historicalRequests.get(inst.symbol) ?? 0) + 1);
  if (gateway.openHistoricalCount() >= lim.historicalMaxOpen) {
    session.error(reqId, ERR.PROCESSING, `-'bX' : cause - Only ${lim.historicalMaxOpen} simultaneous API historical data requests allowed.`);
    return false;
  }
  const violation = gateway.pacer.admit({
    contractKey: `${inst.conId}|${inst.exchange}|${what}`,
    identityKey,
    weight: what === "BID_ASK" ? 2 : 1,
  });
  if (violation) {
    session.error(reqId, ERR.HMDS, violation);
    return false;
  }
  return true;
}

/** Runs `answer` after historicalLatencyMs (at once when 0); meanwhile the request is pending (open, holds its reqId). */
function answerAfterLatency(session: Session, reqId: number, kind: PendingHistorical["kind"], answer: () => void): void {
  const run = () => {
    session.pendingHistorical.delete(reqId);
    if (session.isReady) answer();
  };
  const latency = session.gateway.options.historicalLatencyMs;
  if (latency <= 0) {
    run();
    return;
  }
  const timer = setTimeout(run, latency);
  timer.unref();
  session.pendingHistorical.set(reqId, { reqId, timer, kind });
}

export function reqHistoricalData(session: Session, req: ReqHistoricalData): void {
  const { reqId } = req;
  if (session.duplicate(reqId)) return;
  const inst = resolveContract(session, reqId, req.contract);
  if (!inst) return;
  if (session.entitlement(inst) === "none") {
    session.error(reqId, ERR.HMDS, `No market data permissions for ${inst.exchange} ${inst.secType}`);
    return;
  }
  const what = whatToShow(session, reqId, inst, req.whatToShow);
  if (!what) return;
  const parsedBarSize = parseBarSize(req.barSize);
  if (parsedBarSize === undefined) {
    session.error(reqId, ERR.VALIDATION, `-'bP' : cause - Historical data bar size setting is invalid. Legal ones are: 1 secs, 5 secs, 10 secs, 15 secs, 30 secs, 1 min, 2 mins, 3 mins, 5 mins, 10 mins, 15 mins, 20 mins, 30 mins, 1 hour, 2 hours, 3 hours, 4 hours, 8 hours, 1 day, 1W, 1M`);
    return;
  }
  const barSize = barSizeForQuery(parsedBarSize);
  const duration = parseDuration(req.duration);
  if (!duration) {
    session.error(reqId, ERR.VALIDATION, `-'bQ' : cause - Historical data query duration string [${req.duration}] is invalid`);
    return;
  }
  if (req.keepUpToDate && req.endDateTime.trim() !== "") {
    session.error(reqId, ERR.VALIDATION, `-'bR' : cause - End date not supported with live updates`);
    return;
  }
  const endSec = parseEndDateTime(req.endDateTime, session.now(), inst.timeZoneId || "UTC");
  if (endSec === undefined) {
    session.error(reqId, ERR.VALIDATION, `-'bW' : cause - Historical data query end date/time string [${req.endDateTime}] is invalid.  Format is 'YYYYMMDD{SPACE}hh:mm:ss[{SPACE}TMZ]'.`);
    return;
  }
  if (!isValidDurationForBarSize(duration, parsedBarSize)) {
    session.error(reqId, ERR.HMDS, "Time length exceed max.");
    return;
  }
  const startSec = durationStartSec(endSec, duration, inst.session);
  if ((endSec - startSec) / barSeconds(barSize) > MAX_BARS_PER_REQUEST) {
    session.error(reqId, ERR.HMDS, "Time length exceed max.");
    return;
  }
  const identityKey = `${inst.conId}|${req.endDateTime}|${req.barSize}|${req.duration}|${what}|${req.useRTH}|${req.keepUpToDate}`;
  if (!admitHistorical(session, reqId, inst, what, identityKey)) return;
  answerAfterLatency(session, reqId, "bars", () => {
    const fromSec = barWindowStartSec(startSec, barSize, inst.timeZoneId);
    const bars = barsAsOf(session.market, inst, { barSize, fromSec, toSec: endSec, useRTH: req.useRTH, whatToShow: what }, session.now());
    if (bars.length === 0 && !req.keepUpToDate) {
      session.error(reqId, ERR.HMDS, `HMDS query returned no data: ${inst.localSymbol}@${inst.exchange} ${what}`);
      return;
    }
    const sv = session.sv;
    const tz = inst.timeZoneId || "UTC";
    const fmt = (s: number) => (sv >= MIN_SV.INSTRUMENT_TIMEZONE ? `${formatZoned(s * 1000, tz)} ${tz}` : formatZoned(s * 1000, "UTC"));
    session.send(
      msg.historicalData(
        sv,
        reqId,
        fmt(startSec),
        fmt(endSec),
        bars.map((bar) => ({ date: formatBarDate(bar.startSec, barSize, req.formatDate, tz, sv), bar })),
      ),
    );
    if (req.keepUpToDate) {
      session.add(new HistoryUpdateFeed(session, reqId, inst, barSize, req.useRTH, what, req.formatDate));
    }
  });
}

/** Cancels a pending bar request (162 "query cancelled") or a keepUpToDate stream; 366 otherwise. */
export function cancelHistoricalData(session: Session, reqId: number): void {
  const pending = session.pendingHistorical.get(reqId);
  if (pending && pending.kind === "bars") {
    clearTimeout(pending.timer);
    session.pendingHistorical.delete(reqId);
    session.error(reqId, ERR.HMDS, `API historical data query cancelled: ${reqId}`);
    return;
  }
  const s = session.subs.get(reqId);
  if (s && s.kind === "history") {
    session.subs.delete(reqId);
    return;
  }
  session.error(reqId, ERR.NO_HIST_QUERY, String(reqId));
}

/**
 * reqHistoricalTicks (OUT 96): one answer, done = 1, possibly empty. Permissions as for bars (162); no
 * cancel exists at IB (cancelHistoricalData does not find the request).
 */
export function reqHistoricalTicks(session: Session, req: ReqHistoricalTicks): void {
  const { reqId } = req;
  if (session.duplicate(reqId)) return;
  const inst = resolveContract(session, reqId, req.contract);
  if (!inst) return;
  const what = parseHistoricalTicksWhat(req.whatToShow);
  if (!what) {
    // AGGTRADES is a bar-only value at IB; historical ticks know TRADES, BID_ASK and MIDPOINT.
    session.error(reqId, ERR.VALIDATION, `-'bS' : cause - Invalid whatToShow ${req.whatToShow} for historical ticks: TRADES, BID_ASK or MIDPOINT`);
    return;
  }
  if (req.numberOfTicks < 1 || req.numberOfTicks > MAX_HISTORICAL_TICKS) {
    session.error(reqId, ERR.VALIDATION, `-'bU' : cause - Invalid numberOfTicks ${req.numberOfTicks}: 1 to ${MAX_HISTORICAL_TICKS} ticks per request`);
    return;
  }
  const hasStart = req.startDateTime.trim() !== "";
  const hasEnd = req.endDateTime.trim() !== "";
  if (hasStart === hasEnd) {
    session.error(reqId, ERR.VALIDATION, `-'bV' : cause - Exactly one of start and end date/time must be specified`);
    return;
  }
  // A date without a zone is read in the instrument's zone, as for bars (parseEndDateTime).
  const raw = hasStart ? req.startDateTime : req.endDateTime;
  const sec = parseEndDateTime(raw, session.now(), inst.timeZoneId || "UTC");
  if (sec === undefined || /^\d{8}$/.test(raw.trim())) {
    session.error(reqId, ERR.VALIDATION, `-'bW' : cause - Historical data query ${hasStart ? "start" : "end"} date/time string [${raw}] is invalid.  Format is 'YYYYMMDD{SPACE}hh:mm:ss[{SPACE}TMZ]'.`);
    return;
  }
  if (session.entitlement(inst) === "none") {
    session.error(reqId, ERR.HMDS, `No market data permissions for ${inst.exchange} ${inst.secType}`);
    return;
  }
  // Crypto TRADES is accepted here (10299 is for bars, where AGGTRADES replaces it); forex has no trades.
  if (inst.secType === "CASH" && what === "TRADES") {
    session.error(reqId, ERR.HMDS, `No historical market data for ${inst.symbol}/${inst.secType}@${inst.exchange} Last 0`);
    return;
  }
  // An index or a fund has no quotes: only its prices (TRADES) exist as ticks.
  if ((inst.secType === "IND" || inst.secType === "FUND") && what !== "TRADES") {
    session.error(reqId, ERR.HMDS, `No historical market data for ${inst.symbol}/${inst.secType}@${inst.exchange} ${what}`);
    return;
  }
  const identityKey = `ticks|${inst.conId}|${req.startDateTime}|${req.endDateTime}|${req.numberOfTicks}|${what}|${req.useRth}|${req.ignoreSize}`;
  if (!admitHistorical(session, reqId, inst, what, identityKey)) return;
  answerAfterLatency(session, reqId, "ticks", () => {
    const ticks = historicalTicks(session.market, inst, {
      what,
      // The end second is inclusive: ticks stamped with it belong to the answer.
      ...(hasStart ? { fromMs: sec * 1000 } : { toMs: (sec + 1) * 1000 }),
      nowMs: session.now(),
      numberOfTicks: req.numberOfTicks,
      useRth: req.useRth,
      ignoreSize: req.ignoreSize,
    });
    const sv = session.sv;
    const timeSec = (ms: number) => Math.floor(ms / 1000);
    if (what === "TRADES") {
      session.send(msg.historicalTicksLast(sv, reqId, ticks.map((t) => ({ timeSec: timeSec(t.timeMs), mask: 0, price: t.price, size: t.size, exchange: t.exchange, conditions: "" })), true));
    } else if (what === "BID_ASK") {
      session.send(msg.historicalTicksBidAsk(sv, reqId, ticks.map((t) => ({ timeSec: timeSec(t.timeMs), mask: 0, bid: t.bid, ask: t.ask, bidSize: t.bidSize, askSize: t.askSize })), true));
    } else {
      session.send(msg.historicalTicksMidpoint(sv, reqId, ticks.map((t) => ({ timeSec: timeSec(t.timeMs), price: t.price, size: t.size })), true));
    }
  });
}

export function reqHeadTimestamp(session: Session, req: ReqHeadTimestamp): void {
  const inst = resolveContract(session, req.reqId, req.contract);
  if (!inst) return;
  const what = whatToShow(session, req.reqId, inst, req.whatToShow);
  if (!what) return;
  const sec = session.market.headTimestampSec(inst, what, req.useRTH);
  // TWS answers "yyyyMMdd  HH:mm:ss" (two spaces, Gateway time zone: UTC here) or epoch seconds.
  const text = req.formatDate === 2 ? String(sec) : formatZoned(sec * 1000, "UTC").replace(" ", "  ");
  session.send(msg.headTimestamp(req.reqId, text));
}

export function reqRealTimeBars(session: Session, req: ReqRealTimeBars): void {
  if (session.duplicate(req.reqId)) return;
  const inst = resolveContract(session, req.reqId, req.contract);
  if (!inst) return;
  if (req.barSize !== 5) {
    session.error(req.reqId, ERR.VALIDATION, `-'bA' : cause - Invalid bar size ${req.barSize}: only 5 second bars are supported`);
    return;
  }
  const w = req.whatToShow.toUpperCase();
  if (!["TRADES", "AGGTRADES", "MIDPOINT", "BID", "ASK"].includes(w)) {
    session.error(req.reqId, ERR.VALIDATION, `-'bS' : cause - Invalid whatToShow ${req.whatToShow}`);
    return;
  }
  // Real-time bars come from the same data as history: a fund has none (one NAV a day), an index prices only,
  // a bond no trades.
  const t = inst.secType;
  if (t === "FUND" || (t === "IND" && w !== "TRADES") || (t === "BOND" && (w === "TRADES" || w === "AGGTRADES"))) {
    session.error(req.reqId, ERR.HMDS, `No historical market data for ${inst.symbol}/${t}@${inst.exchange} ${w}`);
    return;
  }
  // Real-time bars hold a market data line, as L1 does.
  if (session.gateway.count(["mktData", "realTimeBars"]) >= session.gateway.options.limits.marketDataLines) {
    session.error(req.reqId, ERR.MAX_TICKERS);
    return;
  }
  if (session.entitlement(inst) === "none") {
    session.error(req.reqId, ERR.NOT_SUBSCRIBED);
    return;
  }
  session.add(new RealTimeBarsFeed(session, req.reqId, inst, w as WhatToShow, req.useRTH, session.now()));
}

export function cancelRealTimeBars(session: Session, reqId: number): void {
  session.cancel(reqId, "realTimeBars");
}
