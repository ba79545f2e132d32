/**
 * A market for order tests: the seeded model, except for the instruments a test scripts, whose book (and
 * trades) are what the test sets, and which are always open. Orders then meet a known book at a known
 * instant, and "the market crosses the limit" is one call.
 */
import { createMarket } from "../market/index.js";
import type { DepthLevel, DepthSnapshot, InstrumentSpec, Market, Quote, Trade } from "../market/types.js";

export type Level = readonly [price: string, size: string];

interface Script {
  bids: DepthLevel[];
  asks: DepthLevel[];
  trades: Trade[];
}

export interface ScriptedMarket extends Market {
  /** Sets an instrument's whole book (best first on each side). */
  setBook(symbol: string, book: { bids: readonly Level[]; asks: readonly Level[] }): void;
  /** A trade printed now (stops trigger on trades too). */
  print(symbol: string, price: string, size: string, timeMs: number): void;
  spec(symbol: string): InstrumentSpec;
}

export function createScriptedMarket(seed: number, now: () => number): ScriptedMarket {
  const base = createMarket({ seed, now });
  const scripts = new Map<number, Script>();
  const spec = (symbol: string): InstrumentSpec => {
    const found = base.findContracts({ symbol, secType: symbol === "BTC" || symbol === "ETH" ? "CRYPTO" : "STK" })[0];
    if (!found) throw new Error(`no instrument ${symbol}`);
    return found;
  };
  const levels = (ls: readonly Level[], exchange: string): DepthLevel[] => ls.map(([price, size]) => ({ price, size, marketMaker: exchange }));
  return {
    ...base,
    seed: base.seed,
    instruments: () => base.instruments(),
    findContracts: (q) => base.findContracts(q),
    bars: (i, q) => base.bars(i, q),
    headTimestampSec: (i, w, r) => base.headTimestampSec(i, w, r),
    isOpen: (i, t, rth) => scripts.has(i.conId) || base.isOpen(i, t, rth),
    trades: (i, from, to) => {
      const s = scripts.get(i.conId);
      return s ? s.trades.filter((t) => t.timeMs >= from && t.timeMs < to) : base.trades(i, from, to);
    },
    quote: (i, t): Quote => {
      const s = scripts.get(i.conId);
      if (!s) return base.quote(i, t);
      const bid = s.bids[0];
      const ask = s.asks[0];
      return { timeMs: t, bid: bid?.price ?? "0", ask: ask?.price ?? "0", bidSize: bid?.size ?? "0", askSize: ask?.size ?? "0" };
    },
    depth: (i, t, rows): DepthSnapshot => {
      const s = scripts.get(i.conId);
      if (!s) return base.depth(i, t, rows);
      return { timeMs: t, bids: s.bids.slice(0, rows), asks: s.asks.slice(0, rows) };
    },
    setBook(symbol, book) {
      const inst = spec(symbol);
      const s = scripts.get(inst.conId) ?? { bids: [], asks: [], trades: [] };
      s.bids = levels(book.bids, inst.primaryExch || inst.exchange);
      s.asks = levels(book.asks, inst.primaryExch || inst.exchange);
      scripts.set(inst.conId, s);
    },
    print(symbol, price, size, timeMs) {
      const inst = spec(symbol);
      const s = scripts.get(inst.conId) ?? { bids: [], asks: [], trades: [] };
      s.trades.push({ timeMs, price, size, exchange: inst.primaryExch || inst.exchange });
      scripts.set(inst.conId, s);
    },
    spec,
  };
}
