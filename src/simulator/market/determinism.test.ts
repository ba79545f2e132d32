import { describe, expect, it } from "vitest";
import { spec, testMarket } from "./testSupport.js";

const T = Date.UTC(2025, 2, 12, 15, 0); // Wed 11:00 ET

describe("a market is a pure function of its seed", () => {
  it("gives identical trades, quotes, depth and bars for the same seed", () => {
    const a = testMarket(11);
    const b = testMarket(11);
    for (const sym of ["AAPL", "BTC.USD", "EUR.USD", "ESM5"]) {
      const s = spec(a, sym);
      expect(a.trades(s, T, T + 120_000)).toEqual(b.trades(s, T, T + 120_000));
      expect(a.quote(s, T + 1234)).toEqual(b.quote(s, T + 1234));
      expect(a.depth(s, T + 1234, 10)).toEqual(b.depth(s, T + 1234, 10));
      const q = { barSize: 300, fromSec: T / 1000 - 86400, toSec: T / 1000, useRTH: false, whatToShow: "TRADES" } as const;
      expect(a.bars(s, q)).toEqual(b.bars(s, q));
    }
  });

  it("does not depend on call order or on what was computed before", () => {
    const a = testMarket(11);
    const b = testMarket(11);
    const s = spec(a, "AAPL");
    a.bars(s, { barSize: 86400, fromSec: T / 1000 - 30 * 86400, toSec: T / 1000, useRTH: true, whatToShow: "TRADES" });
    a.quote(s, T - 5_000_000);
    expect(a.trades(s, T, T + 60_000)).toEqual(b.trades(s, T, T + 60_000));
    expect(a.quote(s, T + 500)).toEqual(b.quote(s, T + 500));
  });

  it("differs for a different seed", () => {
    const a = testMarket(11);
    const b = testMarket(12);
    const s = spec(a, "AAPL");
    expect(a.trades(s, T, T + 60_000)).not.toEqual(b.trades(s, T, T + 60_000));
    const q = { barSize: 3600, fromSec: T / 1000 - 86400, toSec: T / 1000, useRTH: false, whatToShow: "TRADES" } as const;
    expect(a.bars(s, q).map((x) => x.close)).not.toEqual(b.bars(s, q).map((x) => x.close));
  });

  it("scales the trade rate with tradeRateScale without changing the price path", () => {
    const busy = testMarket(11, 1);
    const calm = testMarket(11, 0.1);
    const s = spec(busy, "BTC.USD");
    const q = { barSize: 60, fromSec: T / 1000, toSec: T / 1000 + 600, useRTH: false, whatToShow: "AGGTRADES" } as const;
    const b1 = busy.bars(s, q);
    const b2 = calm.bars(s, q);
    expect(b2.map((x) => [x.open, x.close])).toEqual(b1.map((x) => [x.open, x.close]));
    const count = (bars: typeof b1): number => bars.reduce((n, x) => n + x.count, 0);
    expect(count(b2)).toBeLessThan(count(b1) / 3);
  });
});
