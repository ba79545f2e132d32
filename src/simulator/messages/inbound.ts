/**
 * Decoders for client → server requests, per negotiated server version `sv`
 * (layouts from @stoqey/ib encoder.js and tws-protocol.md §2). Trailing extra fields are ignored;
 * missing fields decode as "" (TWS is lenient the same way).
 */
import type { ContractQuery } from "../market/types.js";
import { MIN_SV } from "./ids.js";

export class FieldReader {
  private i = 0;
  constructor(private readonly fields: readonly string[]) {}
  str(): string {
    return this.fields[this.i++] ?? "";
  }
  int(): number {
    const s = this.str();
    if (s === "") return 0;
    const n = Number.parseInt(s, 10);
    return Number.isFinite(n) ? n : 0;
  }
  bool(): boolean {
    const s = this.str();
    return s === "1" || s.toLowerCase() === "true";
  }
  get remaining(): number {
    return Math.max(0, this.fields.length - this.i);
  }
}

/** The 12 contract fields of modern requests (C12), plus whatever else a request carries. */
export interface WireContract {
  conId: number;
  symbol: string;
  secType: string;
  lastTradeDateOrContractMonth: string;
  strike: string;
  right: string;
  multiplier: string;
  exchange: string;
  primaryExch: string;
  currency: string;
  localSymbol: string;
  tradingClass: string;
  includeExpired: boolean;
  /** BAG only: the legs reqMktData / reqHistoricalData carry after the contract. */
  comboLegs?: ComboLeg[];
}

export interface ComboLeg {
  conId: number;
  ratio: number;
  action: string;
  exchange: string;
}

/** legCount, {conId, ratio, action, exchange}× (reqMktData and reqHistoricalData of a BAG). */
function readComboLegs(r: FieldReader): ComboLeg[] {
  const n = r.int();
  const legs: ComboLeg[] = [];
  for (let i = 0; i < n; i++) legs.push({ conId: r.int(), ratio: r.int(), action: r.str().toUpperCase(), exchange: r.str() });
  return legs;
}

export function readContract12(r: FieldReader, opts: { primaryExch?: boolean } = {}): WireContract {
  const c: WireContract = {
    conId: r.int(),
    symbol: r.str(),
    secType: r.str(),
    lastTradeDateOrContractMonth: r.str(),
    strike: r.str(),
    right: r.str(),
    multiplier: r.str(),
    exchange: r.str(),
    primaryExch: "",
    currency: "",
    localSymbol: "",
    tradingClass: "",
    includeExpired: false,
  };
  if (opts.primaryExch !== false) c.primaryExch = r.str();
  c.currency = r.str();
  c.localSymbol = r.str();
  c.tradingClass = r.str();
  return c;
}

/** The market-model query for a wire contract. SMART and exchange-qualified names ("SMART:NASDAQ") are routed by the model. */
export function toContractQuery(c: WireContract): ContractQuery {
  const q: ContractQuery = {};
  if (c.conId > 0) q.conId = c.conId;
  if (c.symbol) q.symbol = c.symbol;
  if (c.secType) q.secType = c.secType;
  if (c.exchange) q.exchange = c.exchange.split(":")[0] ?? c.exchange;
  if (c.currency) q.currency = c.currency;
  if (c.lastTradeDateOrContractMonth) q.lastTradeDateOrContractMonth = c.lastTradeDateOrContractMonth;
  if (c.localSymbol) q.localSymbol = c.localSymbol;
  if (c.includeExpired) q.includeExpired = true;
  if (c.strike) q.strike = c.strike;
  if (c.right) q.right = c.right;
  if (c.tradingClass) q.tradingClass = c.tradingClass;
  if (c.multiplier) q.multiplier = c.multiplier;
  return q;
}

export interface ReqMktData {
  reqId: number;
  contract: WireContract;
  genericTickList: string;
  snapshot: boolean;
  regulatorySnapshot: boolean;
}
export function decodeReqMktData(sv: number, r: FieldReader): ReqMktData {
  r.int(); // version 11
  const reqId = r.int();
  const contract = readContract12(r);
  if (contract.secType.toUpperCase() === "BAG") contract.comboLegs = readComboLegs(r);
  if (r.bool()) (r.str(), r.str(), r.str()); // delta-neutral contract
  const genericTickList = r.str();
  const snapshot = r.bool();
  const regulatorySnapshot = sv >= MIN_SV.REQ_SMART_COMPONENTS ? r.bool() : false;
  return { reqId, contract, genericTickList, snapshot, regulatorySnapshot };
}

