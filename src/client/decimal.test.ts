import { describe, expect, it } from "vitest";
import type { Candle } from "../../gen/ibprovider/v1/types.js";
import { fromDecimal, requireDecimal, spreadOf, toDecimal, withDecimals } from "./decimal.js";

describe("decimal strings", () => {
  it("parses exactly, with no binary float on the way", () => {
    expect(toDecimal("0.1")!.plus(toDecimal("0.2")!).toFixed()).toBe("0.3");
    expect(toDecimal("94040.25")!.toFixed()).toBe("94040.25");
  });

  it('treats "" as not known yet, and requireDecimal names the missing field', () => {
    expect(toDecimal("")).toBeUndefined();
    expect(() => requireDecimal("", "ask")).toThrow("ask is not known yet");
  });

  it("rejects text that is not a number", () => {
    expect(() => toDecimal("abc")).toThrow();
  });

  it("keeps every digit of large sums and never writes exponent notation", () => {
    const sum = toDecimal("123456789012345678901234.5")!.plus("0.000000001");
    expect(fromDecimal(sum)).toBe("123456789012345678901234.500000001");
    expect(fromDecimal("1e-12")).toBe("0.000000000001");
  });

  it("converts the named fields of a message and leaves the others alone", () => {
    const candle = { symbol: "BTCUSDT", interval: "h1", open: "1.5", close: "2", vwap: "", tradeCount: "12", isComplete: true } as Candle;
    const c = withDecimals(candle, ["open", "close", "vwap"]);
    expect(c.open?.toFixed()).toBe("1.5");
    expect(c.close?.minus(c.open!).toFixed()).toBe("0.5");
    expect(c.vwap).toBeUndefined();
    expect(c.symbol).toBe("BTCUSDT");
  });

  it("computes a spread only when both sides are known", () => {
    expect(spreadOf({ bid: "100.25", ask: "100.5" })?.toFixed()).toBe("0.25");
    expect(spreadOf({ bid: "100.25", ask: "" })).toBeUndefined();
  });
});
