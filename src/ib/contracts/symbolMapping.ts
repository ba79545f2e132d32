import type { Contract } from "@stoqey/ib";
import type { IbContractOverride } from "../../config/providerConfig.js";
import type { MarketType } from "../../domain/marketType.js";

/**
 * Barfinex symbols → IB contract queries. IB names instruments differently from crypto exchanges:
 * there is no BTCUSDT at IB (crypto is quoted in USD on PAXOS), forex is a base currency on IDEALPRO,
 * futures need an exchange and an expiry. The query is resolved to one contract via contract details.
 */

/** Coins IB offers on PAXOS (and ZEROHASH in some regions). */
export const IB_CRYPTO_COINS = ["BTC", "ETH", "LTC", "BCH", "SOL", "AVAX", "LINK", "UNI", "AAVE", "MATIC", "DOGE", "SHIB", "XRP"];
/** Quote assets Barfinex users write that IB serves as USD. */
const CRYPTO_QUOTES = ["USDT", "USDC", "USD"];
const FX_CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "HKD", "SGD", "CNH", "MXN", "ZAR", "PLN", "CZK", "HUF", "ILS", "TRY", "KRW"];

/** Exchange per futures root (IB wants one in the query). */
const FUTURES_EXCHANGES: Record<string, string> = {
  ES: "CME", MES: "CME", NQ: "CME", MNQ: "CME", RTY: "CME", M2K: "CME", "6E": "CME", "6J": "CME", "6B": "CME",
  YM: "CBOT", MYM: "CBOT", ZN: "CBOT", ZB: "CBOT", ZF: "CBOT", ZC: "CBOT", ZS: "CBOT", ZW: "CBOT",
  CL: "NYMEX", MCL: "NYMEX", NG: "NYMEX", GC: "COMEX", MGC: "COMEX", SI: "COMEX", HG: "COMEX",
};

export interface ContractQuery {
  contract: Contract;
  /** For futures without an explicit expiry: pick the nearest non-expired contract among the matches. */
  pickFrontMonth: boolean;
  /** Shown to users (GetSymbol.mapping_note) when the IB instrument differs from the symbol's face. */
  note: string;
  baseAsset: string;
  quoteAsset: string;
}

export type MappingResult = ContractQuery | { error: string };

export function mapSymbol(marketType: MarketType, symbol: string, override?: IbContractOverride): MappingResult {
  const upper = symbol.toUpperCase();
  const base = marketType === "futures" ? mapFuture(upper) : mapCash(upper);
  if ("error" in base || override === undefined) return base;
  const contract: Contract = { ...base.contract };
  for (const [key, value] of Object.entries(override)) if (value !== undefined) (contract as Record<string, unknown>)[key] = value;
  return {
    ...base,
    contract,
    pickFrontMonth: base.pickFrontMonth && override.lastTradeDateOrContractMonth === undefined && override.localSymbol === undefined && override.conId === undefined,
    note: `${symbol} mapped by config override`,
  };
}

function mapCash(symbol: string): MappingResult {
  const crypto = splitCrypto(symbol);
  if (crypto !== undefined) {
    const note = crypto.quote === "USD" ? "" : `${symbol} is served as ${crypto.coin}/USD on PAXOS: IB quotes crypto in USD and has no ${crypto.quote} pairs`;
    return {
      contract: { symbol: crypto.coin, secType: "CRYPTO" as Contract["secType"], exchange: "PAXOS", currency: "USD" },
      pickFrontMonth: false,
      note,
      baseAsset: crypto.coin,
      quoteAsset: "USD",
    };
  }
  const fx = /^([A-Z]{3})[./]?([A-Z]{3})$/.exec(symbol);
  if (fx !== null && FX_CURRENCIES.includes(fx[1]!) && FX_CURRENCIES.includes(fx[2]!) && fx[1] !== fx[2]) {
    return {
      contract: { symbol: fx[1], secType: "CASH" as Contract["secType"], exchange: "IDEALPRO", currency: fx[2] },
      pickFrontMonth: false,
      note: "",
      baseAsset: fx[1]!,
      quoteAsset: fx[2]!,
    };
  }
  if (!/^[A-Z][A-Z0-9.]{0,11}$/.test(symbol)) return { error: `${JSON.stringify(symbol)} is not a valid stock, crypto or forex symbol` };
  // Stocks: SMART routing in USD (add primaryExch in the config override to disambiguate).
  return {
    contract: { symbol: symbol.replace(".", " "), secType: "STK" as Contract["secType"], exchange: "SMART", currency: "USD" },
    pickFrontMonth: false,
    note: "",
    baseAsset: symbol,
    quoteAsset: "USD",
  };
}

function splitCrypto(symbol: string): { coin: string; quote: string } | undefined {
  if (IB_CRYPTO_COINS.includes(symbol)) return { coin: symbol, quote: "USD" };
  const m = /^([A-Z]+?)[-/.]?(USDT|USDC|USD)$/.exec(symbol);
  if (m === null || !IB_CRYPTO_COINS.includes(m[1]!) || !CRYPTO_QUOTES.includes(m[2]!)) return undefined;
  return { coin: m[1]!, quote: m[2]! };
}

/** "ES" → front month; "ES-202612" / "ES 20261218" → that expiry; "ESZ6" / "ESZ26" → that local symbol. */
function mapFuture(symbol: string): MappingResult {
  const withExpiry = /^([A-Z0-9]{1,4})[- ](\d{6}|\d{8})$/.exec(symbol);
  const local = /^([A-Z0-9]{1,3})([FGHJKMNQUVXZ])(\d{1,2})$/.exec(symbol);
  const root = withExpiry?.[1] ?? (local !== null && FUTURES_EXCHANGES[local[1]!] !== undefined ? local[1]! : symbol);
  if (!/^[A-Z0-9]{1,5}$/.test(root)) return { error: `${JSON.stringify(symbol)} is not a futures root (e.g. ES), root-YYYYMM or local symbol (e.g. ESZ6)` };
  const contract: Contract = { symbol: root, secType: "FUT" as Contract["secType"], exchange: FUTURES_EXCHANGES[root] ?? "", currency: "USD" };
  if (withExpiry !== null) contract.lastTradeDateOrContractMonth = withExpiry[2];
  else if (local !== null && root !== symbol) {
    // IB local symbols use a one-digit year (ESZ6); accept ESZ26 too.
    contract.localSymbol = `${local[1]}${local[2]}${local[3]!.slice(-1)}`;
  }
  const pickFrontMonth = contract.lastTradeDateOrContractMonth === undefined && contract.localSymbol === undefined;
  return {
    contract,
    pickFrontMonth,
    note: pickFrontMonth ? `${symbol} is served as the front-month ${root} contract` : "",
    baseAsset: root,
    quoteAsset: "USD",
  };
}