export interface ReqContractData {
  reqId: number;
  contract: WireContract;
  secIdType: string;
  secId: string;
}
/**
 * OUT 9, decoded by the version it carries: version 8 added primaryExch (clients at sv ≥ 75 send it),
 * version 7 has none, so "AAPL, SMART, EUR" from an old client asks for the EUR listing, not the USD one.
 */
export function decodeReqContractData(sv: number, r: FieldReader): ReqContractData {
  const version = r.int();
  const reqId = r.int();
  const contract = readContract12(r, { primaryExch: version >= 8 && sv >= MIN_SV.PRIMARYEXCH });
  contract.includeExpired = r.bool();
  const secIdType = r.str();
  const secId = r.str();
  if (sv >= MIN_SV.BOND_ISSUERID) r.str(); // issuerId
  return { reqId, contract, secIdType, secId };
}

export interface ReqMktDepth {
  reqId: number;
  contract: WireContract;
  numRows: number;
  isSmartDepth: boolean;
}
export function decodeReqMktDepth(sv: number, r: FieldReader): ReqMktDepth {
  r.int(); // version 5
  const reqId = r.int();
  const contract = readContract12(r, { primaryExch: sv >= MIN_SV.MKT_DEPTH_PRIM_EXCHANGE });
  const numRows = r.int();
  const isSmartDepth = sv >= MIN_SV.SMART_DEPTH ? r.bool() : false;
  return { reqId, contract, numRows, isSmartDepth };
}

export interface ReqHistoricalData {
  reqId: number;
  contract: WireContract;
  endDateTime: string;
  barSize: string;
  duration: string;
  useRTH: boolean;
  whatToShow: string;
  formatDate: number;
  keepUpToDate: boolean;
}
export function decodeReqHistoricalData(sv: number, r: FieldReader): ReqHistoricalData {
  if (sv < MIN_SV.SYNT_REALTIME_BARS) r.int(); // version 6
  const reqId = r.int();
  const contract = readContract12(r);
  contract.includeExpired = r.bool();
  const endDateTime = r.str();
  const barSize = r.str();
  const duration = r.str();
  const useRTH = r.bool();
  const whatToShow = r.str();
  const formatDate = r.int();
  if (contract.secType.toUpperCase() === "BAG") contract.comboLegs = readComboLegs(r);
  const keepUpToDate = sv >= MIN_SV.SYNT_REALTIME_BARS ? r.bool() : false;
  return { reqId, contract, endDateTime, barSize, duration, useRTH, whatToShow, formatDate, keepUpToDate };
}

export interface ReqTickByTick {
  reqId: number;
  contract: WireContract;
  tickType: string;
  numberOfTicks: number;
  ignoreSize: boolean;
}
export function decodeReqTickByTick(sv: number, r: FieldReader): ReqTickByTick {
  const reqId = r.int();
  const contract = readContract12(r);
  const tickType = r.str();
  let numberOfTicks = 0;
  let ignoreSize = false;
  if (sv >= MIN_SV.TICK_BY_TICK_IGNORE_SIZE) {
    numberOfTicks = r.int();
    ignoreSize = r.bool();
  }
  return { reqId, contract, tickType, numberOfTicks, ignoreSize };
}

export interface ReqRealTimeBars {
  reqId: number;
  contract: WireContract;
  barSize: number;
  whatToShow: string;
  useRTH: boolean;
}
export function decodeReqRealTimeBars(_sv: number, r: FieldReader): ReqRealTimeBars {
  r.int(); // version 3
  const reqId = r.int();
  const contract = readContract12(r);
  const barSize = r.int();
  const whatToShow = r.str();
  const useRTH = r.bool();
  return { reqId, contract, barSize, whatToShow, useRTH };
}

export interface ReqHeadTimestamp {
  reqId: number;
  contract: WireContract;
  useRTH: boolean;
  whatToShow: string;
  formatDate: number;
}
export function decodeReqHeadTimestamp(_sv: number, r: FieldReader): ReqHeadTimestamp {
  const reqId = r.int();
  const contract = readContract12(r);
  contract.includeExpired = r.bool();
  const useRTH = r.bool();
  const whatToShow = r.str();
  const formatDate = r.int();
  return { reqId, contract, useRTH, whatToShow, formatDate };
}

export interface ReqHistoricalTicks {
  reqId: number;
  contract: WireContract;
  startDateTime: string;
  endDateTime: string;
  numberOfTicks: number;
  whatToShow: string;
  useRth: boolean;
  ignoreSize: boolean;
  miscOptions: string;
}
/**
 * OUT 96 (no version field, sv ≥ 130): reqId, C12, includeExpired, startDateTime, endDateTime,
 * numberOfTicks, whatToShow, useRth, ignoreSize, miscOptions ("tag=value;" pairs in one field).
 */
