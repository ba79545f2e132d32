import { describe, expect, it } from "vitest";
import { AssetClass, OptionRight, type InstrumentSpec } from "../../../gen/ibprovider/v1/types.js";
import { ApiError } from "../apiError.js";
import { checkInstrument } from "./instrumentFields.js";

const EMPTY: InstrumentSpec = { assetClass: AssetClass.ASSET_CLASS_UNSPECIFIED, symbol: "", localSymbol: "", expiry: "", strike: "", right: OptionRight.OPTION_RIGHT_UNSPECIFIED, tradingClass: "", cusip: "", isin: "", legs: [] };
const spot = { connectorType: "ib", marketType: "spot", symbol: "" };

function fault(request: Parameters<typeof checkInstrument>[0]): { field: string | undefined; reason: string } {
  try {
    checkInstrument(request);
  } catch (err) {
    if (err instanceof ApiError) return { field: err.fieldViolations[0]?.field, reason: err.reason };
    throw err;
  }
  throw new Error("accepted");
}

describe("the structured form of an instrument", () => {
  it("keeps the asset class the fields name: a text that reads as another class is refused, naming the field", () => {
    // CRYPTO "EURUSD" reads as the pair, FOREX "BTCUSD" as the coin, CRYPTO "FOO" as a stock.
    expect(fault({ ...spot, instrument: { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_CRYPTO, symbol: "EURUSD" } })).toEqual({ field: "instrument.symbol", reason: "INVALID_SYMBOL" });
    expect(fault({ ...spot, instrument: { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_FOREX, symbol: "BTCUSD" } })).toEqual({ field: "instrument.symbol", reason: "INVALID_SYMBOL" });
    expect(fault({ ...spot, instrument: { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_CRYPTO, symbol: "FOO" } })).toEqual({ field: "instrument.symbol", reason: "INVALID_SYMBOL" });
    const leg = { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_STOCK, symbol: "AAPL" };
    const badLeg = { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_CRYPTO, symbol: "MSFT" };
    expect(fault({ ...spot, instrument: { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_COMBO, legs: [{ instrument: leg, ratio: 1 }, { instrument: badLeg, ratio: -1 }] } })).toEqual({ field: "instrument.legs[1].instrument.symbol", reason: "INVALID_SYMBOL" });
  });

  it("refuses an option whose trading class belongs to another underlying, and a future whose month is another root's", () => {
    const option = { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_OPTION, symbol: "AAPL", tradingClass: "SPXW", expiry: "20270115", strike: "200", right: OptionRight.OPTION_RIGHT_CALL };
    expect(fault({ ...spot, instrument: option })).toEqual({ field: "instrument.trading_class", reason: "INVALID_SYMBOL" });
    const future = { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_FUTURE, symbol: "ES", localSymbol: "NQH7" };
    expect(fault({ ...spot, marketType: "futures", instrument: future })).toEqual({ field: "instrument.local_symbol", reason: "INVALID_SYMBOL" });
  });

  it("refuses an option strike OCC cannot write (8 digits of thousandths) on the field strike", () => {
    const option = { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_OPTION, symbol: "AAPL", expiry: "20270115", right: OptionRight.OPTION_RIGHT_CALL };
    expect(fault({ ...spot, instrument: { ...option, strike: "100000" } })).toEqual({ field: "instrument.strike", reason: "INVALID_SYMBOL" });
    expect(checkInstrument({ ...spot, instrument: { ...option, strike: "99999.5" } }).symbol).toBe("AAPL270115C99999500");
    expect(checkInstrument({ ...spot, instrument: { ...option, strike: "0200" } }).symbol).toBe("AAPL270115C00200000");
  });

  it("accepts an option on a future's strike with up to 6 decimals, as its text does", () => {
    const fop = { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_FUTURE_OPTION, localSymbol: "6EZ6", right: OptionRight.OPTION_RIGHT_PUT };
    expect(checkInstrument({ ...spot, marketType: "futures", instrument: { ...fop, strike: "1.0825" } }).symbol).toBe("6EZ6P1.0825");
    expect(checkInstrument({ ...spot, marketType: "futures", instrument: { ...fop, strike: "0200.50" } }).symbol).toBe("6EZ6P200.5");
  });

  it("still accepts every class written consistently", () => {
    const ok = (marketType: string, instrument: InstrumentSpec) => checkInstrument({ ...spot, marketType, instrument }).symbol;
    expect(ok("spot", { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_CRYPTO, symbol: "btc-usdt" })).toBe("BTCUSDT");
    expect(ok("spot", { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_FOREX, symbol: "EUR.USD" })).toBe("EURUSD");
    expect(ok("spot", { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_STOCK, symbol: "SPX" })).toBe("STK:SPX");
    expect(ok("spot", { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_OPTION, symbol: "SPX", tradingClass: "SPXW", expiry: "20270115", strike: "6000", right: OptionRight.OPTION_RIGHT_CALL })).toBe("SPXW270115C06000000");
    expect(ok("futures", { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_FUTURE, symbol: "ES", localSymbol: "ESH27" })).toBe("ESH7");
    expect(ok("futures", { ...EMPTY, assetClass: AssetClass.ASSET_CLASS_FUTURE, symbol: "ES", expiry: "202703" })).toBe("ES-202703");
  });
});
