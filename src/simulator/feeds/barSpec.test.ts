import { describe, expect, it } from "vitest";
import { durationWithinLimits, parseBarSizeSetting, parseDurationString, parseEndDateTime, windowStartSec } from "./barSpec.js";

describe("IB bar sizes and durations", () => {
  it("parses every IB bar size", () => {
    expect(parseBarSizeSetting("1 secs")).toBe(1);
    expect(parseBarSizeSetting("1 min")).toBe(60);
    expect(parseBarSizeSetting("1 mins")).toBe(60);
    expect(parseBarSizeSetting("1 hour")).toBe(3600);
    expect(parseBarSizeSetting("8 hours")).toBe(28800);
    expect(parseBarSizeSetting("1 day")).toBe(86400);
    expect(parseBarSizeSetting("1 week")).toBe("week");
    expect(parseBarSizeSetting("1 month")).toBe("month");
    expect(parseBarSizeSetting("7 mins")).toBeUndefined();
  });
  it("parses durations and their windows", () => {
    expect(parseDurationString("7 D")).toEqual({ n: 7, unit: "D" });
    expect(parseDurationString("1800 S")).toEqual({ n: 1800, unit: "S" });
    expect(parseDurationString("0 D")).toBeUndefined();
    expect(parseDurationString("D")).toBeUndefined();
    const end = Date.UTC(2026, 2, 31, 12) / 1000;
    expect(windowStartSec(end, { n: 1, unit: "W" })).toBe(end - 7 * 86400);
    expect(new Date(windowStartSec(end, { n: 1, unit: "Y" }) * 1000).toISOString()).toBe("2025-03-31T12:00:00.000Z");
    expect(durationWithinLimits({ n: 2000, unit: "S" }, 1)).toBe(true);
    expect(durationWithinLimits({ n: 1, unit: "D" }, 1)).toBe(false);
    expect(durationWithinLimits({ n: 365, unit: "D" }, 60)).toBe(true);
  });
  it("parses endDateTime formats with zones", () => {
    const now = Date.UTC(2026, 10, 18, 15);
    expect(parseEndDateTime("", now, "UTC")).toBe(now / 1000);
    expect(parseEndDateTime("20261117-21:00:00", now, "US/Eastern")).toBe(Date.UTC(2026, 10, 17, 21) / 1000);
    expect(parseEndDateTime("20261117 16:00:00 US/Eastern", now, "UTC")).toBe(Date.UTC(2026, 10, 17, 21) / 1000);
    expect(parseEndDateTime("20260717 16:00:00 US/Eastern", now, "UTC")).toBe(Date.UTC(2026, 6, 17, 20) / 1000);
    expect(parseEndDateTime("20261117 16:00:00", now, "US/Eastern")).toBe(Date.UTC(2026, 10, 17, 21) / 1000);
    expect(parseEndDateTime("20261117 21:00:00 UTC", now, "US/Eastern")).toBe(Date.UTC(2026, 10, 17, 21) / 1000);
    expect(parseEndDateTime("yesterday", now, "UTC")).toBeUndefined();
  });
});
