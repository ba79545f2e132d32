import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { Dec, dec, decimalFromIb, fromWire, sum, toWire } from "./decimal.js";

describe("decimalFromIb", () => {
  it("converts doubles from their shortest round-trip text, not their binary expansion", () => {
    expect(toWire(decimalFromIb(0.1))).toBe("0.1");
    expect(toWire(decimalFromIb(90123.25))).toBe("90123.25");
    expect(toWire(decimalFromIb(1.1))).toBe("1.1");
    expect(toWire(decimalFromIb(100))).toBe("100");
    expect(toWire(decimalFromIb(-2.5))).toBe("-2.5");
  });

  it("handles exponent forms produced by String(number)", () => {
    expect(toWire(decimalFromIb(1e-7))).toBe("0.0000001");
    expect(toWire(decimalFromIb(1.5e-10))).toBe("0.00000000015");
    expect(toWire(decimalFromIb(1e21))).toBe("1000000000000000000000");
    expect(toWire(decimalFromIb("1E-7"))).toBe("0.0000001");
  });

  it("maps undefined, NaN, Infinity and IB unset sentinels to undefined", () => {
    for (const v of [undefined, NaN, Infinity, -Infinity, 1.7976931348623157e308, 2147483647, 9223372036854775807]) {
      expect(decimalFromIb(v)).toBeUndefined();
    }
    for (const v of ["", "  ", "abc", "1.7976931348623157E308", "2147483647", "9223372036854775807", "NaN", "Infinity"]) {
      expect(decimalFromIb(v)).toBeUndefined();
    }
  });

  it("keeps values next to the sentinels", () => {
    expect(toWire(decimalFromIb(2147483646))).toBe("2147483646");
    expect(toWire(decimalFromIb("9223372036854775806"))).toBe("9223372036854775806");
  });

  it("accepts IB decimal strings exactly", () => {
    expect(toWire(decimalFromIb("0.00012345678901234567"))).toBe("0.00012345678901234567");
    expect(toWire(decimalFromIb(" 12.50 "))).toBe("12.5");
  });
});

describe("toWire canonical form", () => {
  it("keeps 0.1 + 0.2 exact when built from Decimals", () => {
    expect(toWire(dec("0.1").plus(dec("0.2")))).toBe("0.3");
    expect(toWire(sum([decimalFromIb(0.1)!, decimalFromIb(0.2)!]))).toBe("0.3");
  });

  it("uses plain notation without trailing zeros", () => {
    expect(toWire(dec("1.500"))).toBe("1.5");
    expect(toWire(dec("100.00"))).toBe("100");
    expect(toWire(dec("1e30"))).toBe("1000000000000000000000000000000");
    expect(toWire(dec("-0"))).toBe("0");
    expect(toWire(dec("0.000"))).toBe("0");
  });

  it("renders undefined and non-finite as the empty string", () => {
    expect(toWire(undefined)).toBe("");
    expect(toWire(new Dec(NaN))).toBe("");
  });

  it("round-trips through fromWire", () => {
    for (const s of ["0", "1", "-3.25", "0.0000001", "123456789012345678901234567890.123456789"]) {
      expect(toWire(fromWire(s))).toBe(s);
    }
    expect(fromWire("")).toBeUndefined();
  });

  it("is immune to changes of the global Decimal configuration", () => {
    const saved = Decimal.precision;
    Decimal.set({ precision: 5 });
    try {
      expect(toWire(dec("1").div(3))).toBe("0.3333333333333333333333333333333333333333");
    } finally {
      Decimal.set({ precision: saved });
    }
  });
});
