import { describe, expect, it } from "vitest";
import { durationStartSec, isValidDurationForBarSize, parseBarSize, parseDuration } from "./index.js";

const ALL = ["1 secs", "5 secs", "10 secs", "15 secs", "30 secs", "1 min", "2 mins", "3 mins", "5 mins", "10 mins", "15 mins", "20 mins", "30 mins", "1 hour", "2 hours", "3 hours", "4 hours", "8 hours", "1 day", "1 week", "1 month"];

describe("IB bar sizes and durations", () => {
  it("parses every IB bar size and rejects others", () => {
    expect(ALL.map((s) => parseBarSize(s))).toEqual([1, 5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 28800, 86400].map((seconds) => ({ seconds })).concat(["week", "month"] as never[]));
    for (const bad of ["1 sec", "2 secs", "1 mins", "7 mins", "45 mins", "1 Hour", "1W", "1 year", "", "5 hours"]) expect(parseBarSize(bad)).toBeUndefined();
  });

  it("parses durations", () => {
    expect(parseDuration("300 S")).toEqual({ unit: "S", count: 300 });
    expect(parseDuration("1 D")).toEqual({ unit: "D", count: 1 });
    expect(parseDuration("2 W")).toEqual({ unit: "W", count: 2 });
    expect(parseDuration("1 M")).toEqual({ unit: "M", count: 1 });
    expect(parseDuration("1 Y")).toEqual({ unit: "Y", count: 1 });
    expect(parseDuration("7 D")).toEqual({ unit: "D", count: 7 });
    expect(parseDuration(" 1800 S ")).toEqual({ unit: "S", count: 1800 });
    for (const bad of ["0 D", "1D", "1 d", "1 H", "-1 D", "1.5 D", "D"]) expect(parseDuration(bad)).toBeUndefined();
  });

  it("computes window starts (D skips weekends for weekday sessions)", () => {
    const monday10 = Date.UTC(2025, 4, 19, 14, 0) / 1000; // Mon 10:00 ET
    expect(durationStartSec(monday10, { unit: "S", count: 300 }, "us-equity")).toBe(monday10 - 300);
    expect(durationStartSec(monday10, { unit: "D", count: 1 }, "us-equity")).toBe(monday10 - 3 * 86400); // Friday
    expect(durationStartSec(monday10, { unit: "D", count: 1 }, "crypto-24x7")).toBe(monday10 - 86400);
    expect(durationStartSec(monday10, { unit: "W", count: 2 }, "us-equity")).toBe(monday10 - 14 * 86400);
    expect(durationStartSec(monday10, { unit: "M", count: 1 }, "us-equity")).toBe(Date.UTC(2025, 3, 19, 14, 0) / 1000);
    expect(durationStartSec(monday10, { unit: "Y", count: 1 }, "us-equity")).toBe(Date.UTC(2024, 4, 19, 14, 0) / 1000);
    expect(durationStartSec(Date.UTC(2025, 2, 31) / 1000, { unit: "M", count: 1 }, "us-equity")).toBe(Date.UTC(2025, 1, 28) / 1000);
  });

  it("applies IB's duration caps (ib-rules.md), not the step-size table", () => {
    const ok = (d: string, b: string): boolean => isValidDurationForBarSize(parseDuration(d)!, parseBarSize(b)!);
    // 1-second bars: 2000 S.
    expect(ok("2000 S", "1 secs")).toBe(true);
    expect(ok("2001 S", "1 secs")).toBe(false);
    expect(ok("1 D", "1 secs")).toBe(false);
    expect(ok("1 M", "1 secs")).toBe(false);
    // Everything else: 86400 S / 365 D / 52 W / 12 M / 68 Y, whatever the bar size.
    for (const bar of ["5 secs", "1 min", "1 hour", "1 day", "1 week", "1 month"]) {
      for (const [max, over] of [["86400 S", "86401 S"], ["365 D", "366 D"], ["52 W", "53 W"], ["12 M", "13 M"], ["68 Y", "69 Y"]] as const) {
        expect(ok(max, bar)).toBe(true);
        expect(ok(over, bar)).toBe(false);
      }
    }
    // IB is lenient beyond the step-size table: several days of 1-minute bars, a year of hourly bars.
    expect(ok("1 D", "5 secs")).toBe(true);
    expect(ok("10 D", "1 min")).toBe(true);
    expect(ok("1 Y", "1 hour")).toBe(true);
  });
});
