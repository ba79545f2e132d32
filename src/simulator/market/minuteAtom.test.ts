import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { aggregateTrades, isMultiple, norm, rng, spec, testMarket } from "./testSupport.js";

const market = testMarket(3);
const SYMBOLS = ["AAPL", "MSFT", "SPY", "TSLA", "BTC.USD", "ETH.USD", "EUR.USD", "ESU5"];
const random = rng(99);

/** Random trading minutes of the last two years (rejection-sampled with isOpen). */
function tradingMinutes(localSymbol: string, n: number): number[] {
  const s = spec(market, localSymbol);
  const out: number[] = [];
  const end = Date.UTC(2025, 5, 1);
  while (out.length < n) {
    const m = Math.floor((end - random() * 2 * 365 * 86_400_000) / 60_000);
    if (market.isOpen(s, m * 60_000, false)) out.push(m);
  }
  return out;
}

describe("the 1-minute bar is the aggregate of the minute's trades", () => {
  it.each(SYMBOLS)("holds exactly for random minutes of %s", (sym) => {
    const s = spec(market, sym);
    for (const m of tradingMinutes(sym, 25)) {
      const trades = market.trades(s, m * 60_000, (m + 1) * 60_000);
      expect(trades.length).toBeGreaterThanOrEqual(2);
      const [bar] = market.bars(s, { barSize: 60, fromSec: m * 60, toSec: m * 60 + 60, useRTH: false, whatToShow: s.tradesWhatToShow });
      expect(bar).toBeDefined();
      expect(norm(bar!)).toEqual(norm(aggregateTrades(m * 60, trades, s.minTick)));
    }
  });

  it.each(SYMBOLS)("chains consecutive minutes of %s (close of m = open of m+1)", (sym) => {
    const s = spec(market, sym);
    const [m] = tradingMinutes(sym, 1);
    const bars = market.bars(s, { barSize: 60, fromSec: m! * 60, toSec: m! * 60 + 3600, useRTH: false, whatToShow: s.tradesWhatToShow });
    for (let i = 1; i < bars.length; i++) {
      if (bars[i]!.startSec === bars[i - 1]!.startSec + 60) expect(bars[i]!.open).toBe(bars[i - 1]!.close);
    }
  });

  it.each(SYMBOLS)("keeps trades of %s on minTick / sizeIncrement, in time order inside their minute", (sym) => {
    const s = spec(market, sym);
    for (const m of tradingMinutes(sym, 5)) {
      const trades = market.trades(s, m * 60_000, (m + 1) * 60_000);
      let prev = -Infinity;
      for (const t of trades) {
        expect(isMultiple(t.price, s.minTick)).toBe(true);
        expect(isMultiple(t.size, s.sizeIncrement)).toBe(true);
        expect(new Decimal(t.size).gte(s.minSize)).toBe(true);
        expect(t.timeMs).toBeGreaterThanOrEqual(prev);
        expect(Math.floor(t.timeMs / 60_000)).toBe(m);
        prev = t.timeMs;
      }
    }
  });

  it("returns trades inside the window only, for partial-minute windows too", () => {
    const s = spec(market, "AAPL");
    const t0 = Date.UTC(2025, 4, 14, 15, 0, 17, 250);
    const trades = market.trades(s, t0, t0 + 2_500);
    expect(trades.length).toBeGreaterThan(0);
    for (const t of trades) expect(t.timeMs >= t0 && t.timeMs < t0 + 2_500).toBe(true);
    const wide = market.trades(s, t0 - 60_000, t0 + 60_000);
    expect(wide.filter((t) => t.timeMs >= t0 && t.timeMs < t0 + 2_500)).toEqual(trades);
  });

  it("trades at realistic rates: AAPL ~5/s in RTH and far fewer outside, BTC 1–3/s", () => {
    const aapl = spec(market, "AAPL");
    const rth = Date.UTC(2025, 4, 14, 15, 0);
    const pre = Date.UTC(2025, 4, 14, 10, 0); // 06:00 ET
    const perSec = (s: typeof aapl, t: number): number => market.trades(s, t, t + 600_000).length / 600;
    expect(perSec(aapl, rth)).toBeGreaterThan(3);
    expect(perSec(aapl, rth)).toBeLessThan(8);
    expect(perSec(aapl, pre)).toBeLessThan(1);
    const btc = perSec(spec(market, "BTC.USD"), rth);
    expect(btc).toBeGreaterThan(1);
    expect(btc).toBeLessThan(3.5);
  });
});
