import type { GetOptionChainQuotesRequest, GetOptionChainQuotesResponse, OptionQuote } from "../../../gen/ibprovider/v1/market_data_service.js";
import { OptionRight } from "../../../gen/ibprovider/v1/types.js";
import { toWire, type Decimal } from "../../domain/decimal.js";
import { formatInstrumentSymbol, type InstrumentSpec } from "../../domain/instrumentSymbol.js";
import type { Level1 } from "../../domain/marketData.js";
import type { MarketType } from "../../domain/marketType.js";
import { echo, invalidArgument, notFound } from "../apiError.js";
import type { CallContext } from "../callContext.js";
import { tickToProto } from "../mapping/marketData.js";
import { checkChainQuotes, MAX_QUOTED_OPTIONS, type ChainSelection } from "../requests/optionChainFields.js";
import type { OptionChain } from "../../ib/ibAdapter.js";
import type { QuoteSource } from "./discoverySource.js";

/**
 * GetOptionChainQuotes: turns a chain selection into option symbols (the strikes nearest the underlying's price,
 * or within bounds, for each expiry and right), then quotes them through the adapter's bounded-line snapshot.
 */
export async function quoteOptionChain(source: QuoteSource, request: GetOptionChainQuotesRequest, ctx: CallContext): Promise<GetOptionChainQuotesResponse> {
  const { marketType, underlying, selection, maxLines } = checkChainQuotes(request);
  const options = { signal: ctx.signal, client: ctx.client, ...(maxLines === undefined ? {} : { maxLines }) };
  // The underlying's price: needed to centre strikes, and useful beside the quotes (one line, briefly).
  const underlyingQuote = (await source.optionQuotes(marketType, [underlying], { ...options, maxLines: 1 })).quotes[0]?.level1;
  const underlyingPrice = priceOf(underlyingQuote);
  const symbols = selection.kind === "symbols" ? selection.symbols : chainSymbols(await source.optionChain(marketType, underlying), marketType, selection, underlyingPrice, request);
  const set = await source.optionQuotes(marketType, symbols, options);
  const quotes: OptionQuote[] = set.quotes.map(({ symbol, instrument, level1 }) => ({
    symbol,
    expiry: instrument.expiry,
    strike: instrument.strike,
    right: instrument.right === "call" ? OptionRight.OPTION_RIGHT_CALL : instrument.right === "put" ? OptionRight.OPTION_RIGHT_PUT : OptionRight.OPTION_RIGHT_UNSPECIFIED,
    tick: tickToProto(level1, symbol),
  }));
  quotes.sort((a, b) => a.expiry.localeCompare(b.expiry) || Number(a.strike) - Number(b.strike) || a.right - b.right);
  return { underlyingPrice: toWire(underlyingPrice), quotes, missing: set.missing, maxLinesOpen: Math.max(set.maxLinesOpen, underlyingQuote === undefined ? 0 : 1) };
}

/** Mid when both sides are quoted, else the last price; undefined when IB sent neither. */
function priceOf(l1: Level1 | undefined): Decimal | undefined {
  if (l1 === undefined) return undefined;
  if (l1.bid !== undefined && l1.ask !== undefined) return l1.bid.plus(l1.ask).div(2);
  return l1.last;
}

function chainSymbols(chain: OptionChain, marketType: MarketType, selection: Extract<ChainSelection, { kind: "chain" }>, price: Decimal | undefined, request: GetOptionChainQuotesRequest): string[] {
  const own = chain.underlying.secType === "FUT" ? chain.underlying.requestContract.symbol ?? "" : chain.underlying.symbol;
  const classes = [...new Set(chain.rows.map((r) => r.tradingClass))];
  const tradingClass = selection.tradingClass !== "" ? selection.tradingClass : classes.includes(own) ? own : classes.length === 1 ? classes[0]! : undefined;
  if (tradingClass === undefined && marketType !== "futures") throw invalidArgument("trading_class", `${echo(request.underlying)} has several trading classes (${classes.join(", ")}): choose one`, "INVALID_SELECTION");
  // An option on a future is named by the future and the strike only (ESH7C5000): it is always the root's class
  // (symbolMapping), so another class's expiries (ES weeklies EW1…, CL's LO) would be quoted as the root's options.
  if (marketType === "futures" && tradingClass !== own) {
    throw invalidArgument("trading_class", `options on futures are served for the root's class ${own} only (listed for ${echo(request.underlying)}: ${classes.join(", ")})`, "INVALID_SELECTION");
  }
  if (tradingClass === undefined) throw invalidArgument("trading_class", `${echo(request.underlying)} has several trading classes (${classes.join(", ")}): choose one`, "INVALID_SELECTION");
  const rows = chain.rows.filter((r) => r.tradingClass === tradingClass);
  if (rows.length === 0) throw notFound(`no trading class ${echo(tradingClass)} for ${echo(request.underlying)} (listed: ${classes.join(", ")})`, "NOT_LISTED");
  const row = rows.find((r) => r.exchange === "SMART") ?? rows[0]!;
  selection.expirations.forEach((e, i) => {
    if (!row.expirations.includes(e)) throw invalidArgument(`expirations[${i}]`, `${e} is not listed for ${tradingClass} (listed: ${row.expirations.slice(0, 8).join(", ")}${row.expirations.length > 8 ? ", …" : ""})`, "EXPIRY_NOT_LISTED");
  });
  const strikes = chooseStrikes(row.strikes, selection.strikes, price);
  const count = strikes.length * selection.expirations.length * selection.rights.length;
  if (count > MAX_QUOTED_OPTIONS) throw invalidArgument("around" in selection.strikes ? "strikes_around" : "strike_max", `the selection is ${count} options; at most ${MAX_QUOTED_OPTIONS} per snapshot`, "TOO_MANY_OPTIONS");
  const out: string[] = [];
  for (const expiry of selection.expirations) {
    for (const strike of strikes) {
      for (const right of selection.rights) {
        const spec: InstrumentSpec =
          marketType === "futures"
            ? { assetClass: "future-option", root: own, futureLocalSymbol: chain.underlying.localSymbol, right, strike }
            : { assetClass: "option", underlying: chain.underlying.symbol, tradingClass, expiry, right, strike };
        out.push(formatInstrumentSymbol(spec));
      }
    }
  }
  return [...new Set(out)];
}

function chooseStrikes(listed: string[], by: { around: number } | { min: number; max: number }, price: Decimal | undefined): string[] {
  if ("min" in by) return listed.filter((k) => Number(k) >= by.min && Number(k) <= by.max);
  if (price === undefined) throw invalidArgument("strikes_around", "the underlying has no price from IB right now to centre strikes on: give strike_min and strike_max", "NO_UNDERLYING_PRICE");
  const p = price.toNumber();
  return [...listed]
    .sort((a, b) => Math.abs(Number(a) - p) - Math.abs(Number(b) - p))
    .slice(0, by.around)
    .sort((a, b) => Number(a) - Number(b));
}
