import { describe, expect, it } from "vitest";
import { parseEndDateTime } from "./ibDateTime.js";

describe("IB date-times", () => {
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
