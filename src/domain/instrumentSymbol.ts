/**
 * The symbol syntax: one text per instrument of every asset class, usable in REST paths, stored as the key of
 * feeds, caches and recorded events. The structured form (gRPC `InstrumentSpec`) is formatted to this text, so
 * there is one identity whichever form a client used. Pure: no IB types here (src/ib maps a spec to a contract).
 *
 * Barfinex has three market types and no separate stock market: `spot` holds everything bought outright or on
 * a listed exchange (stocks/ETFs, crypto, forex, indices, options on stocks and indices, bonds, funds, combos
 * of those), `futures` holds futures, options on futures and their combos. An option is a class inside a
 * market, not a market of its own: its positions, margins and account view are the spot account's at IB.
 */
import type { MarketType } from "./marketType.js";

export const ASSET_CLASSES = ["stock", "index", "future", "option", "future-option", "forex", "crypto", "bond", "fund", "combo"] as const;
export type AssetClass = (typeof ASSET_CLASSES)[number];
export type OptionRight = "call" | "put";

export interface ComboLegSpec {
  /** Signed ratio: positive buys the leg, negative sells it. Never 0. */
  ratio: number;
  leg: Exclude<InstrumentSpec, { assetClass: "combo" }>;
}

export type InstrumentSpec =
  | { assetClass: "stock"; symbol: string }
  /** quote as written ("" for a bare coin): IB quotes every coin in USD, the text keeps what the client asked. */
  | { assetClass: "crypto"; coin: string; quote: string }
  | { assetClass: "forex"; base: string; quote: string }
  | { assetClass: "index"; symbol: string }
  /** Neither expiry nor localSymbol: the front contract (see docs/instruments.md for the roll rule). */
  | { assetClass: "future"; root: string; expiry?: string; localSymbol?: string }
  /** expiry YYYYMMDD; strike a plain decimal text ("200", "102.5"). */
  | { assetClass: "option"; underlying: string; tradingClass: string; expiry: string; right: OptionRight; strike: string }
  /** On the future named by its local symbol (ESH7); the option's expiry is IB's for that future's class. */
  | { assetClass: "future-option"; root: string; futureLocalSymbol: string; right: OptionRight; strike: string }
  | { assetClass: "bond"; cusip?: string; isin?: string }
  | { assetClass: "fund"; symbol: string }
  | { assetClass: "combo"; legs: ComboLegSpec[] };

export type ParsedSymbol = { spec: InstrumentSpec; text: string } | { error: string };

/** Coins IB offers on PAXOS (and ZEROHASH in some regions). */
export const IB_CRYPTO_COINS = ["BTC", "ETH", "LTC", "BCH", "SOL", "AVAX", "LINK", "UNI", "AAVE", "MATIC", "DOGE", "SHIB", "XRP"];
const CRYPTO_QUOTES = ["USDT", "USDC", "USD"];
const FX_CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "HKD", "SGD", "CNH", "MXN", "ZAR", "PLN", "CZK", "HUF", "ILS", "TRY", "KRW"];
/** Indices known by their bare name; any other is written IND:NAME. */
export const KNOWN_INDICES = ["SPX", "VIX", "NDX", "RUT", "DJX", "XSP", "OEX", "VIX9D", "VVIX"];
/** OCC option roots that are a trading class of another underlying (weeklies, PM-settled). */
const OPTION_CLASS_UNDERLYING: Record<string, string> = { SPXW: "SPX", NDXP: "NDX", RUTW: "RUT", VIXW: "VIX", DJXW: "DJX" };
export const MAX_COMBO_LEGS = 8;
export const MAX_SYMBOL_LENGTH = 200;

