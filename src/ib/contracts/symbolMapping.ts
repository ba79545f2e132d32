import { OptionType, type Contract } from "@stoqey/ib";
import type { IbContractOverride } from "../../config/providerConfig.js";
import { formatInstrumentSymbol, parseInstrumentSymbol, type AssetClass, type InstrumentSpec } from "../../domain/instrumentSymbol.js";
import type { MarketType } from "../../domain/marketType.js";

/**
 * Barfinex symbols → IB contract queries. The syntax is the domain's (parseInstrumentSymbol); this maps each
 * class to what IB wants in reqContractDetails: crypto is quoted in USD on PAXOS (no BTCUSDT at IB), forex is
 * a base currency on IDEALPRO, futures and their options need their exchange, bonds go by CUSIP/ISIN, combos
 * by their legs' conIds (resolved first, see ContractResolver). The query is resolved to one contract.
 */

/** Exchange per futures root (IB wants one in the query). */
export const FUTURES_EXCHANGES: Readonly<Record<string, string>> = {
  ES: "CME", MES: "CME", NQ: "CME", MNQ: "CME", RTY: "CME", M2K: "CME", "6E": "CME", "6J": "CME", "6B": "CME",
  YM: "CBOT", MYM: "CBOT", ZN: "CBOT", ZB: "CBOT", ZF: "CBOT", ZC: "CBOT", ZS: "CBOT", ZW: "CBOT",
  CL: "NYMEX", MCL: "NYMEX", NG: "NYMEX", GC: "COMEX", MGC: "COMEX", SI: "COMEX", HG: "COMEX",
};

/** Where IB lists the common US indices; any other index goes with exchange "" and IB answers with its listing. */
const INDEX_EXCHANGES: Readonly<Record<string, string>> = {
  SPX: "CBOE", VIX: "CBOE", XSP: "CBOE", OEX: "CBOE", DJX: "CBOE", VIX9D: "CBOE", VVIX: "CBOE", NDX: "NASDAQ", RUT: "RUSSELL",
};

const MONTH_CODES = "FGHJKMNQUVXZ";

/** A combo leg to resolve before the BAG contract can be built (its canonical text in the combo's market). */
export interface ComboLegQuery {
  symbol: string;
  /** Signed: positive buys the leg. */
  ratio: number;
}

export interface ContractQuery {
  assetClass: AssetClass;
  contract: Contract;
  /** For futures without an explicit expiry: pick the nearest non-expired contract among the matches. */
  pickFrontMonth: boolean;
  /** Options on futures: the underlying future's month (YYYYMM) to pick among several matches. */
  futureMonth?: string;
  /** Bonds: the ids the symbol carries (a US ISIN holds the CUSIP), for when IB's answer has no secIdList. */
  bondIds?: { cusip?: string; isin?: string };
  /** Combos: the legs, resolved by the resolver into `contract.comboLegs`. */
  legs?: ComboLegQuery[];
  /** Shown to users (GetSymbol.mapping_note) when the IB instrument differs from the symbol's face. */
  note: string;
  baseAsset: string;
  quoteAsset: string;
}

export type MappingResult = ContractQuery | { error: string };

export function mapSymbol(marketType: MarketType, symbol: string, override?: IbContractOverride, nowMs: number = Date.now()): MappingResult {
  const parsed = parseInstrumentSymbol(marketType, symbol);
  if ("error" in parsed) return parsed;
  const base = mapSpec(parsed.spec, symbol.trim().toUpperCase(), nowMs);
  if (override === undefined) return base;
  const contract: Contract = { ...base.contract };
  for (const [key, value] of Object.entries(override)) if (value !== undefined) (contract as Record<string, unknown>)[key] = value;
  return {
    ...base,
    contract,
    pickFrontMonth: base.pickFrontMonth && override.lastTradeDateOrContractMonth === undefined && override.localSymbol === undefined && override.conId === undefined,
    note: `${symbol} mapped by config override`,
  };
}

