import type { GetOptionChainQuotesRequest } from "../../../gen/ibprovider/v1/market_data_service.js";
import { OptionRight } from "../../../gen/ibprovider/v1/types.js";
import { parseInstrumentSymbol, type InstrumentSpec, type OptionRight as Right } from "../../domain/instrumentSymbol.js";
import type { MarketType } from "../../domain/marketType.js";
import { echo, invalidArgument } from "../apiError.js";
import { checkConnector, checkMarketType, checkSymbol } from "./instrumentFields.js";

/** Checks of discovery and chain-snapshot requests; each fault names its field. */

export const MAX_SEARCH_CHARS = 64;
export const MAX_QUOTED_EXPIRATIONS = 8;
export const MAX_STRIKES_AROUND = 200;
export const DEFAULT_STRIKES_AROUND = 10;
/** Options one snapshot may quote: a whole chain at 100 lines is minutes of IB's time. */
export const MAX_QUOTED_OPTIONS = 400;

export function checkSearchQuery(query: string): string {
  const text = query.trim();
  if (text.length === 0 || text.length > MAX_SEARCH_CHARS) throw invalidArgument("query", `1 to ${MAX_SEARCH_CHARS} characters: a ticker prefix or part of a name (got ${echo(query)})`, "INVALID_QUERY");
  // The query goes to IB as it is, in a protocol whose fields end with NUL: a control character (a %00 in a
  // REST query) would split reqMatchingSymbols into fields IB misreads.
  if (/\p{Cc}/u.test(text)) throw invalidArgument("query", `a ticker prefix or part of a name, without control characters (got ${echo(query)})`, "INVALID_QUERY");
  return text;
}

/** A bare futures root in the symbol syntax (ES, 6E): a month (ESH7) or an option on one is not a root. */
export function checkFuturesRoot(root: string): string {
  const parsed = parseInstrumentSymbol("futures", root);
  if ("error" in parsed || parsed.spec.assetClass !== "future" || parsed.spec.expiry !== undefined || parsed.spec.localSymbol !== undefined) {
    throw invalidArgument("root", `a futures root such as ES or CL, without a month (got ${echo(root)})`, "INVALID_SYMBOL");
  }
  return parsed.spec.root;
}

/** The underlying of a chain: a stock/ETF or index in spot, a future in futures. */
export function checkUnderlying(request: { connectorType: string; marketType: string; underlying: string }): { marketType: MarketType; symbol: string; spec: InstrumentSpec } {
  checkConnector(request.connectorType);
  const marketType = checkMarketType(request.marketType);
  const checked = checkSymbol(marketType, request.underlying, "underlying");
  const cls = checked.spec.assetClass;
  if (cls !== "stock" && cls !== "index" && cls !== "future") {
    throw invalidArgument("underlying", `options are listed on stocks, ETFs, indices and futures; ${echo(request.underlying)} is a ${cls}`, "INVALID_UNDERLYING");
  }
  return { marketType, ...checked };
}

/** The name an option's symbol gives its underlying: the stock's or index's symbol, the future's month (ESH7) or root (ES). */
function underlyingName(spec: InstrumentSpec): string {
  return spec.assetClass === "future" ? (spec.localSymbol ?? spec.root) : spec.assetClass === "stock" || spec.assetClass === "index" ? spec.symbol : "";
}

/** Which options of a chain a snapshot quotes: explicit symbols, or expiries × a strike selection × rights. */
export type ChainSelection =
  | { kind: "symbols"; symbols: string[] }
  | { kind: "chain"; expirations: string[]; tradingClass: string; strikes: { around: number } | { min: number; max: number }; rights: Right[] };

export function checkChainQuotes(request: GetOptionChainQuotesRequest): { marketType: MarketType; underlying: string; spec: InstrumentSpec; selection: ChainSelection; maxLines: number | undefined } {
  const { marketType, symbol, spec } = checkUnderlying(request);
  const maxLines = request.maxLines === 0 ? undefined : request.maxLines;
  if (request.symbols.length > 0) {
    if (request.expirations.length > 0) throw invalidArgument("symbols", "name options by symbols or by expirations and strikes, not both", "INVALID_SELECTION");
    if (request.symbols.length > MAX_QUOTED_OPTIONS) throw invalidArgument("symbols", `at most ${MAX_QUOTED_OPTIONS} options per snapshot (got ${request.symbols.length})`, "TOO_MANY_OPTIONS");
    const symbols = request.symbols.map((s, i) => {
      const option = checkSymbol(marketType, s, `symbols[${i}]`);
      if (option.spec.assetClass !== "option" && option.spec.assetClass !== "future-option") throw invalidArgument(`symbols[${i}]`, `${echo(s)} is not an option`, "INVALID_SYMBOL");
      // The answer's underlying_price is the underlying's: an option of another one would be priced against it.
      const on = option.spec.assetClass === "option" ? option.spec.underlying : spec.assetClass === "future" && spec.localSymbol !== undefined ? option.spec.futureLocalSymbol : option.spec.root;
      if (on !== underlyingName(spec)) throw invalidArgument(`symbols[${i}]`, `${echo(s)} is an option on ${on}, not on ${echo(request.underlying)}`, "INVALID_SELECTION");
      return option.symbol;
    });
    return { marketType, underlying: symbol, spec, selection: { kind: "symbols", symbols: [...new Set(symbols)] }, maxLines };
  }
  if (request.expirations.length === 0 || request.expirations.length > MAX_QUOTED_EXPIRATIONS) {
    throw invalidArgument("expirations", `1 to ${MAX_QUOTED_EXPIRATIONS} expiries YYYYMMDD (from GetOptionChain), or symbols`, "INVALID_SELECTION");
  }
  request.expirations.forEach((e, i) => {
    if (!/^\d{8}$/.test(e)) throw invalidArgument(`expirations[${i}]`, `expected YYYYMMDD (got ${echo(e)})`, "INVALID_EXPIRY");
  });
  const rights: Right[] = request.right === OptionRight.OPTION_RIGHT_CALL ? ["call"] : request.right === OptionRight.OPTION_RIGHT_PUT ? ["put"] : ["call", "put"];
  return { marketType, underlying: symbol, spec, selection: { kind: "chain", expirations: [...new Set(request.expirations)], tradingClass: request.tradingClass.toUpperCase(), strikes: strikeSelection(request), rights }, maxLines };
}

function strikeSelection(request: GetOptionChainQuotesRequest): { around: number } | { min: number; max: number } {
  if (request.strikeMin === "" && request.strikeMax === "") {
    const around = request.strikesAround === 0 ? DEFAULT_STRIKES_AROUND : request.strikesAround;
    if (around > MAX_STRIKES_AROUND) throw invalidArgument("strikes_around", `at most ${MAX_STRIKES_AROUND} (got ${around})`, "INVALID_SELECTION");
    return { around };
  }
  const bound = (text: string, field: string) => {
    if (!/^\d{1,7}(\.\d{1,4})?$/.test(text)) throw invalidArgument(field, `a strike such as 200 or 102.5, with the other bound (got ${echo(text)})`, "INVALID_STRIKE");
    return Number(text);
  };
  const min = bound(request.strikeMin, "strike_min");
  const max = bound(request.strikeMax, "strike_max");
  if (min > max) throw invalidArgument("strike_max", `below strike_min (${request.strikeMin} > ${request.strikeMax})`, "INVALID_STRIKE");
  return { min, max };
}
