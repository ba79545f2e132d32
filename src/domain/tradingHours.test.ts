import { describe, expect, it } from "vitest";
import { parseTradingHours } from "./tradingHours.js";

describe("IB trading hours", () => {
  it("reads the TWS ≥ 970 format in the exchange's zone, skipping CLOSED days", () => {
    const s = parseTradingHours("20261125:0930-20261125:1600;20261126:CLOSED;20261127:0930-20261127:1300", "US/Eastern");
    expect(s.map((x) => [new Date(x.startMs).toISOString(), new Date(x.endMs).toISOString()])).toEqual([
      ["2026-11-25T14:30:00.000Z", "2026-11-25T21:00:00.000Z"],
      ["2026-11-27T14:30:00.000Z", "2026-11-27T18:00:00.000Z"],
    ]);
  });

  it("reads the older format with several ranges per day and sessions crossing midnight", () => {
    const s = parseTradingHours("20260707:0700-1830,1830-2330;20260708:1700-20260709:1600", "America/Chicago");
    expect(s.map((x) => new Date(x.startMs).toISOString())).toEqual(["2026-07-07T12:00:00.000Z", "2026-07-07T23:30:00.000Z", "2026-07-08T22:00:00.000Z"]);
    expect(new Date(s[2]!.endMs).toISOString()).toBe("2026-07-09T21:00:00.000Z");
  });

  it("is DST-correct on both sides of the switch", () => {
    const [before] = parseTradingHours("20260306:0930-20260306:1600", "America/New_York");
    const [after] = parseTradingHours("20260309:0930-20260309:1600", "America/New_York");
    expect(new Date(before!.startMs).toISOString()).toBe("2026-03-06T14:30:00.000Z");
    expect(new Date(after!.startMs).toISOString()).toBe("2026-03-09T13:30:00.000Z");
  });
});
