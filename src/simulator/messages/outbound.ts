/**
 * Encoders for every server → client message the simulator sends, field-exact per negotiated server
 * version `sv` (layouts from @stoqey/ib decoder.js, cross-checked with tws-protocol.md §2).
 * Each returns the field list of one frame.
 */
import type { Bar, InstrumentSpec } from "../market/types.js";
import { dbl, type Field } from "../wire/fields.js";
import { IN, MIN_SV } from "./ids.js";

/** Sizes are decimals from sv 163 on; older clients read an int. */
export function size(sv: number, s: string): string {
  if (sv >= MIN_SV.FRACTIONAL_SIZE_SUPPORT) return s;
  const n = Math.trunc(Number(s));
  return String(Number.isFinite(n) ? n : 0);
}

/** Positions are decimals from sv 101 (MIN_SERVER_VER_FRACTIONAL_POSITIONS: IB's decoders read a float there, an int below). */
export function positionSize(sv: number, s: string): string {
  return sv >= MIN_SV.FRACTIONAL_POSITIONS ? s : size(MIN_SV.FRACTIONAL_SIZE_SUPPORT - 1, s);
}

export function errMsg(sv: number, id: number, code: number, text: string): Field[] {
  const f: Field[] = [IN.ERR_MSG, 2, id, code, text];
  if (sv >= MIN_SV.ADVANCED_ORDER_REJECT) f.push("");
  return f;
}

export const managedAccounts = (accounts: readonly string[]): Field[] => [IN.MANAGED_ACCTS, 1, accounts.join(",")];
export const nextValidId = (orderId: number): Field[] => [IN.NEXT_VALID_ID, 1, orderId];
export const openOrderEnd = (): Field[] => [IN.OPEN_ORDER_END, 1];
export const executionDataEnd = (reqId: number): Field[] => [IN.EXECUTION_DATA_END, 1, reqId];
export const completedOrdersEnd = (): Field[] => [IN.COMPLETED_ORDERS_END];
export const userInfo = (reqId: number, whiteBrandingId: string): Field[] => [IN.USER_INFO, reqId, whiteBrandingId];
export const currentTime = (epochSec: number): Field[] => [IN.CURRENT_TIME, 1, epochSec];

export function contractData(sv: number, reqId: number, c: InstrumentSpec): Field[] {
  const f: Field[] = [IN.CONTRACT_DATA];
  if (sv < MIN_SV.SIZE_RULES) f.push(8);
  f.push(reqId, c.symbol, c.secType, c.lastTradeDateOrContractMonth);
  if (sv >= MIN_SV.LAST_TRADE_DATE) f.push(c.lastTradeDateOrContractMonth);
  f.push(c.strike ?? 0, c.right ?? "", c.exchange, c.currency, c.localSymbol, c.marketName, c.tradingClass, c.conId, c.minTick);
  if (sv >= MIN_SV.MD_SIZE_MULTIPLIER && sv < MIN_SV.SIZE_RULES) f.push(1);
  f.push(c.multiplier, c.orderTypes, c.validExchanges, 1 /* priceMagnifier */, c.underConId ?? 0);
  f.push(c.longName, c.primaryExch);
  f.push(c.contractMonth, c.industry, c.category, c.subcategory, c.timeZoneId, c.tradingHours, c.liquidHours);
  f.push("" /* evRule */, 0 /* evMultiplier */, ...secIdList(c));
  if (sv >= MIN_SV.AGG_GROUP) f.push(1);
  const fut = c.secType === "FUT";
  if (sv >= MIN_SV.UNDERLYING_INFO) f.push(c.underSymbol ?? (fut ? c.symbol : ""), c.underSecType ?? (fut ? "IND" : ""));
  if (sv >= MIN_SV.MARKET_RULES) f.push(c.marketRuleIds);
  if (sv >= MIN_SV.REAL_EXPIRATION_DATE) f.push(fut || c.secType === "OPT" || c.secType === "FOP" ? c.lastTradeDateOrContractMonth : "");
  if (sv >= MIN_SV.STOCK_TYPE) f.push(c.stockType);
  if (sv >= MIN_SV.FRACTIONAL_SIZE_SUPPORT && sv < MIN_SV.SIZE_RULES) f.push(c.sizeIncrement);
  if (sv >= MIN_SV.SIZE_RULES) f.push(c.minSize, c.sizeIncrement, c.suggestedSizeIncrement);
  // FUND fields (sv ≥ 179, secType FUND only): name, family, type, front/back load, interval, fee, closed ×3 (bools), notify amount, minimums ×2, blue-sky states/territories, distribution policy, asset type.
  if (sv >= MIN_SV.FUND_DATA_FIELDS && c.secType === "FUND") f.push(c.longName, "Vanguard", "Equity", "", "", "", "0.04", false, false, false, "", "3000", "1", "", "", "", "Equity");
  if (sv >= MIN_SV.INELIGIBILITY_REASONS) f.push(0);
  return f;
}

