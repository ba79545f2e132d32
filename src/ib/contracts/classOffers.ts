import { parseInstrumentSymbol, type AssetClass } from "../../domain/instrumentSymbol.js";
import type { MarketType } from "../../domain/marketType.js";
import { IbError } from "../ibErrors.js";

/** Data IB does not send for every class: tick-by-tick trade prints and market depth. */
export type ClassData = "trades" | "liveTrades" | "depth";

/** What IB does not send, per class, and what to use instead (the message of a "not-offered-for-class" error). */
const NOT_OFFERED: Readonly<Record<ClassData, Partial<Record<AssetClass, string>>>> = {
  trades: {
    index: "IB sends no trade prints for an index: stream its ticks (last) or candles",
    fund: "IB sends no trade prints for a fund (it has one price a day, its NAV): stream its ticks (last, close) or daily candles",
    bond: "IB sends no trade prints for a bond: stream its ticks (bid and ask, in percent of par) or candles (midpoint)",
    combo: "IB sends no trade prints for a combo: stream its ticks, or the trades of each leg",
  },
  // IB: "tick-by-tick data for options is currently only available historically and not in real time".
  liveTrades: {
    option: "IB streams no tick-by-tick trade prints for options (only historical ones: GetTrades): stream its ticks (last, with greeks) or candles",
    "future-option": "IB streams no tick-by-tick trade prints for options on futures (only historical ones: GetTrades): stream its ticks or candles",
  },
  depth: {
    index: "IB sends no order book for an index (it has no bid or ask): stream its ticks (last) or candles",
    fund: "IB sends no order book for a fund (it has one price a day, its NAV): stream its ticks (last, close)",
    combo: "IB sends no order book for a combo: stream its ticks, or the order book of each leg",
  },
};

/**
 * Refuses, from the symbol's syntax alone (before any IB request, resolving included), data IB never sends
 * for the symbol's class. A symbol that does not parse passes: resolving it says what is wrong.
 */
export function requireOfferedForSymbol(marketType: MarketType, symbol: string, data: ClassData): void {
  const parsed = parseInstrumentSymbol(marketType, symbol);
  if (!("error" in parsed)) requireOffered(parsed.spec.assetClass, data, parsed.text);
}

export function requireOffered(assetClass: AssetClass, data: ClassData, symbol: string): void {
  const message = NOT_OFFERED[data][assetClass];
  if (message !== undefined) throw new IbError("invalid", `${symbol}: ${message}`, undefined, "not-offered-for-class");
}
