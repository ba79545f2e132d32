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