/** secIdListCount, {tag, value}… (BOND: CUSIP and ISIN). */
export function secIdList(c: InstrumentSpec): Field[] {
  const ids = c.secIds ?? [];
  return [ids.length, ...ids.flatMap((x) => [x.tag, x.value])];
}

export const contractDataEnd = (reqId: number): Field[] => [IN.CONTRACT_DATA_END, 1, reqId];

// --- market data -------------------------------------------------------------------------------------
export const tickReqParams = (reqId: number, minTick: string, bboExchange: string, snapshotPermissions: number): Field[] => [
  IN.TICK_REQ_PARAMS,
  reqId,
  minTick,
  bboExchange,
  snapshotPermissions,
];
export const marketDataType = (reqId: number, type: number): Field[] => [IN.MARKET_DATA_TYPE, 1, reqId, type];
/** Version 6 with size and attribute mask: 7 fields, as every client expects. */
export const tickPrice = (sv: number, reqId: number, tickType: number, price: string, sz: string, attrMask: number): Field[] => [
  IN.TICK_PRICE,
  6,
  reqId,
  tickType,
  price,
  size(sv, sz),
  attrMask,
];
export const tickSize = (sv: number, reqId: number, tickType: number, sz: string): Field[] => [
  IN.TICK_SIZE,
  6,
  reqId,
  tickType,
  size(sv, sz),
];
export const tickString = (reqId: number, tickType: number, value: string): Field[] => [IN.TICK_STRING, 6, reqId, tickType, value];
export const tickGeneric = (reqId: number, tickType: number, value: number): Field[] => [IN.TICK_GENERIC, 6, reqId, tickType, value];
export const tickSnapshotEnd = (reqId: number): Field[] => [IN.TICK_SNAPSHOT_END, 1, reqId];

// --- depth -------------------------------------------------------------------------------------------
export const marketDepth = (sv: number, reqId: number, position: number, operation: number, side: number, price: string, sz: string): Field[] => [
  IN.MARKET_DEPTH,
  1,
  reqId,
  position,
  operation,
  side,
  price,
  size(sv, sz),
];
export function marketDepthL2(
  sv: number,
  reqId: number,
  position: number,
  marketMaker: string,
  operation: number,
  side: number,
  price: string,
  sz: string,
  isSmartDepth: boolean,
): Field[] {
  const f: Field[] = [IN.MARKET_DEPTH_L2, 1, reqId, position, marketMaker, operation, side, price, size(sv, sz)];
  if (sv >= MIN_SV.SMART_DEPTH) f.push(isSmartDepth);
  return f;
}

// --- tick by tick ------------------------------------------------------------------------------------
export const tickByTickLast = (sv: number, reqId: number, type: 1 | 2, timeSec: number, price: string, sz: string, mask: number, exchange: string, cond: string): Field[] => [
  IN.TICK_BY_TICK,
  reqId,
  type,
  timeSec,
  price,
  size(sv, sz),
  mask,
  exchange,
  cond,
];
export const tickByTickBidAsk = (sv: number, reqId: number, timeSec: number, bid: string, ask: string, bidSize: string, askSize: string, mask: number): Field[] => [
  IN.TICK_BY_TICK,
  reqId,
  3,
  timeSec,
  bid,
  ask,
  size(sv, bidSize),
  size(sv, askSize),
  mask,
];
export const tickByTickMidPoint = (reqId: number, timeSec: number, mid: string): Field[] => [IN.TICK_BY_TICK, reqId, 4, timeSec, mid];