const MONTH_CODES = "FGHJKMNQUVXZ";
const OCC = /^([A-Z][A-Z0-9]{0,5}) *(\d{2})(\d{2})(\d{2})([CP])(\d{8})$/;
const FUTURE_LOCAL = /^([A-Z0-9]{1,3})([FGHJKMNQUVXZ])(\d{1,2})$/;
const FUTURE_EXPIRY = /^([A-Z0-9]{1,5})[- ](\d{6}|\d{8})$/;
const FUTURE_OPTION = /^([A-Z0-9]{1,3})([FGHJKMNQUVXZ])(\d{1,2})[ -]?([CP])(\d{1,7}(?:\.\d{1,6})?)$/;
const STOCK = /^[A-Z][A-Z0-9.]{0,11}$/;

/** Parses a symbol of `marketType` (any case) to its spec and canonical text, or says what is wrong with it. */
export function parseInstrumentSymbol(marketType: MarketType, input: string): ParsedSymbol {
  const text = input.trim().toUpperCase();
  if (text.length === 0 || text.length > MAX_SYMBOL_LENGTH) return { error: `a symbol has 1 to ${MAX_SYMBOL_LENGTH} characters` };
  if (text.startsWith("COMBO:")) return parseCombo(marketType, text.slice(6));
  const spec = marketType === "futures" ? parseFuturesMarket(text) : parseSpotMarket(text);
  return "error" in spec ? spec : { spec, text: formatInstrumentSymbol(spec) };
}

/** The canonical text of a spec (what parseInstrumentSymbol returns for it, and accepts back). */
export function formatInstrumentSymbol(spec: InstrumentSpec): string {
  switch (spec.assetClass) {
    case "stock":
      return STOCK.test(spec.symbol) && !looksLikeOtherClass(spec.symbol) ? spec.symbol : `STK:${spec.symbol}`;
    case "crypto":
      return `${spec.coin}${spec.quote}`;
    case "forex":
      return `${spec.base}${spec.quote}`;
    case "index":
      return KNOWN_INDICES.includes(spec.symbol) ? spec.symbol : `IND:${spec.symbol}`;
    case "fund":
      return /^[A-Z]{4}X$/.test(spec.symbol) ? spec.symbol : `FUND:${spec.symbol}`;
    case "bond":
      return spec.isin ?? spec.cusip ?? "";
    case "future":
      return spec.localSymbol ?? (spec.expiry !== undefined ? `${spec.root}-${spec.expiry}` : spec.root);
    case "option":
      return `${spec.tradingClass}${spec.expiry.slice(2)}${spec.right === "call" ? "C" : "P"}${occStrike(spec.strike)}`;
    case "future-option":
      return `${spec.futureLocalSymbol}${spec.right === "call" ? "C" : "P"}${spec.strike}`;
    case "combo":
      return `COMBO:${spec.legs.map((l) => `${l.ratio < 0 ? "-" : ""}${Math.abs(l.ratio) === 1 ? "" : `${Math.abs(l.ratio)}*`}${formatInstrumentSymbol(l.leg)}`).join(",")}`;
  }
}

/** Which market type holds a class (combos: the market of their legs). */
export function marketOfClass(assetClass: Exclude<AssetClass, "combo">): MarketType {
  return assetClass === "future" || assetClass === "future-option" ? "futures" : "spot";
}

function parseSpotMarket(text: string): InstrumentSpec | { error: string } {
  const prefixed = /^(STK|IND|FUND|BOND):(.+)$/.exec(text);
  if (prefixed !== null) return parsePrefixed(prefixed[1]!, prefixed[2]!);
  if (/^(FUT|FOP):/.test(text) || FUTURE_OPTION.test(text)) return { error: `${show(text)} is a futures instrument: ask for it in the futures market` };
  const occ = OCC.exec(text);
  if (occ !== null) return optionFromOcc(occ);
  const crypto = splitCrypto(text);
  if (crypto !== undefined) return { assetClass: "crypto", ...crypto };
  const fx = /^([A-Z]{3})[./]?([A-Z]{3})$/.exec(text);
  if (fx !== null && FX_CURRENCIES.includes(fx[1]!) && FX_CURRENCIES.includes(fx[2]!) && fx[1] !== fx[2]) return { assetClass: "forex", base: fx[1]!, quote: fx[2]! };
  if (KNOWN_INDICES.includes(text)) return { assetClass: "index", symbol: text };
  const bond = bondIds(text);
  if (bond !== undefined) return bond;
  if (/^[A-Z]{4}X$/.test(text)) return { assetClass: "fund", symbol: text };
  if (STOCK.test(text)) return { assetClass: "stock", symbol: text };
  return {
    error: `${show(text)} is not a symbol of the spot market: expected a stock or ETF (AAPL, BRK.B), crypto (BTCUSDT), forex (EURUSD), index (SPX, IND:DAX), option (OCC: AAPL270115C00200000), bond (CUSIP or ISIN), fund (VFIAX, FUND:NAME) or COMBO:leg,-leg`,
  };
}

