/**
 * Encoders of the multi-asset messages (layouts from @stoqey/ib decoder.js at the negotiated server
 * version): bond contract data (18), option computations (21), option chain parameters (75/76) and
 * symbol samples (79).
 */
import type { InstrumentSpec, OptionChain, OptionComputation } from "../market/types.js";
import type { Field } from "../wire/fields.js";
import { IN, MIN_SV } from "./ids.js";
import { secIdList } from "./outbound.js";

/**
 * IN 18 BOND_CONTRACT_DATA: what TWS answers reqContractDetails with for a bond (not msg 10). From
 * sv 164 without a version field; trading hours only from sv 188.
 */
export function bondContractData(sv: number, reqId: number, c: InstrumentSpec): Field[] {
  const b = c.bond;
  const f: Field[] = [IN.BOND_CONTRACT_DATA];
  if (sv < MIN_SV.SIZE_RULES) f.push(6);
  f.push(reqId, c.symbol, c.secType, b?.cusip ?? "", b?.coupon ?? 0, b?.maturity ?? "", b?.issueDate ?? "", "" /* ratings */, b?.bondType ?? "", b?.couponType ?? "");
  f.push(false /* convertible */, false /* callable */, false /* putable */, "" /* descAppend */, c.exchange, c.currency, c.marketName, c.tradingClass, c.conId, c.minTick);
  if (sv >= MIN_SV.MD_SIZE_MULTIPLIER && sv < MIN_SV.SIZE_RULES) f.push(1);
  f.push(c.orderTypes, c.validExchanges, "" /* nextOptionDate */, "" /* nextOptionType */, false /* nextOptionPartial */, "" /* notes */, c.longName);
  if (sv >= MIN_SV.BOND_TRADING_HOURS) f.push(c.timeZoneId, c.tradingHours, c.liquidHours);
  f.push("" /* evRule */, 0 /* evMultiplier */, ...secIdList(c));
  if (sv >= MIN_SV.AGG_GROUP) f.push(1);
  if (sv >= MIN_SV.MARKET_RULES) f.push(c.marketRuleIds);
  if (sv >= MIN_SV.SIZE_RULES) f.push(c.minSize, c.sizeIncrement, c.suggestedSizeIncrement);
  return f;
}

/** Ten significant digits: greeks of far strikes are tiny, and clients parse any double. */
const num = (v: number | undefined, unset: number): string => (v === undefined || !Number.isFinite(v) ? String(unset) : String(Number(v.toPrecision(10))));

/**
 * IN 21 TICK_OPTION_COMPUTATION. From sv 156 (PRICE_BASED_VOLATILITY): no version, then tickAttrib
 * (0 = return-based); before it version 6. Unset values are IB's markers: −1 for volatility and prices,
 * −2 for delta and the other greeks. pvDividend is 0 (no dividends in the model).
 */
export function tickOptionComputation(sv: number, reqId: number, tickType: number, c: OptionComputation): Field[] {
  const f: Field[] = [IN.TICK_OPTION_COMPUTATION];
  if (sv < MIN_SV.PRICE_BASED_VOLATILITY) f.push(6);
  f.push(reqId, tickType);
  if (sv >= MIN_SV.PRICE_BASED_VOLATILITY) f.push(0);
  f.push(num(c.impliedVol, -1), num(c.delta, -2), num(c.optPrice, -1), 0, num(c.gamma, -2), num(c.vega, -2), num(c.theta, -2), num(c.undPrice, -1));
  return f;
}

/** IN 75: reqId, exchange, underlyingConId, tradingClass, multiplier, expirations (count + list), strikes (count + list). */
export function securityDefinitionOptionParameter(reqId: number, r: OptionChain): Field[] {
  return [
    IN.SECURITY_DEFINITION_OPTION_PARAMETER,
    reqId,
    r.exchange,
    r.underlyingConId,
    r.tradingClass,
    r.multiplier,
    r.expirations.length,
    ...r.expirations,
    r.strikes.length,
    ...r.strikes,
  ];
}

export const securityDefinitionOptionParameterEnd = (reqId: number): Field[] => [IN.SECURITY_DEFINITION_OPTION_PARAMETER_END, reqId];

export interface ContractDescription {
  conId: number;
  symbol: string;
  secType: string;
  primaryExch: string;
  currency: string;
  derivativeSecTypes: string[];
  description: string;
  issuerId: string;
}

/** IN 79 SYMBOL_SAMPLES: reqId, count, {conId, symbol, secType, primaryExch, currency, derivative secTypes, [description, issuerId sv ≥ 176]}. */
export function symbolSamples(sv: number, reqId: number, rows: readonly ContractDescription[]): Field[] {
  const f: Field[] = [IN.SYMBOL_SAMPLES, reqId, rows.length];
  for (const r of rows) {
    f.push(r.conId, r.symbol, r.secType, r.primaryExch, r.currency, r.derivativeSecTypes.length, ...r.derivativeSecTypes);
    if (sv >= MIN_SV.BOND_ISSUERID) f.push(r.description, r.issuerId);
  }
  return f;
}
