import { describe, expect, it } from "vitest";
import { isSessionOpen, tradeDay, tradeDayOf } from "./sessions.js";
import { spec, testMarket } from "./testSupport.js";
import { TimeZone, ymdToDay } from "./tz.js";

const NY = new TimeZone("America/New_York");

describe("New York DST handling", () => {
  it("maps wall-clock times to UTC across the March and November switches", () => {
    expect(new Date(NY.localToUtc(ymdToDay(2025, 3, 7), 570)).toISOString()).toBe("2025-03-07T14:30:00.000Z"); // EST
    expect(new Date(NY.localToUtc(ymdToDay(2025, 3, 10), 570)).toISOString()).toBe("2025-03-10T13:30:00.000Z"); // EDT
    expect(new Date(NY.localToUtc(ymdToDay(2025, 11, 3), 570)).toISOString()).toBe("2025-11-03T14:30:00.000Z");
    // The switch days themselves: 00:00 still on the old offset.
    expect(new Date(NY.localToUtc(ymdToDay(2025, 3, 9), 0)).toISOString()).toBe("2025-03-09T05:00:00.000Z");
    expect(new Date(NY.localToUtc(ymdToDay(2025, 11, 2), 0)).toISOString()).toBe("2025-11-02T04:00:00.000Z");
    // Nonexistent 02:30 moves forward; ambiguous 01:30 takes its first occurrence.
    expect(new Date(NY.localToUtc(ymdToDay(2025, 3, 9), 150)).toISOString()).toBe("2025-03-09T07:30:00.000Z");
    expect(new Date(NY.localToUtc(ymdToDay(2025, 11, 2), 90)).toISOString()).toBe("2025-11-02T05:30:00.000Z");
  });

  it("knows the offset on both sides of the switch instant", () => {
    expect(NY.offsetAt(Date.UTC(2025, 2, 9, 6, 59))).toBe(-5 * 3600_000);
    expect(NY.offsetAt(Date.UTC(2025, 2, 9, 7, 0))).toBe(-4 * 3600_000);
    expect(NY.offsetAt(Date.UTC(2025, 10, 2, 5, 59))).toBe(-4 * 3600_000);
    expect(NY.offsetAt(Date.UTC(2025, 10, 2, 6, 0))).toBe(-5 * 3600_000);
  });

  it("opens AAPL at 09:30 ET on both sides of the switch (14:30 vs 13:30 UTC)", () => {
    const market = testMarket();
    const aapl = spec(market, "AAPL");
    const firstRth = (day: number): number =>
      market.bars(aapl, { barSize: 60, fromSec: day * 86400, toSec: day * 86400 + 86400, useRTH: true, whatToShow: "TRADES" })[0]!.startSec;
    expect(new Date(firstRth(ymdToDay(2025, 3, 7)) * 1000).toISOString()).toBe("2025-03-07T14:30:00.000Z");
    expect(new Date(firstRth(ymdToDay(2025, 3, 10)) * 1000).toISOString()).toBe("2025-03-10T13:30:00.000Z");
    expect(new Date(firstRth(ymdToDay(2025, 10, 31)) * 1000).toISOString()).toBe("2025-10-31T13:30:00.000Z");
    expect(new Date(firstRth(ymdToDay(2025, 11, 3)) * 1000).toISOString()).toBe("2025-11-03T14:30:00.000Z");
  });

  it("keeps 4-hour bars aligned to NY midnight through the switch", () => {
    const market = testMarket();
    const btc = spec(market, "BTC.USD");
    const from = Date.UTC(2025, 2, 8) / 1000;
    const starts = market.bars(btc, { barSize: 14400, fromSec: from, toSec: from + 3 * 86400, useRTH: false, whatToShow: "AGGTRADES" }).map((b) => new Date(b.startSec * 1000).getUTCHours());
    // Saturday (EST): 20:00 Fri = 01 UTC, 00:00 = 05 UTC, …; Sunday's 00:00–04:00 bucket spans the
    // switch (05–08 UTC), then 04:00 EDT = 08 UTC; Monday 00:00 EDT = 04 UTC.
    expect(starts.slice(0, 6)).toEqual([1, 5, 9, 13, 17, 21]);
    expect(starts.slice(6, 14)).toEqual([1, 5, 8, 12, 16, 20, 0, 4]);
  });
});

describe("sessions", () => {
  it("trade days of overnight sessions belong to the day they end on", () => {
    const sundayEvening = Date.UTC(2025, 4, 18, 23, 0); // 19:00 EDT Sunday
    expect(tradeDayOf("cme-globex", sundayEvening)).toBe(ymdToDay(2025, 5, 19));
    expect(isSessionOpen("cme-globex", sundayEvening, false)).toBe(true);
    expect(isSessionOpen("cme-globex", sundayEvening, true)).toBe(false);
    expect(isSessionOpen("cme-globex", Date.UTC(2025, 4, 19, 21, 30), false)).toBe(false); // 17:30 break
    expect(isSessionOpen("fx-24x5", Date.UTC(2025, 4, 19, 21, 30), false)).toBe(true);
    expect(isSessionOpen("fx-24x5", Date.UTC(2025, 4, 17, 12, 0), false)).toBe(false); // Saturday
    expect(isSessionOpen("crypto-24x7", Date.UTC(2025, 4, 17, 12, 0), true)).toBe(true);
    expect(tradeDay("us-equity", ymdToDay(2025, 5, 17))).toBeUndefined();
  });

  it("exposes isOpen consistent with bars: AAPL closed at night and weekends, open pre-market", () => {
    const market = testMarket();
    const aapl = spec(market, "AAPL");
    expect(market.isOpen(aapl, Date.UTC(2025, 4, 14, 12, 0), false)).toBe(true); // 08:00 EDT
    expect(market.isOpen(aapl, Date.UTC(2025, 4, 14, 12, 0), true)).toBe(false);
    expect(market.isOpen(aapl, Date.UTC(2025, 4, 14, 14, 0), true)).toBe(true);
    expect(market.isOpen(aapl, Date.UTC(2025, 4, 15, 2, 0), false)).toBe(false); // 22:00 EDT
    expect(market.isOpen(aapl, Date.UTC(2025, 4, 17, 15, 0), false)).toBe(false); // Saturday
  });
});