function parsePrefixed(kind: string, rest: string): InstrumentSpec | { error: string } {
  if (kind === "BOND") return bondIds(rest) ?? { error: `${show(rest)} is not a CUSIP or ISIN with a valid check digit` };
  if (!/^[A-Z0-9][A-Z0-9. ]{0,15}$/.test(rest)) return { error: `${show(rest)} is not a valid ${kind} name` };
  if (kind === "STK") return { assetClass: "stock", symbol: rest };
  return kind === "IND" ? { assetClass: "index", symbol: rest } : { assetClass: "fund", symbol: rest };
}

function parseFuturesMarket(text: string): InstrumentSpec | { error: string } {
  const fop = FUTURE_OPTION.exec(text);
  if (fop !== null) {
    return { assetClass: "future-option", root: fop[1]!, futureLocalSymbol: `${fop[1]}${fop[2]}${fop[3]!.slice(-1)}`, right: fop[4] === "C" ? "call" : "put", strike: plainDecimal(fop[5]!) };
  }
  const withExpiry = FUTURE_EXPIRY.exec(text);
  if (withExpiry !== null) return { assetClass: "future", root: withExpiry[1]!, expiry: withExpiry[2]! };
  const local = FUTURE_LOCAL.exec(text);
  // IB local symbols use a one-digit year (ESZ6); ESZ26 is accepted and means the same contract.
  if (local !== null && text.length > 2) return { assetClass: "future", root: local[1]!, localSymbol: `${local[1]}${local[2]}${local[3]!.slice(-1)}` };
  if (/^[A-Z0-9]{1,5}$/.test(text)) return { assetClass: "future", root: text };
  return { error: `${show(text)} is not a futures symbol: expected a root (ES: the front contract), a month (ESH7, ES-202703) or an option on a future (ESH7C5000)` };
}

function parseCombo(marketType: MarketType, body: string): ParsedSymbol {
  const parts = body.split(",").map((p) => p.trim());
  if (parts.length < 2 || parts.length > MAX_COMBO_LEGS) return { error: `a combo has 2 to ${MAX_COMBO_LEGS} legs, written COMBO:leg,-leg,2*leg (got ${parts.length})` };
  const legs: ComboLegSpec[] = [];
  for (const [i, part] of parts.entries()) {
    const m = /^([+-]?)(?:(\d{1,3})\*)?(.+)$/.exec(part);
    if (m === null) return { error: `combo leg ${i + 1} is empty (COMBO:leg,-leg,2*leg)` };
    const ratio = (m[1] === "-" ? -1 : 1) * Number(m[2] ?? "1");
    if (ratio === 0) return { error: `combo leg ${show(part)}: a ratio is 1 to 999` };
    const parsed = parseInstrumentSymbol(marketType, m[3]!);
    if ("error" in parsed) return { error: `combo leg ${show(part)}: ${parsed.error}` };
    if (parsed.spec.assetClass === "combo") return { error: `combo leg ${show(part)}: a leg cannot be a combo` };
    legs.push({ ratio, leg: parsed.spec });
  }
  const spec: InstrumentSpec = { assetClass: "combo", legs };
  return { spec, text: formatInstrumentSymbol(spec) };
}

