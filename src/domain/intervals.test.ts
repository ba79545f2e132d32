import { describe, expect, it } from "vitest";
import { INTERVAL_NAMES, parseInterval } from "./intervals.js";

describe("interval names", () => {
  it("accepts every canonical Barfinex name", () => {
    for (const name of INTERVAL_NAMES) expect(parseInterval(name)?.name).toBe(name);
  });

  it("maps Barfinex aliases to canonical names", () => {
    expect(parseInterval("M1")?.name).toBe("min1");
    expect(parseInterval("1h")?.name).toBe("h1");
    expect(parseInterval("D1")?.name).toBe("day");
    expect(parseInterval("4h")?.seconds).toBe(14400);
  });

  it("rejects unknown intervals instead of defaulting to min1", () => {
    for (const bad of ["", "h3", "MIN1", "1 min", "minute"]) expect(parseInterval(bad)).toBeUndefined();
  });
});
