import { describe, expect, it } from "vitest";
import { formatInstrumentSymbol, parseInstrumentSymbol, type InstrumentSpec } from "./instrumentSymbol.js";

function spec(market: "spot" | "futures", text: string): InstrumentSpec {
  const parsed = parseInstrumentSymbol(market, text);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed.spec;
}

describe("symbol syntax", () => {
  it("reads every class of the spot market", () => {
    expect(spec("spot", "aapl")).toEqual({ assetClass: "stock", symbol: "AAPL" });
    expect(spec("spot", "BRK.B")).toEqual({ assetClass: "stock", symbol: "BRK.B" });
    expect(spec("spot", "BTCUSDT")).toEqual({ assetClass: "crypto", coin: "BTC", quote: "USDT" });
    expect(spec("spot", "EUR.USD")).toEqual({ assetClass: "forex", base: "EUR", quote: "USD" });
    expect(spec("spot", "SPX")).toEqual({ assetClass: "index", symbol: "SPX" });
    expect(spec("spot", "IND:DAX")).toEqual({ assetClass: "index", symbol: "DAX" });
    expect(spec("spot", "VFIAX")).toEqual({ assetClass: "fund", symbol: "VFIAX" });
    expect(spec("spot", "912828YK0")).toEqual({ assetClass: "bond", cusip: "912828YK0" });
    expect(spec("spot", "US912828YK04")).toEqual({ assetClass: "bond", isin: "US912828YK04", cusip: "912828YK0" });
  });

  it("reads OCC option symbols, padded or not, and weeklies' class as a class of the index", () => {
    const call = { assetClass: "option", underlying: "AAPL", tradingClass: "AAPL", expiry: "20270115", right: "call", strike: "200" };
    expect(spec("spot", "AAPL270115C00200000")).toEqual(call);
    expect(spec("spot", "AAPL  270115C00200000")).toEqual(call);
    expect(spec("spot", "SPXW261218P05012500")).toMatchObject({ underlying: "SPX", tradingClass: "SPXW", right: "put", strike: "5012.5" });
    expect(parseInstrumentSymbol("spot", "AAPL271315C00200000")).toMatchObject({ error: expect.stringContaining("not a date") });
  });

  it("reads futures, months and options on futures in the futures market", () => {
    expect(spec("futures", "ES")).toEqual({ assetClass: "future", root: "ES" });
    expect(spec("futures", "ESH27")).toEqual({ assetClass: "future", root: "ES", localSymbol: "ESH7" });
    expect(spec("futures", "ES-202703")).toEqual({ assetClass: "future", root: "ES", expiry: "202703" });
    expect(spec("futures", "ESH7 C5000")).toEqual({ assetClass: "future-option", root: "ES", futureLocalSymbol: "ESH7", right: "call", strike: "5000" });
    expect(parseInstrumentSymbol("spot", "ESH7C5000")).toMatchObject({ error: expect.stringContaining("futures market") });
  });

  it("reads combos with signed ratios, and refuses nested or one-legged ones", () => {
    const parsed = parseInstrumentSymbol("spot", "COMBO:AAPL270115C00200000,-2*AAPL270115C00210000");
    expect(parsed).toMatchObject({ text: "COMBO:AAPL270115C00200000,-2*AAPL270115C00210000", spec: { legs: [{ ratio: 1 }, { ratio: -2 }] } });
    expect(parseInstrumentSymbol("spot", "COMBO:AAPL")).toMatchObject({ error: expect.stringContaining("2 to 8 legs") });
    expect(parseInstrumentSymbol("spot", "COMBO:AAPL,0*MSFT")).toMatchObject({ error: expect.stringContaining("ratio") });
    // An empty leg is a fault of the text, not an exception (which the service would answer as INTERNAL).
    for (const text of ["COMBO:AAPL,", "COMBO:,AAPL", "COMBO:AAPL,,MSFT", "COMBO:AAPL, ,MSFT"]) {
      expect(parseInstrumentSymbol("spot", text), text).toMatchObject({ error: expect.stringContaining("is empty") });
    }
  });

  it("formats a spec to a text that parses back to it", () => {
    const texts: Array<["spot" | "futures", string]> = [
      ["spot", "AAPL"], ["spot", "BTCUSDT"], ["spot", "BTC"], ["spot", "EURUSD"], ["spot", "SPX"], ["spot", "IND:DAX"], ["spot", "VFIAX"], ["spot", "FUND:ABC"],
      ["spot", "912828YK0"], ["spot", "AAPL270115C00200000"], ["spot", "SPXW261218P05012500"], ["spot", "STK:VFIAX"],
      ["futures", "ES"], ["futures", "ESH7"], ["futures", "ES-202703"], ["futures", "ESH7C5000"], ["futures", "COMBO:ESH7,-ESM7"],
    ];
    for (const [market, text] of texts) {
      const s = spec(market, text);
      expect(formatInstrumentSymbol(s), text).toBe(text);
      expect(spec(market, formatInstrumentSymbol(s))).toEqual(s);
    }
  });

  it("writes one canonical text per option on a future, however its strike is padded", () => {
    for (const text of ["ESH7C200.5", "ESH7C0200.5", "ESH7C0200.50", "ESH7 C200.500"]) expect(parseInstrumentSymbol("futures", text), text).toMatchObject({ text: "ESH7C200.5" });
    expect(parseInstrumentSymbol("futures", "6EZ6P01.0825")).toMatchObject({ text: "6EZ6P1.0825" });
    expect(parseInstrumentSymbol("futures", "ZNH7C0.5")).toMatchObject({ text: "ZNH7C0.5" });
  });

  it("refuses a bond id whose check digit is wrong, and names what it expected", () => {
    expect(parseInstrumentSymbol("spot", "912828YK1")).toMatchObject({ error: expect.stringContaining("bond (CUSIP or ISIN)") });
    expect(parseInstrumentSymbol("spot", "BOND:912828YK1")).toMatchObject({ error: expect.stringContaining("check digit") });
  });
});
