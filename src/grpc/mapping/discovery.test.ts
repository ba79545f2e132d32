import { describe, expect, it } from "vitest";
import type { SymbolMatch as SymbolCandidate } from "../../ib/ibAdapter.js";
import { symbolMatchToProto } from "./discovery.js";

const candidate = (over: Partial<SymbolCandidate>): SymbolCandidate => ({ conId: 1, symbol: "", secType: "STK", assetClass: "stock", primaryExchange: "", currency: "USD", derivativeSecTypes: [], description: "", ...over });
const ours = (over: Partial<SymbolCandidate>) => {
  const m = symbolMatchToProto(candidate(over));
  return [m.symbol, m.marketType];
};

describe("the symbol a search match offers", () => {
  it("is the text that names that very instrument here", () => {
    expect(ours({ symbol: "AAPL" })).toEqual(["AAPL", "spot"]);
    expect(ours({ symbol: "BRK B" })).toEqual(["BRK.B", "spot"]);
    expect(ours({ symbol: "SPX", secType: "IND", assetClass: "index" })).toEqual(["SPX", "spot"]);
    expect(ours({ symbol: "DAX", secType: "IND", assetClass: "index", currency: "EUR" })).toEqual(["IND:DAX", "spot"]);
    expect(ours({ symbol: "EUR", secType: "CASH", assetClass: "forex" })).toEqual(["EURUSD", "spot"]);
    expect(ours({ symbol: "BTC", secType: "CRYPTO", assetClass: "crypto" })).toEqual(["BTC", "spot"]);
    expect(ours({ symbol: "ES", secType: "FUT", assetClass: "future" })).toEqual(["ES", "futures"]);
  });

  it("is empty for a listing the text would not name: another currency's share, a coin or pair the syntax reads as another class", () => {
    // SAP here is the USD listing (SMART/USD): SAP on IBIS in EUR cannot be offered as "SAP".
    expect(ours({ symbol: "SAP", primaryExchange: "IBIS", currency: "EUR" })).toEqual(["", ""]);
    expect(ours({ symbol: "PEPE", secType: "CRYPTO", assetClass: "crypto" })).toEqual(["", ""]);
    expect(ours({ symbol: "ABC", secType: "CASH", assetClass: "forex", currency: "XYZ" })).toEqual(["", ""]);
    expect(ours({ symbol: "VWRL", secType: "FUND", assetClass: "fund", currency: "EUR" })).toEqual(["", ""]);
  });
});
