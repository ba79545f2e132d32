import { describe, expect, it } from "vitest";
import { dec } from "./decimal.js";
import { inferTradeSide } from "./marketData.js";

const quote = { bid: dec("10.00"), ask: dec("10.02") };
const at = (p: string) => ({ price: dec(p) });

describe("inferTradeSide", () => {
  it("classifies trades at or above the ask as buys", () => {
    expect(inferTradeSide(at("10.02"), quote)).toBe("buy");
    expect(inferTradeSide(at("10.05"), quote)).toBe("buy");
  });

  it("classifies trades at or below the bid as sells", () => {
    expect(inferTradeSide(at("10"), quote)).toBe("sell");
    expect(inferTradeSide(at("9.9"), quote)).toBe("sell");
  });

  it("leaves trades inside the spread unclassified (no tick rule)", () => {
    expect(inferTradeSide(at("10.01"), quote)).toBeUndefined();
  });

  it("uses whichever side of the quote is known", () => {
    expect(inferTradeSide(at("10.02"), { ask: dec("10.02") })).toBe("buy");
    expect(inferTradeSide(at("10.01"), { ask: dec("10.02") })).toBeUndefined();
    expect(inferTradeSide(at("10"), { bid: dec("10") })).toBe("sell");
    expect(inferTradeSide(at("10"), {})).toBeUndefined();
    expect(inferTradeSide(at("10"), undefined)).toBeUndefined();
  });

  it("returns undefined when a locked or crossed quote makes both sides match", () => {
    expect(inferTradeSide(at("10"), { bid: dec("10"), ask: dec("10") })).toBeUndefined();
    expect(inferTradeSide(at("10.01"), { bid: dec("10.02"), ask: dec("10") })).toBeUndefined();
    expect(inferTradeSide(at("10.03"), { bid: dec("10.02"), ask: dec("10") })).toBe("buy");
  });
});
