import { describe, expect, it } from "vitest";
import { createMarket } from "./index.js";
import { OPTION_CLASSES, optionByConId, strikesOf } from "./optionChains.js";
import { RISK_FREE_RATE } from "./optionPricing.js";
import { BOND_CUSIP, BOND_ISIN, cusipCheckDigit, isinCheckDigit } from "./otherInstruments.js";

/** Wed 2026-11-18 10:00 New York. */
const NOW = Date.UTC(2026, 10, 18, 15, 0, 0);
const market = createMarket({ seed: 7, now: () => NOW });

describe("multi-asset universe", () => {
  it("lists weekly and monthly expiries, holiday-shifted, with the documented strike grids", () => {
    const spy = market.findContracts({ symbol: "SPY", secType: "OPT", right: "C" });
    const expiries = [...new Set(spy.map((s) => s.lastTradeDateOrContractMonth))];
    // Next 4 Fridays (11-20, 11-27, 12-04, 12-11) + third Fridays (11-20, 12-18, 2027-01-15), deduped.
    expect(expiries).toEqual(["20261120", "20261127", "20261204", "20261211", "20261218", "20270115"]);
    for (const e of expiries) expect(spy.filter((s) => s.lastTradeDateOrContractMonth === e).length).toBeGreaterThanOrEqual(80);
    expect(strikesOf(OPTION_CLASSES[0]!)).toEqual(Array.from({ length: 33 }, (_, i) => 150 + 5 * i));
    // Good Friday 2027-03-26 (Easter 03-28), an NYSE holiday: that weekly expires on Thursday 03-25.
    const m = createMarket({ seed: 7, now: () => Date.UTC(2027, 2, 22, 15) });
    const aapl = [...new Set(m.findContracts({ symbol: "AAPL", secType: "OPT", strike: "200", right: "P" }).map((s) => s.lastTradeDateOrContractMonth))];
    expect(aapl).toContain("20270325");
    expect(aapl).not.toContain("20270326");
  });

  it("lists strikes around the underlying's price of the day (and the base grid), for any seed and date", () => {
    const underlyings = [
      { symbol: "AAPL", secType: "STK", conId: 265598 },
      { symbol: "SPY", secType: "STK", conId: 756733 },
      { symbol: "SPX", secType: "IND", conId: 416904 },
    ];
    for (const seed of [1, 7, 42])
      for (const day of [Date.UTC(2026, 10, 18, 15), Date.UTC(2027, 5, 9, 15), Date.UTC(2028, 1, 16, 15), Date.UTC(2025, 2, 12, 15)]) {
        const m = createMarket({ seed, now: () => day });
        const futs = m.findContracts({ symbol: "ES", secType: "FUT" });
        const cases = [...underlyings, ...futs.map((f) => ({ symbol: "ES", secType: "FUT", conId: f.conId }))];
        for (const u of cases) {
          const [spec] = m.findContracts({ conId: u.conId });
          const px = m.modelPrice!(spec!, day);
          for (const row of m.optionChains!(u.symbol, u.secType, u.conId, "")) {
            const what = `seed ${seed} ${new Date(day).toISOString()} ${row.tradingClass} ${u.conId} at ${px}`;
            const strikes = row.strikes.map(Number);
            expect(strikes.filter((k) => k < px).length, what).toBeGreaterThanOrEqual(5);
            expect(strikes.filter((k) => k > px).length, what).toBeGreaterThanOrEqual(5);
            const cls = OPTION_CLASSES.find((c) => c.tradingClass === row.tradingClass)!;
            for (const k of strikesOf(cls)) expect(strikes, what).toContain(k);
          }
        }
      }
  });

  it("answers a full option query with exactly one contract whose conId decodes back to it", () => {
    const [c, ...rest] = market.findContracts({ symbol: "AAPL", secType: "OPT", exchange: "CBOE", lastTradeDateOrContractMonth: "20261218", strike: "200", right: "C" });
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ localSymbol: "AAPL  261218C00200000", multiplier: "100", tradingClass: "AAPL", underConId: 265598, underSecType: "STK", strike: "200", right: "C" });
    expect(optionByConId(c!.conId, NOW)).toMatchObject({ strike: 200, right: "C" });
    expect(c!.exchange).toBe("CBOE");
    expect(market.findContracts({ conId: c!.conId })).toEqual([{ ...c, exchange: "SMART" }]);
    expect(market.findContracts({ localSymbol: "AAPL  261218C00200000", secType: "OPT" })).toEqual([{ ...c, exchange: "SMART" }]);
    expect(market.findContracts({ symbol: "AAPL", secType: "OPT", lastTradeDateOrContractMonth: "20261218", strike: "202.5", right: "C" })).toEqual([]);
  });

  it("lists SPX (monthly) and SPXW (weekly) classes and ES futures options on each quarterly", () => {
    const spx = market.findContracts({ symbol: "SPX", secType: "OPT", tradingClass: "SPX", right: "C", strike: "6000" });
    expect(spx.map((s) => s.lastTradeDateOrContractMonth)).toEqual(["20261120", "20261218", "20270115"]);
    const spxw = market.findContracts({ symbol: "SPX", secType: "OPT", tradingClass: "SPXW", right: "C", strike: "6000" });
    expect(spxw.length).toBe(4);
    const futs = market.findContracts({ symbol: "ES", secType: "FUT" });
    expect(futs.length).toBeGreaterThanOrEqual(4);
    const fop = market.findContracts({ symbol: "ES", secType: "FOP", strike: "6000", right: "P" });
    expect(fop.map((s) => s.underConId)).toEqual(futs.map((f) => f.conId));
    expect(fop.map((s) => s.lastTradeDateOrContractMonth)).toEqual(futs.map((f) => f.lastTradeDateOrContractMonth));
    expect(fop[0]).toMatchObject({ exchange: "CME", multiplier: "50", tradingClass: "ES", underSecType: "FUT" });
  });

  it("prices options from the underlying: parity of mids within a tick, greeks in range", () => {
    const t = NOW + 5_000;
    const [c] = market.findContracts({ symbol: "SPY", secType: "OPT", lastTradeDateOrContractMonth: "20261218", strike: "580", right: "C" });
    const [p] = market.findContracts({ symbol: "SPY", secType: "OPT", lastTradeDateOrContractMonth: "20261218", strike: "580", right: "P" });
    const mid = (s: typeof c) => {
      const q = market.quote(s!, t);
      return (Number(q.bid) + Number(q.ask)) / 2;
    };
    const cc = market.optionComputation!(c!, t)!;
    const pc = market.optionComputation!(p!, t)!;
    const T = (Date.UTC(2026, 11, 18, 21) - t) / (365 * 86400000);
    expect(Math.abs(mid(c) - mid(p) - (cc.undPrice - 580 * Math.exp(-RISK_FREE_RATE * T)))).toBeLessThanOrEqual(0.01 + 1e-9);
    expect(cc.delta!).toBeGreaterThan(0);
    expect(cc.delta!).toBeLessThan(1);
    expect(pc.delta!).toBeGreaterThan(-1);
    expect(pc.delta!).toBeLessThan(0);
    expect(cc.undPrice).toBe(pc.undPrice);
    expect(createMarket({ seed: 7, now: () => NOW }).quote(c!, t)).toEqual(market.quote(c!, t));
  });

  it("has a Treasury note with valid CUSIP/ISIN check digits, found by either id", () => {
    expect(cusipCheckDigit("91282CJL")).toBe("6"); // a real note: 91282CJL6 / US91282CJL63
    expect(isinCheckDigit("US91282CJL6")).toBe("3");
    expect(BOND_CUSIP).toBe("91282CLW9");
    expect(BOND_ISIN).toBe("US91282CLW90");
    for (const [secIdType, secId] of [["CUSIP", BOND_CUSIP], ["ISIN", BOND_ISIN]] as const) {
      expect(market.findContracts({ secIdType, secId }).map((s) => s.symbol)).toEqual([BOND_CUSIP]);
    }
    expect(market.trades(market.findContracts({ secType: "BOND", symbol: BOND_CUSIP })[0]!, NOW - 3_600_000, NOW)).toEqual([]);
  });

  it("gives indices volume-free bars and the fund one price a day", () => {
    const [spx] = market.findContracts({ symbol: "SPX", secType: "IND" });
    const bars = market.bars(spx!, { barSize: 60, fromSec: NOW / 1000 - 600, toSec: NOW / 1000, useRTH: true, whatToShow: "TRADES" });
    expect(bars.length).toBeGreaterThan(0);
    for (const b of bars) expect(b.volume).toBe("0");
    const [fund] = market.findContracts({ symbol: "VFIAX" });
    expect(fund).toMatchObject({ secType: "FUND", exchange: "FUNDSERV" });
    const days = market.bars(fund!, { barSize: 86400, fromSec: NOW / 1000 - 10 * 86400, toSec: NOW / 1000, useRTH: true, whatToShow: "TRADES" });
    expect(days.length).toBeGreaterThan(4);
    for (const b of days) expect([b.open, b.high, b.low]).toEqual([b.close, b.close, b.close]);
    expect(market.bars(fund!, { barSize: 3600, fromSec: NOW / 1000 - 86400, toSec: NOW / 1000, useRTH: true, whatToShow: "TRADES" })).toEqual([]);
  });
});