function optionFromOcc(m: RegExpExecArray): InstrumentSpec | { error: string } {
  const [, root, yy, mm, dd, right, strike] = m as unknown as [string, string, string, string, string, string, string];
  const expiry = `20${yy}${mm}${dd}`;
  if (!validDate(expiry)) return { error: `${show(m[0])}: ${expiry} is not a date (OCC: root, YYMMDD, C or P, strike × 1000 in 8 digits)` };
  const thousandths = Number(strike);
  const value = `${Math.floor(thousandths / 1000)}${thousandths % 1000 === 0 ? "" : `.${String(thousandths % 1000).padStart(3, "0").replace(/0+$/, "")}`}`;
  return { assetClass: "option", underlying: OPTION_CLASS_UNDERLYING[root] ?? root, tradingClass: root, expiry, right: right === "C" ? "call" : "put", strike: value };
}

function occStrike(strike: string): string {
  const [whole, frac = ""] = strike.split(".");
  return `${whole!.padStart(5, "0")}${frac.padEnd(3, "0").slice(0, 3)}`;
}

/** One text per number: no leading zeros (ESH7C0200.5 is ESH7C200.5), no trailing decimal zeros. */
function plainDecimal(text: string): string {
  const unpadded = text.replace(/^0+(?=\d)/, "");
  return unpadded.includes(".") ? unpadded.replace(/0+$/, "").replace(/\.$/, "") : unpadded;
}

function validDate(yyyymmdd: string): boolean {
  const d = new Date(`${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10).replace(/-/g, "") === yyyymmdd;
}

function splitCrypto(symbol: string): { coin: string; quote: string } | undefined {
  if (IB_CRYPTO_COINS.includes(symbol)) return { coin: symbol, quote: "" };
  const m = /^([A-Z]+?)[-/.]?(USDT|USDC|USD)$/.exec(symbol);
  if (m === null || !IB_CRYPTO_COINS.includes(m[1]!) || !CRYPTO_QUOTES.includes(m[2]!)) return undefined;
  return { coin: m[1]!, quote: m[2]! };
}

/** A bare text that parses as another class must be written with STK: to mean a stock. */
function looksLikeOtherClass(symbol: string): boolean {
  const parsed = parseSpotMarket(symbol);
  return "error" in parsed || parsed.assetClass !== "stock";
}

/** A CUSIP (9) or ISIN (12) whose check digit is right: a bond. Any other text is not one. */
export function bondIds(text: string): { assetClass: "bond"; cusip?: string; isin?: string } | undefined {
  if (text.length === 9 && isCusip(text)) return { assetClass: "bond", cusip: text };
  if (text.length === 12 && isIsin(text)) return { assetClass: "bond", isin: text, ...(text.startsWith("US") && isCusip(text.slice(2, 11)) ? { cusip: text.slice(2, 11) } : {}) };
  return undefined;
}

function isCusip(text: string): boolean {
  if (!/^[0-9A-Z]{8}\d$/.test(text) || !/\d/.test(text.slice(0, 3))) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    let v = charValue(text[i]!);
    if (i % 2 === 1) v *= 2;
    sum += Math.floor(v / 10) + (v % 10);
  }
  return (10 - (sum % 10)) % 10 === Number(text[8]);
}

function isIsin(text: string): boolean {
  if (!/^[A-Z]{2}[0-9A-Z]{9}\d$/.test(text)) return false;
  const digits = [...text.slice(0, 11)].map((c) => String(charValue(c))).join("");
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let v = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) v *= 2;
    sum += Math.floor(v / 10) + (v % 10);
  }
  return (10 - (sum % 10)) % 10 === Number(text[11]);
}

function charValue(c: string): number {
  return /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 55;
}

/** The month code of a futures month (3 → "H"). */
export function monthCode(month: number): string {
  return MONTH_CODES[month - 1]!;
}

function show(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