// --- history -----------------------------------------------------------------------------------------
export interface FormattedBar {
  date: string;
  bar: Bar;
}
export function historicalData(sv: number, reqId: number, start: string, end: string, bars: readonly FormattedBar[]): Field[] {
  const f: Field[] = [IN.HISTORICAL_DATA];
  if (sv < MIN_SV.SYNT_REALTIME_BARS) f.push(3);
  f.push(reqId, start, end, bars.length);
  for (const { date, bar } of bars) {
    f.push(date, bar.open, bar.high, bar.low, bar.close, size(sv, bar.volume), bar.wap);
    if (sv < MIN_SV.SYNT_REALTIME_BARS) f.push("false");
    f.push(bar.count);
  }
  return f;
}
/** Note the field order open, close, high, low (tws-protocol.md §7.6). */
export const historicalDataUpdate = (sv: number, reqId: number, date: string, bar: Bar): Field[] => [
  IN.HISTORICAL_DATA_UPDATE,
  reqId,
  bar.count,
  date,
  bar.open,
  bar.close,
  bar.high,
  bar.low,
  bar.wap,
  size(sv, bar.volume),
];
/**
 * IN 98 HISTORICAL_TICKS_LAST: reqId, tickCount, {time (epoch s), mask (bit 0 pastLimit, bit 1 unreported),
 * price, size, exchange, specialConditions} × tickCount, done.
 */
export function historicalTicksLast(sv: number, reqId: number, ticks: readonly { timeSec: number; mask: number; price: string; size: string; exchange: string; conditions: string }[], done: boolean): Field[] {
  const f: Field[] = [IN.HISTORICAL_TICKS_LAST, reqId, ticks.length];
  for (const t of ticks) f.push(t.timeSec, t.mask, t.price, size(sv, t.size), t.exchange, t.conditions);
  f.push(done);
  return f;
}
/**
 * IN 97 HISTORICAL_TICKS_BID_ASK: reqId, tickCount, {time, mask (bit 0 bidPastLow, bit 1 askPastHigh),
 * priceBid, priceAsk, sizeBid, sizeAsk} × tickCount, done.
 */
export function historicalTicksBidAsk(sv: number, reqId: number, ticks: readonly { timeSec: number; mask: number; bid: string; ask: string; bidSize: string; askSize: string }[], done: boolean): Field[] {
  const f: Field[] = [IN.HISTORICAL_TICKS_BID_ASK, reqId, ticks.length];
  for (const t of ticks) f.push(t.timeSec, t.mask, t.bid, t.ask, size(sv, t.bidSize), size(sv, t.askSize));
  f.push(done);
  return f;
}
/** IN 96 HISTORICAL_TICKS (MIDPOINT): reqId, tickCount, {time, 0 (unused, "for consistency"), price, size (0)} × tickCount, done. */
export function historicalTicksMidpoint(sv: number, reqId: number, ticks: readonly { timeSec: number; price: string; size: string }[], done: boolean): Field[] {
  const f: Field[] = [IN.HISTORICAL_TICKS, reqId, ticks.length];
  for (const t of ticks) f.push(t.timeSec, 0, t.price, size(sv, t.size));
  f.push(done);
  return f;
}
export const headTimestamp = (reqId: number, value: string): Field[] => [IN.HEAD_TIMESTAMP, reqId, value];
export const realTimeBar = (sv: number, reqId: number, bar: Bar): Field[] => [
  IN.REAL_TIME_BARS,
  3,
  reqId,
  bar.startSec,
  bar.open,
  bar.high,
  bar.low,
  bar.close,
  size(sv, bar.volume),
  bar.wap,
  bar.count,
];

