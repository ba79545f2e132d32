import { describe, expect, it } from "vitest";
import { createMarket } from "./market.js";
import { spec, TEST_NOW, testMarket } from "./testSupport.js";

const market = testMarket();

describe("instrument universe", () => {
  it("has the contract details the protocol server serves", () => {
    const aapl = spec(market, "AAPL");
    expect(aapl).toMatchObject({ conId: 265598, secType: "STK", exchange: "SMART", primaryExch: "NASDAQ", currency: "USD", minTick: "0.01", sizeIncrement: "1", session: "us-equity", timeZoneId: "US/Eastern", entitlement: "live", tradesWhatToShow: "TRADES" });
    expect(spec(market, "MSFT")).toMatchObject({ conId: 272093, primaryExch: "NASDAQ" });
    expect(spec(market, "SPY")).toMatchObject({ conId: 756733, primaryExch: "ARCA" });
    expect(spec(market, "BTC.USD")).toMatchObject({ conId: 479624278, secType: "CRYPTO", exchange: "PAXOS", tradingClass: "BTC", minTick: "0.25", sizeIncrement: "0.0001", minSize: "0.0001", session: "crypto-24x7", tradesWhatToShow: "AGGTRADES" });
    expect(spec(market, "ETH.USD")).toMatchObject({ conId: 495759171, minTick: "0.01", sizeIncrement: "0.001", minSize: "0.001" });
    expect(spec(market, "EUR.USD")).toMatchObject({ symbol: "EUR", secType: "CASH", exchange: "IDEALPRO", currency: "USD", minTick: "0.00005", session: "fx-24x5" });
    expect(spec(market, "TSLA")).toMatchObject({ conId: 76792991, entitlement: "delayed-only" });
    expect(spec(market, "SAP")).toMatchObject({ primaryExch: "IBIS", currency: "EUR", entitlement: "none" });
  });

  it("lists the front ES quarterlies (third-Friday expiries) relative to now", () => {
    const es = market.instruments().filter((s) => s.symbol === "ES");
    expect(es.map((s) => s.lastTradeDateOrContractMonth)).toEqual(["20250620", "20250919", "20251219", "20260320"]);
    expect(es.map((s) => s.localSymbol)).toEqual(["ESM5", "ESU5", "ESZ5", "ESH6"]);
    expect(es[0]).toMatchObject({ secType: "FUT", exchange: "CME", multiplier: "50", minTick: "0.25", contractMonth: "202506", session: "cme-globex" });
    const later = createMarket({ seed: 1, now: () => Date.UTC(2025, 5, 21) });
    expect(later.instruments().filter((s) => s.symbol === "ES")[0]!.contractMonth).toBe("202509");
  });

  it("finds contracts by conId, symbol/secType/exchange/currency and expiry; expired only on request", () => {
    expect(market.findContracts({ conId: 265598 }).map((s) => s.symbol)).toEqual(["AAPL"]);
    expect(market.findContracts({ symbol: "aapl", secType: "STK", exchange: "SMART", currency: "USD" })).toHaveLength(1);
    expect(market.findContracts({ symbol: "AAPL", exchange: "NASDAQ" })).toHaveLength(1);
    expect(market.findContracts({ symbol: "AAPL", currency: "EUR" })).toHaveLength(0);
    expect(market.findContracts({ symbol: "ES", secType: "FUT" })).toHaveLength(4);
    expect(market.findContracts({ symbol: "ES", lastTradeDateOrContractMonth: "202509" }).map((s) => s.localSymbol)).toEqual(["ESU5"]);
    expect(market.findContracts({ symbol: "ES", lastTradeDateOrContractMonth: "20250919" })).toHaveLength(1);
    expect(market.findContracts({ symbol: "ES", lastTradeDateOrContractMonth: "202503" })).toHaveLength(0);
    const expired = market.findContracts({ symbol: "ES", lastTradeDateOrContractMonth: "202503", includeExpired: true });
    expect(expired.map((s) => s.lastTradeDateOrContractMonth)).toEqual(["20250321"]);
    expect(market.findContracts({ conId: expired[0]!.conId })).toHaveLength(0);
    expect(market.findContracts({ conId: expired[0]!.conId, includeExpired: true })).toHaveLength(1);
  });

  it("renders 7 days of trading/liquid hours in IB's format and the contract's zone", () => {
    const aapl = spec(market, "AAPL");
    // TEST_NOW is Wed 2025-06-04.
    expect(aapl.tradingHours.split(";")).toEqual([
      "20250604:0400-20250604:2000",
      "20250605:0400-20250605:2000",
      "20250606:0400-20250606:2000",
      "20250607:CLOSED",
      "20250608:CLOSED",
      "20250609:0400-20250609:2000",
      "20250610:0400-20250610:2000",
    ]);
    expect(aapl.liquidHours.split(";")[0]).toBe("20250604:0930-20250604:1600");
    const es = spec(market, "ESU5");
    expect(es.tradingHours.split(";")[0]).toBe("20250603:1700-20250604:1600"); // US/Central
    expect(es.liquidHours.split(";")[0]).toBe("20250604:0830-20250604:1500");
    expect(spec(market, "SAP").liquidHours.split(";")[0]).toBe("20250604:1530-20250604:2200"); // MET
    expect(spec(market, "BTC.USD").tradingHours.split(";")).toHaveLength(7);
    expect(new Date(TEST_NOW).getUTCDay()).toBe(3);
  });

  it("rejects unknown instruments", () => {
    expect(() => market.quote({ ...spec(market, "AAPL"), conId: 1 }, TEST_NOW)).toThrow(/unknown instrument/);
  });
});
