import { describe, expect, it } from "vitest";
import { assertTimeZone, barEndMs, intervalBounds } from "./calendar.js";
import { INTERVAL_NAMES, parseInterval } from "./intervals.js";

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const bounds = (at: string, name: Parameters<typeof intervalBounds>[1], tz?: string) => {
  const b = intervalBounds(t(at), name, tz);
  return [iso(b.startMs), iso(b.endMs)];
};
const HOUR = 3_600_000;

describe("fixed intervals", () => {
  it("align to epoch multiples in UTC regardless of the zone", () => {
    expect(bounds("2024-01-01T05:30:10Z", "h4", "America/New_York")).toEqual(["2024-01-01T04:00:00.000Z", "2024-01-01T08:00:00.000Z"]);
    expect(bounds("2024-01-01T05:37:59.999Z", "min5")).toEqual(["2024-01-01T05:35:00.000Z", "2024-01-01T05:40:00.000Z"]);
    expect(bounds("2024-01-01T05:40:00Z", "min5")).toEqual(["2024-01-01T05:40:00.000Z", "2024-01-01T05:45:00.000Z"]);
  });
});

describe("calendar intervals", () => {
  it("start days at local midnight", () => {
    expect(bounds("2024-01-15T12:00:00Z", "day")).toEqual(["2024-01-15T00:00:00.000Z", "2024-01-16T00:00:00.000Z"]);
    expect(bounds("2024-01-15T12:00:00Z", "day", "America/New_York")).toEqual([
      "2024-01-15T05:00:00.000Z",
      "2024-01-16T05:00:00.000Z",
    ]);
    // 23:59 New York is still the previous day.
    expect(bounds("2024-01-16T04:59:59.999Z", "day", "America/New_York")[0]).toBe("2024-01-15T05:00:00.000Z");
  });

  it("make the spring-forward day 23 hours and the fall-back day 25 hours long", () => {
    const spring = intervalBounds(t("2024-03-10T12:00:00Z"), "day", "America/New_York");
    expect([iso(spring.startMs), iso(spring.endMs)]).toEqual(["2024-03-10T05:00:00.000Z", "2024-03-11T04:00:00.000Z"]);
    expect(spring.endMs - spring.startMs).toBe(23 * HOUR);
    const fall = intervalBounds(t("2024-11-03T12:00:00Z"), "day", "America/New_York");
    expect([iso(fall.startMs), iso(fall.endMs)]).toEqual(["2024-11-03T04:00:00.000Z", "2024-11-04T05:00:00.000Z"]);
    expect(fall.endMs - fall.startMs).toBe(25 * HOUR);
  });

  it("start a day whose midnight is skipped by DST at the first local instant", () => {
    // America/Santiago jumps from 00:00 -04 to 01:00 -03 on 2024-09-08.
    expect(bounds("2024-09-08T12:00:00Z", "day", "America/Santiago")).toEqual([
      "2024-09-08T04:00:00.000Z",
      "2024-09-09T03:00:00.000Z",
    ]);
    expect(bounds("2024-09-07T12:00:00Z", "day", "America/Santiago")[1]).toBe("2024-09-08T04:00:00.000Z");
  });

  it("start weeks on Monday, Sunday belonging to the week before", () => {
    expect(bounds("2024-03-13T15:00:00Z", "week", "America/New_York")).toEqual([
      "2024-03-11T04:00:00.000Z",
      "2024-03-18T04:00:00.000Z",
    ]);
    // Sunday 2024-03-10 (the DST day) is in the week of Monday 2024-03-04: 167 hours long.
    const w = intervalBounds(t("2024-03-10T12:00:00Z"), "week", "America/New_York");
    expect(iso(w.startMs)).toBe("2024-03-04T05:00:00.000Z");
    expect(w.endMs - w.startMs).toBe(167 * HOUR);
    expect(bounds("2024-03-11T00:00:00Z", "week")).toEqual(["2024-03-11T00:00:00.000Z", "2024-03-18T00:00:00.000Z"]);
  });

  it("use calendar months, across year ends and DST", () => {
    expect(bounds("2024-02-29T23:00:00Z", "month", "America/New_York")).toEqual([
      "2024-02-01T05:00:00.000Z",
      "2024-03-01T05:00:00.000Z",
    ]);
    expect(bounds("2024-12-31T12:00:00Z", "month", "America/New_York")).toEqual([
      "2024-12-01T05:00:00.000Z",
      "2025-01-01T05:00:00.000Z",
    ]);
    expect(bounds("2024-03-20T12:00:00Z", "month", "America/New_York")[1]).toBe("2024-04-01T04:00:00.000Z");
    // 2025-01-01T03:00Z is still December in New York.
    expect(bounds("2025-01-01T03:00:00Z", "month", "America/New_York")[0]).toBe("2024-12-01T05:00:00.000Z");
  });

  it("rejects unknown zones with a message naming them", () => {
    expect(() => assertTimeZone("Mars/Olympus")).toThrow(/Mars\/Olympus/);
    expect(() => assertTimeZone("America/New_York")).not.toThrow();
  });
});

describe("bounds properties", () => {
  it("contain the instant and tile time without gaps or overlaps", () => {
    const zones = ["UTC", "America/New_York", "America/Santiago", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"];
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    for (let i = 0; i < 150; i++) {
      const ms = Math.floor(t("2020-01-01T00:00:00Z") + rand() * 6 * 365 * 24 * HOUR);
      const name = INTERVAL_NAMES[Math.floor(rand() * INTERVAL_NAMES.length)]!;
      const zone = zones[Math.floor(rand() * zones.length)]!;
      const b = intervalBounds(ms, name, zone);
      expect(b.startMs).toBeLessThanOrEqual(ms);
      expect(b.endMs).toBeGreaterThan(ms);
      expect(intervalBounds(b.startMs, name, zone)).toEqual(b);
      expect(intervalBounds(b.endMs - 1, name, zone)).toEqual(b);
      expect(intervalBounds(b.endMs, name, zone).startMs).toBe(b.endMs);
    }
  });
});

describe("barEndMs", () => {
  it("ends a day bar at its local day's end on DST days (23 and 25 hours), intraday bars one interval on", () => {
    const day = parseInterval("day")!;
    // New York, 2026-11-01: clocks go back, the day has 25 hours; 2026-03-08: forward, 23 hours.
    const nov1 = Date.UTC(2026, 10, 1, 4);
    expect(barEndMs(nov1, day, "America/New_York") - nov1).toBe(25 * 3_600_000);
    const mar8 = Date.UTC(2026, 2, 8, 5);
    expect(barEndMs(mar8, day, "America/New_York") - mar8).toBe(23 * 3_600_000);
    // An h4 bar IB starts on the exchange day (01:00 UTC in winter) still lasts four hours.
    expect(barEndMs(Date.UTC(2026, 0, 5, 1), parseInterval("h4")!, "America/New_York")).toBe(Date.UTC(2026, 0, 5, 5));
  });
});
