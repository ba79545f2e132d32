import { describe, expect, it } from "vitest";
import { mapSymbol } from "./symbolMapping.js";

describe("Barfinex symbol mapping", () => {
  it("serves BTCUSDT, BTCUSD and BTC as BTC/USD on PAXOS, saying so for USDT", () => {
    for (const s of ["BTCUSDT", "BTCUSD", "BTC", "btc-usdt"]) {
      const m = mapSymbol("spot", s);
      expect(m).toMatchObject({ contract: { symbol: "BTC", secType: "CRYPTO", exchange: "PAXOS", currency: "USD" }, baseAsset: "BTC", quoteAsset: "USD" });
    }
    expect(mapSymbol("spot", "BTCUSDT")).toMatchObject({ note: expect.stringContaining("no USDT pairs") });
  });

  it("maps stocks to SMART/USD and forex pairs to IDEALPRO", () => {
    expect(mapSymbol("spot", "AAPL")).toMatchObject({ contract: { symbol: "AAPL", secType: "STK", exchange: "SMART", currency: "USD" } });
    expect(mapSymbol("spot", "BRK.B")).toMatchObject({ contract: { symbol: "BRK B", secType: "STK" } });
    expect(mapSymbol("spot", "EURUSD")).toMatchObject({ contract: { symbol: "EUR", secType: "CASH", exchange: "IDEALPRO", currency: "USD" } });
    expect(mapSymbol("spot", "EUR.USD")).toMatchObject({ contract: { symbol: "EUR", currency: "USD" } });
  });

  it("maps futures roots to the front month, and accepts an explicit expiry or local symbol", () => {
    expect(mapSymbol("futures", "ES")).toMatchObject({ contract: { symbol: "ES", secType: "FUT", exchange: "CME" }, pickFrontMonth: true });
    expect(mapSymbol("futures", "ES-202612")).toMatchObject({ contract: { lastTradeDateOrContractMonth: "202612" }, pickFrontMonth: false });
    expect(mapSymbol("futures", "ESZ6")).toMatchObject({ contract: { symbol: "ES", localSymbol: "ESZ6" }, pickFrontMonth: false });
    expect(mapSymbol("futures", "ESZ26")).toMatchObject({ contract: { localSymbol: "ESZ6" } });
  });

  it("applies config overrides over the built-in mapping", () => {
    expect(mapSymbol("spot", "SAP", { exchange: "IBIS", currency: "EUR" })).toMatchObject({ contract: { symbol: "SAP", exchange: "IBIS", currency: "EUR" } });
  });

  it("rejects what cannot be a symbol", () => {
    expect(mapSymbol("spot", "not a symbol!")).toHaveProperty("error");
    expect(mapSymbol("futures", "E S")).toHaveProperty("error");
  });
});

describe("symbol mapping of every asset class", () => {
  const dec2026 = Date.UTC(2026, 11, 3);

  it("maps indices to IND on their exchange, an unknown one with the exchange left to IB", () => {
    expect(mapSymbol("spot", "SPX")).toMatchObject({ assetClass: "index", contract: { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } });
    expect(mapSymbol("spot", "NDX")).toMatchObject({ contract: { exchange: "NASDAQ" } });
    expect(mapSymbol("spot", "RUT")).toMatchObject({ contract: { exchange: "RUSSELL" } });
    // Neither exchange nor currency for another market's index: IB answers with its listing (DAX: EUREX, EUR).
    expect(mapSymbol("spot", "IND:DAX")).toMatchObject({ contract: { symbol: "DAX", secType: "IND", exchange: "", currency: "" } });
  });

  it("maps an OCC option to OPT with its underlying, expiry, numeric strike, right and trading class", () => {
    expect(mapSymbol("spot", "AAPL270115C00200000")).toMatchObject({
      assetClass: "option",
      contract: { symbol: "AAPL", secType: "OPT", lastTradeDateOrContractMonth: "20270115", strike: 200, right: "C", tradingClass: "AAPL", exchange: "SMART", currency: "USD" },
    });
    // A weekly class of an index: the underlying is the index, the class stays SPXW.
    expect(mapSymbol("spot", "SPXW261218P05002500")).toMatchObject({ contract: { symbol: "SPX", tradingClass: "SPXW", strike: 5002.5, right: "P" } });
  });

  it("maps an option on a future to FOP in the future's month: a one-digit year is the nearest such month not in the past", () => {
    expect(mapSymbol("futures", "ESH7C5000", undefined, dec2026)).toMatchObject({
      assetClass: "future-option",
      futureMonth: "202703",
      contract: { symbol: "ES", secType: "FOP", exchange: "CME", lastTradeDateOrContractMonth: "202703", strike: 5000, right: "C", tradingClass: "ES", currency: "USD" },
    });
    expect(mapSymbol("futures", "ESZ6P4800", undefined, dec2026)).toMatchObject({ futureMonth: "202612" });
    expect(mapSymbol("futures", "ESH6P4800", undefined, dec2026)).toMatchObject({ futureMonth: "203603" });
    expect(mapSymbol("futures", "CLF7C70", undefined, dec2026)).toMatchObject({ contract: { exchange: "NYMEX", lastTradeDateOrContractMonth: "202701" } });
  });

  it("asks IB for an explicitly named futures month with includeExpired, the front month without", () => {
    expect(mapSymbol("futures", "ESZ5")).toMatchObject({ contract: { includeExpired: true } });
    expect((mapSymbol("futures", "ES") as { contract: object }).contract).not.toHaveProperty("includeExpired");
  });

  it("maps bonds by the id written (ISIN or CUSIP), funds to FUNDSERV", () => {
    expect(mapSymbol("spot", "US912828Z781")).toMatchObject({ assetClass: "bond", contract: { secType: "BOND", secIdType: "ISIN", secId: "US912828Z781", exchange: "SMART", currency: "USD" } });
    expect(mapSymbol("spot", "912828Z78")).toMatchObject({ contract: { secType: "BOND", secIdType: "CUSIP", secId: "912828Z78" } });
    expect(mapSymbol("spot", "VFIAX")).toMatchObject({ assetClass: "fund", contract: { symbol: "VFIAX", secType: "FUND", exchange: "FUNDSERV", currency: "USD" } });
  });

  it("maps a combo to a BAG whose legs are left for the resolver, ratios signed", () => {
    expect(mapSymbol("spot", "COMBO:AAPL270115C00200000,-AAPL270115C00210000")).toMatchObject({
      assetClass: "combo",
      contract: { secType: "BAG", exchange: "SMART", currency: "USD" },
      legs: [
        { symbol: "AAPL270115C00200000", ratio: 1 },
        { symbol: "AAPL270115C00210000", ratio: -1 },
      ],
    });
  });

  it("says which class a symbol of the wrong market belongs to", () => {
    expect(mapSymbol("spot", "ESH7C5000")).toMatchObject({ error: expect.stringContaining("futures market") });
  });
});
