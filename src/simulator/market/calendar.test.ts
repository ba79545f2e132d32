import { describe, expect, it } from "vitest";
import { nyseEarlyClose, nyseHolidays } from "./calendar.js";
import { barWindowStartSec, durationStartSec } from "./ibDurations.js";
import { createMarket } from "./market.js";
import { isSessionOpen, NEW_YORK } from "./sessions.js";
import { spec } from "./testSupport.js";
import { dayToYyyymmdd, ymdToDay } from "./tz.js";

const ymd = (s: string): number => ymdToDay(Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8, 10)));
/** Epoch ms of a New York wall-clock time. */
const et = (date: string, hhmm: string): number => NEW_YORK.localToUtc(ymd(date), Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5)));
const holidays = (y: number): string[] => [...nyseHolidays(y).keys()].sort((a, b) => a - b).map((d) => dayToYyyymmdd(d));

describe("the NYSE calendar (NYSE's published holiday and early-close lists)", () => {
  it("has the ten (or eleven) full-day holidays of 2025, 2026 and 2027", () => {
    expect(holidays(2025)).toEqual(["20250101", "20250109", "20250120", "20250217", "20250418", "20250526", "20250619", "20250704", "20250901", "20251127", "20251225"]);
    expect(holidays(2026)).toEqual(["20260101", "20260119", "20260216", "20260403", "20260525", "20260619", "20260703", "20260907", "20261126", "20261225"]);
    // Juneteenth and Independence Day on weekends move to the Friday / Monday; Christmas on a Saturday → Friday 24th.
    expect(holidays(2027)).toEqual(["20270101", "20270118", "20270215", "20270326", "20270531", "20270618", "20270705", "20270906", "20271125", "20271224"]);
    // New Year's Day on a Saturday is not observed on the Friday before.
    expect(holidays(2022)[0]).toBe("20220117");
  });

  it("closes early on July 3 (Mon–Thu), the day after Thanksgiving and December 24 (Mon–Thu)", () => {
    const early = (y: number): string[] => {
      const out: string[] = [];
      for (let d = ymdToDay(y, 1, 1); d < ymdToDay(y + 1, 1, 1); d++) if (nyseEarlyClose(d)) out.push(dayToYyyymmdd(d));
      return out;
    };
    expect(early(2025)).toEqual(["20250703", "20251128", "20251224"]);
    expect(early(2026)).toEqual(["20261127", "20261224"]);
    expect(early(2027)).toEqual(["20271126"]);
  });
});