// --- account -----------------------------------------------------------------------------------------
export const accountSummary = (reqId: number, account: string, tag: string, value: string, currency: string): Field[] => [
  IN.ACCOUNT_SUMMARY,
  1,
  reqId,
  account,
  tag,
  value,
  currency,
];
export const accountSummaryEnd = (reqId: number): Field[] => [IN.ACCOUNT_SUMMARY_END, 1, reqId];

/** The contract block of position and portfolio messages: conId … tradingClass (strike 0, right ""). */
function positionContract(c: InstrumentSpec, exchange = c.exchange): Field[] {
  return [c.conId, c.symbol, c.secType, c.lastTradeDateOrContractMonth, 0, "", c.multiplier, exchange, c.currency, c.localSymbol, c.tradingClass];
}
export function position(sv: number, account: string, c: InstrumentSpec, pos: string, avgCost: string): Field[] {
  return [
    IN.POSITION,
    3,
    account,
    ...positionContract(c),
    positionSize(sv, pos),
    avgCost,
  ];
}
export const positionEnd = (): Field[] => [IN.POSITION_END, 1];
export function positionMulti(sv: number, reqId: number, account: string, c: InstrumentSpec, pos: string, avgCost: string, modelCode: string): Field[] {
  return [
    IN.POSITION_MULTI,
    1,
    reqId,
    account,
    ...positionContract(c),
    positionSize(sv, pos), // POSITION_MULTI exists from sv 103 on: always a decimal
    avgCost,
    modelCode,
  ];
}
export const positionMultiEnd = (reqId: number): Field[] => [IN.POSITION_MULTI_END, 1, reqId];
export const accountUpdateMulti = (reqId: number, account: string, modelCode: string, key: string, value: string, currency: string): Field[] => [
  IN.ACCOUNT_UPDATE_MULTI,
  1,
  reqId,
  account,
  modelCode,
  key,
  value,
  currency,
];
export const accountUpdateMultiEnd = (reqId: number): Field[] => [IN.ACCOUNT_UPDATE_MULTI_END, 1, reqId];

export const accountValue = (key: string, value: string, currency: string, account: string): Field[] => [
  IN.ACCT_VALUE,
  2,
  key,
  value,
  currency,
  account,
];
export function portfolioValue(
  sv: number,
  c: InstrumentSpec,
  pos: string,
  marketPrice: string,
  marketValue: string,
  avgCost: string,
  unrealized: string,
  realized: string,
  account: string,
): Field[] {
  return [
    IN.PORTFOLIO_VALUE,
    8,
    ...positionContract(c, c.primaryExch),
    positionSize(sv, pos),
    marketPrice,
    marketValue,
    avgCost,
    unrealized,
    realized,
    account,
  ];
}
export const accountUpdateTime = (hhmm: string): Field[] => [IN.ACCT_UPDATE_TIME, 1, hhmm];
export const accountDownloadEnd = (account: string): Field[] => [IN.ACCT_DOWNLOAD_END, 1, account];

export function pnl(sv: number, reqId: number, daily: string | undefined, unrealized: string | undefined, realized: string | undefined): Field[] {
  const f: Field[] = [IN.PNL, reqId, dbl(daily)];
  if (sv >= MIN_SV.UNREALIZED_PNL) f.push(dbl(unrealized));
  if (sv >= MIN_SV.REALIZED_PNL) f.push(dbl(realized));
  return f;
}
export function pnlSingle(
  sv: number,
  reqId: number,
  pos: string,
  daily: string | undefined,
  unrealized: string | undefined,
  realized: string | undefined,
  value: string | undefined,
): Field[] {
  const f: Field[] = [IN.PNL_SINGLE, reqId, size(sv, pos), dbl(daily)];
  if (sv >= MIN_SV.UNREALIZED_PNL) f.push(dbl(unrealized));
  if (sv >= MIN_SV.REALIZED_PNL) f.push(dbl(realized));
  f.push(dbl(value));
  return f;
}