function mapSpec(spec: InstrumentSpec, written: string, nowMs: number): ContractQuery {
  const query = (contract: Contract, baseAsset: string, extra: Partial<ContractQuery> = {}): ContractQuery => ({
    assetClass: spec.assetClass,
    contract,
    pickFrontMonth: false,
    note: "",
    baseAsset,
    quoteAsset: "USD",
    ...extra,
  });
  const secType = (s: string) => s as Contract["secType"];
  switch (spec.assetClass) {
    case "stock":
      // SMART routing in USD (add primaryExch in the config override to disambiguate); IB writes BRK.B as "BRK B".
      return query({ symbol: spec.symbol.replace(".", " "), secType: secType("STK"), exchange: "SMART", currency: "USD" }, spec.symbol);
    case "crypto": {
      const quote = spec.quote === "" ? "USD" : spec.quote;
      const note = quote === "USD" ? "" : `${written} is served as ${spec.coin}/USD on PAXOS: IB quotes crypto in USD and has no ${quote} pairs`;
      return query({ symbol: spec.coin, secType: secType("CRYPTO"), exchange: "PAXOS", currency: "USD" }, spec.coin, { note });
    }
    case "forex":
      return query({ symbol: spec.base, secType: secType("CASH"), exchange: "IDEALPRO", currency: spec.quote }, spec.base, { quoteAsset: spec.quote });
    case "index": {
      // An index of another market is quoted in its currency (DAX in EUR, N225 in JPY): asked in USD, IB finds none.
      const listed = INDEX_EXCHANGES[spec.symbol];
      return query({ symbol: spec.symbol, secType: secType("IND"), exchange: listed ?? "", currency: listed === undefined ? "" : "USD" }, spec.symbol);
    }
    case "option":
      return query(
        { symbol: spec.underlying, secType: secType("OPT"), lastTradeDateOrContractMonth: spec.expiry, strike: Number(spec.strike), right: spec.right === "call" ? OptionType.Call : OptionType.Put, tradingClass: spec.tradingClass, exchange: "SMART", currency: "USD" },
        spec.underlying,
      );
    case "future":
      return mapFuture(spec, written);
    case "future-option": {
      const futureMonth = monthOfLocalSymbol(spec.futureLocalSymbol, nowMs);
      return query(
        { symbol: spec.root, secType: secType("FOP"), exchange: FUTURES_EXCHANGES[spec.root] ?? "", lastTradeDateOrContractMonth: futureMonth, strike: Number(spec.strike), right: spec.right === "call" ? OptionType.Call : OptionType.Put, tradingClass: spec.root, currency: "USD" },
        spec.root,
        { futureMonth },
      );
    }
    case "bond": {
      // The id as written: an ISIN when the client gave one (a US ISIN also carries its CUSIP).
      const [secIdType, secId] = spec.isin !== undefined ? ["ISIN", spec.isin] : ["CUSIP", spec.cusip ?? ""];
      return query({ secType: secType("BOND"), secIdType, secId, exchange: "SMART", currency: "USD" }, secId, { bondIds: { cusip: spec.cusip, isin: spec.isin } });
    }
    case "fund":
      return query({ symbol: spec.symbol, secType: secType("FUND"), exchange: "FUNDSERV", currency: "USD" }, spec.symbol);
    case "combo": {
      const legs = spec.legs.map((l) => ({ symbol: formatInstrumentSymbol(l.leg), ratio: l.ratio }));
      // symbol, exchange and comboLegs come from the resolved legs (ContractResolver).
      return query({ symbol: "", secType: secType("BAG"), exchange: "SMART", currency: "USD" }, formatInstrumentSymbol(spec), { legs });
    }
  }
}

/**
 * "ES" → the front month: the nearest contract whose last trade date is today or later (it rolls on the day
 * after the last trade, not at IB's earlier volume roll). "ES-202612" / "ES-20261218" → that expiry;
 * "ESZ6" → that local symbol. An explicit month may have expired: IB is asked with includeExpired.
 */
function mapFuture(spec: Extract<InstrumentSpec, { assetClass: "future" }>, written: string): ContractQuery {
  const contract: Contract = { symbol: spec.root, secType: "FUT" as Contract["secType"], exchange: FUTURES_EXCHANGES[spec.root] ?? "", currency: "USD" };
  if (spec.expiry !== undefined) contract.lastTradeDateOrContractMonth = spec.expiry;
  if (spec.localSymbol !== undefined) contract.localSymbol = spec.localSymbol;
  const pickFrontMonth = spec.expiry === undefined && spec.localSymbol === undefined;
  if (!pickFrontMonth) contract.includeExpired = true;
  return { assetClass: "future", contract, pickFrontMonth, note: pickFrontMonth ? `${written} is served as the front-month ${spec.root} contract` : "", baseAsset: spec.root, quoteAsset: "USD" };
}

/**
 * The YYYYMM of a futures local symbol (ESH7): IB's one-digit year means the nearest such year whose month
 * is not in the past (in 2026-12, H7 is 2027-03 and Z6 is 2026-12).
 */
export function monthOfLocalSymbol(localSymbol: string, nowMs: number): string {
  const code = localSymbol.at(-2)!;
  const digit = Number(localSymbol.at(-1));
  const month = MONTH_CODES.indexOf(code) + 1;
  const now = new Date(nowMs);
  const thisMonth = now.getUTCFullYear() * 100 + now.getUTCMonth() + 1;
  let year = now.getUTCFullYear() - (now.getUTCFullYear() % 10) + digit;
  if (year * 100 + month < thisMonth) year += 10;
  return `${year}${String(month).padStart(2, "0")}`;
}
