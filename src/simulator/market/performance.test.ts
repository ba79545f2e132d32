import { describe, expect, it } from "vitest";
import { spec, testMarket } from "./testSupport.js";

const END = Date.UTC(2025, 5, 1) / 1000;

function timed<T>(f: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = f();
  return { value, ms: performance.now() - t };
}

describe("long windows stay fast (loose bounds)", () => {
  const market = testMarket(9);
  const btc = spec(market, "BTC.USD");

  it("7 days of hourly BTC bars", () => {
    const r = timed(() => market.bars(btc, { barSize: 3600, fromSec: END - 7 * 86400, toSec: END, useRTH: false, whatToShow: "AGGTRADES" }));
    expect(r.value).toHaveLength(168);
    expect(r.ms).toBeLessThan(2000);
  });

  it("1 year of daily BTC bars", () => {
    const r = timed(() => market.bars(btc, { barSize: 86400, fromSec: END - 365 * 86400, toSec: END, useRTH: false, whatToShow: "AGGTRADES" }));
    expect(r.value).toHaveLength(365);
    expect(r.ms).toBeLessThan(3000);
  });

  it("a day of 5-second AAPL bars", () => {
    const aapl = spec(market, "AAPL");
    const from = Date.UTC(2025, 4, 14, 8) / 1000;
    const r = timed(() => market.bars(aapl, { barSize: 5, fromSec: from, toSec: from + 86400, useRTH: false, whatToShow: "TRADES" }));
    expect(r.value).toHaveLength(16 * 720);
    expect(r.ms).toBeLessThan(2000);
  });
});