describe("sessions, bars and trading hours follow the calendar", () => {
  const now = et("2026-11-24", "12:00");
  const market = createMarket({ seed: 42, now: () => now });
  const aapl = spec(market, "AAPL");
  const btc = spec(market, "BTC.USD");
  const eur = spec(market, "EUR.USD");
  const daily = (inst: typeof aapl, from: string, to: string, what: "TRADES" | "AGGTRADES" | "MIDPOINT" = "TRADES") =>
    market
      .bars(inst, { barSize: 86400, fromSec: et(from, "00:00") / 1000, toSec: et(to, "00:00") / 1000, useRTH: false, whatToShow: what })
      .map((b) => dayToYyyymmdd(NEW_YORK.localDay(b.startSec * 1000)));

  it("has no AAPL daily bar on 2025-12-25, 2026-01-01 or 2026-11-26", () => {
    expect(daily(aapl, "2025-12-22", "2026-01-03")).toEqual(["20251222", "20251223", "20251224", "20251226", "20251229", "20251230", "20251231", "20260102"]);
    expect(daily(aapl, "2026-11-23", "2026-11-28")).toEqual(["20261123", "20261124", "20261125", "20261127"]);
  });

  it("ends the regular session at 13:00 and extended hours at 17:00 on 2026-11-27 and 2026-12-24", () => {
    for (const day of ["2026-11-27", "2026-12-24"]) {
      const rth = market.bars(aapl, { barSize: 60, fromSec: et(day, "00:00") / 1000, toSec: et(day, "23:59") / 1000, useRTH: true, whatToShow: "TRADES" });
      expect(rth[0]!.startSec * 1000).toBe(et(day, "09:30"));
      expect(rth[rth.length - 1]!.startSec * 1000).toBe(et(day, "12:59"));
      expect(market.isOpen(aapl, et(day, "16:59"), false)).toBe(true);
      expect(market.isOpen(aapl, et(day, "17:00"), false)).toBe(false);
    }
    expect(market.isOpen(aapl, et("2026-11-26", "11:00"), false)).toBe(false);
  });

  it("trades crypto every day and FX on weekday holidays", () => {
    expect(daily(btc, "2025-12-24", "2025-12-27", "AGGTRADES")).toEqual(["20251224", "20251225", "20251226"]);
    expect(market.isOpen(eur, et("2025-12-25", "10:00"), false)).toBe(true);
  });

  it("gives ES a holiday session (12:00 CT halt) that belongs to the next trade date, and no trading on Christmas", () => {
    expect(isSessionOpen("cme-globex", et("2026-11-26", "10:00"), false)).toBe(true);
    expect(isSessionOpen("cme-globex", et("2026-11-26", "13:30"), false)).toBe(false);
    expect(isSessionOpen("cme-globex", et("2026-11-27", "13:14"), false)).toBe(true);
    expect(isSessionOpen("cme-globex", et("2026-11-27", "13:15"), false)).toBe(false);
    expect(isSessionOpen("cme-globex", et("2025-12-25", "10:00"), false)).toBe(false);
    expect(isSessionOpen("cme-globex", et("2025-12-24", "19:00"), false)).toBe(false);
    expect(isSessionOpen("cme-globex", et("2025-12-25", "19:00"), false)).toBe(true);
  });

  it("writes holidays as CLOSED and early closes in the contract's trading hours", () => {
    const hours = market.findContracts({ symbol: "AAPL", secType: "STK" })[0]!;
    expect(hours.tradingHours).toContain("20261126:CLOSED");
    expect(hours.tradingHours).toContain("20261127:0400-20261127:1700");
    expect(hours.liquidHours).toContain("20261127:0930-20261127:1300");
    expect(hours.liquidHours).toContain("20261125:0930-20261125:1600");
  });

  it("counts trade days for 'N D' durations, skipping holidays", () => {
    // 3 D ending Monday 2026-11-30 12:00 ET: Friday 27th, (Thanksgiving skipped) Wednesday 25th… back 3 trade days.
    const end = et("2026-11-30", "12:00") / 1000;
    const start = durationStartSec(end, { count: 3, unit: "D" }, "us-equity");
    expect(dayToYyyymmdd(NEW_YORK.localDay(start * 1000))).toBe("20261124");
  });
});

describe("window arithmetic is the same for every bar size", () => {
  it("a 1 W window ending 2026-12-03 02:49 ET gives daily and hourly bars for the same trade days", () => {
    const market = createMarket({ seed: 42, now: () => Date.UTC(2026, 11, 3, 8) });
    const msft = spec(market, "MSFT");
    const end = et("2026-12-10", "02:49") / 1000; // the window, a week later (no holiday in it)
    const from = durationStartSec(end, { count: 1, unit: "W" }, "us-equity");
    const days = (size: number): string[] => [
      ...new Set(market.bars(msft, { barSize: size, fromSec: barWindowStartSec(from, size, msft.timeZoneId), toSec: end, useRTH: false, whatToShow: "TRADES" }).map((b) => dayToYyyymmdd(NEW_YORK.localDay(b.startSec * 1000)))),
    ];
    expect(days(3600)).toEqual(["20261203", "20261204", "20261207", "20261208", "20261209"]);
    // The market returns the bar of the end day too (its start is inside the window); the handler's barsAsOf
    // drops it while it holds no trade before `now` (history.test.ts).
    expect(days(86400).slice(0, 5)).toEqual(days(3600));
    expect(days(300)).toEqual(days(3600));
  });
});
