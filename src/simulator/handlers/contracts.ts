/**
 * Contract requests: reqContractDetails, reqSecDefOptParams, reqMatchingSymbols, and the one-instrument
 * lookup every data request starts with.
 */
import { ERR } from "../errors.js";
import type { InstrumentSpec } from "../market/types.js";
import { toContractQuery, type ReqContractData, type ReqSecDefOptParams, type WireContract } from "../messages/inbound.js";
import { MIN_SV } from "../messages/ids.js";
import * as msg from "../messages/outbound.js";
import * as assets from "../messages/outboundAssets.js";
import type { Session } from "../session.js";

/**
 * Every match (an ambiguous query lists them all, as TWS does), then contractDataEnd; 200 when none.
 * Bonds are answered with BOND_CONTRACT_DATA (18), as TWS does; secIdType/secId (CUSIP, ISIN) select too.
 */
export function reqContractDetails(session: Session, req: ReqContractData): void {
  const q = toContractQuery(req.contract);
  if (req.secIdType && req.secId) Object.assign(q, { secIdType: req.secIdType, secId: req.secId });
  const found = session.market.findContracts(q);
  if (found.length === 0) {
    session.error(req.reqId, ERR.NO_SECDEF);
    return;
  }
  for (const c of found) session.send(c.secType === "BOND" ? assets.bondContractData(session.sv, req.reqId, c) : msg.contractData(session.sv, req.reqId, c));
  session.send(msg.contractDataEnd(req.reqId));
}

/**
 * The one instrument a data request names, or error 200 (none, or ambiguous). A client below server
 * version 163 reads sizes as integers: data of an instrument traded in fractions (crypto) is refused
 * (10285), not sent with its sizes truncated (BTC trades of 0.0181 would show as 0).
 */
export function resolveContract(session: Session, reqId: number, c: WireContract): InstrumentSpec | undefined {
  const found = session.market.findContracts(toContractQuery(c));
  if (found.length !== 1) {
    session.error(reqId, ERR.NO_SECDEF);
    return undefined;
  }
  const inst = found[0] as InstrumentSpec;
  if (session.sv < MIN_SV.FRACTIONAL_SIZE_SUPPORT && !Number.isInteger(Number(inst.sizeIncrement))) {
    session.error(reqId, ERR.FRACTIONAL_SIZES_UNSUPPORTED);
    return undefined;
  }
  return inst;
}

/**
 * One row per exchange × trading class, then the End. An underlying without options gets the End alone
 * (IB sends no error 200 here: the request names an underlying, not a contract; ib_async returns []).
 */
export function reqSecDefOptParams(session: Session, req: ReqSecDefOptParams): void {
  const rows = session.market.optionChains?.(req.underlyingSymbol, req.underlyingSecType, req.underlyingConId, req.futFopExchange) ?? [];
  for (const r of rows) session.send(assets.securityDefinitionOptionParameter(req.reqId, r));
  session.send(assets.securityDefinitionOptionParameterEnd(req.reqId));
}

/** IB lists at most 16 descriptions per reqMatchingSymbols. */
const MAX_SYMBOL_SAMPLES = 16;
const SAMPLE_SEC_TYPES = new Set(["STK", "IND", "FUND", "BOND"]);

/**
 * symbolSamples: case-insensitive symbol prefix or long-name substring over stocks/ETFs, indices, funds
 * and bonds; the exact symbol first, then symbol prefixes (shorter first), then name matches.
 */
export function reqMatchingSymbols(session: Session, req: { reqId: number; pattern: string }): void {
  const p = req.pattern.trim().toUpperCase();
  const rank = (s: InstrumentSpec): number => (s.symbol === p ? 0 : s.symbol.startsWith(p) ? 1 : s.longName.toUpperCase().includes(p) ? 2 : 3);
  const hits = p === "" ? [] : session.market.instruments().filter((s) => SAMPLE_SEC_TYPES.has(s.secType) && rank(s) < 3);
  hits.sort((a, b) => rank(a) - rank(b) || a.symbol.length - b.symbol.length || a.symbol.localeCompare(b.symbol));
  const rows = hits.slice(0, MAX_SYMBOL_SAMPLES).map((s) => ({
    conId: s.conId,
    symbol: s.symbol,
    secType: s.secType,
    primaryExch: s.primaryExch || s.exchange,
    currency: s.currency,
    derivativeSecTypes: (session.market.optionChains?.(s.symbol, s.secType, s.conId, "") ?? []).length > 0 ? ["OPT"] : [],
    description: s.longName,
    issuerId: "",
  }));
  session.send(assets.symbolSamples(session.sv, req.reqId, rows));
}