export function decodeReqHistoricalTicks(_sv: number, r: FieldReader): ReqHistoricalTicks {
  const reqId = r.int();
  const contract = readContract12(r);
  contract.includeExpired = r.bool();
  const startDateTime = r.str();
  const endDateTime = r.str();
  const numberOfTicks = r.int();
  const whatToShow = r.str();
  const useRth = r.bool();
  const ignoreSize = r.bool();
  const miscOptions = r.str();
  return { reqId, contract, startDateTime, endDateTime, numberOfTicks, whatToShow, useRth, ignoreSize, miscOptions };
}

export interface ReqSecDefOptParams {
  reqId: number;
  underlyingSymbol: string;
  futFopExchange: string;
  underlyingSecType: string;
  underlyingConId: number;
}
/** OUT 78 (no version): reqId, underlyingSymbol, futFopExchange, underlyingSecType, underlyingConId. */
export function decodeReqSecDefOptParams(_sv: number, r: FieldReader): ReqSecDefOptParams {
  return { reqId: r.int(), underlyingSymbol: r.str(), futFopExchange: r.str(), underlyingSecType: r.str(), underlyingConId: r.int() };
}

/** OUT 81 (no version): reqId, pattern. */
export function decodeReqMatchingSymbols(_sv: number, r: FieldReader): { reqId: number; pattern: string } {
  return { reqId: r.int(), pattern: r.str() };
}

// --- small requests (their fields were read inline by the session before the dispatch table) ----------

/** A request without fields (or whose fields the simulator does not need). */
export function decodeNothing(_sv: number, _r: FieldReader): void {}

/** version, reqId: most cancels, and reqExecutions (whose filter the simulator ignores). */
export function decodeVersionedReqId(_sv: number, r: FieldReader): number {
  r.int(); // version
  return r.int();
}

/** reqId alone: the newer cancels (tick-by-tick, PnL) and reqUserInfo. */
export function decodeReqId(_sv: number, r: FieldReader): number {
  return r.int();
}

/** reqMarketDataType: version, type (1 live, 2 frozen, 3 delayed, 4 delayed frozen). */
export function decodeReqMarketDataType(_sv: number, r: FieldReader): number {
  r.int(); // version
  return r.int();
}

export interface ReqAccountSummary {
  reqId: number;
  group: string;
  tags: string;
}
export function decodeReqAccountSummary(_sv: number, r: FieldReader): ReqAccountSummary {
  r.int(); // version
  const reqId = r.int();
  const group = r.str();
  const tags = r.str();
  return { reqId, group, tags };
}

/** reqAccountUpdates (OUT 6, REQ_ACCOUNT_DATA): no reqId, one stream per connection. */
export interface ReqAccountUpdates {
  subscribe: boolean;
  account: string;
}
export function decodeReqAccountUpdates(_sv: number, r: FieldReader): ReqAccountUpdates {
  r.int(); // version
  const subscribe = r.bool();
  const account = r.str();
  return { subscribe, account };
}

export interface ReqPositionsMulti {
  reqId: number;
  account: string;
  modelCode: string;
}
export function decodeReqPositionsMulti(_sv: number, r: FieldReader): ReqPositionsMulti {
  r.int(); // version
  const reqId = r.int();
  const account = r.str();
  const modelCode = r.str();
  return { reqId, account, modelCode };
}

export interface ReqAccountUpdatesMulti {
  reqId: number;
  account: string;
  modelCode: string;
  ledgerAndNLV: boolean;
}
export function decodeReqAccountUpdatesMulti(_sv: number, r: FieldReader): ReqAccountUpdatesMulti {
  r.int(); // version
  const reqId = r.int();
  const account = r.str();
  const modelCode = r.str();
  const ledgerAndNLV = r.bool();
  return { reqId, account, modelCode, ledgerAndNLV };
}

/** reqPnL and reqPnLSingle (conId set); the model code is read and ignored. */
export interface ReqPnl {
  reqId: number;
  account: string;
  conId: number | undefined;
}
export function decodeReqPnl(_sv: number, r: FieldReader): ReqPnl {
  const reqId = r.int();
  const account = r.str();
  r.str(); // modelCode
  return { reqId, account, conId: undefined };
}
export function decodeReqPnlSingle(_sv: number, r: FieldReader): ReqPnl {
  const reqId = r.int();
  const account = r.str();
  r.str(); // modelCode
  const conId = r.int();
  return { reqId, account, conId };
}

