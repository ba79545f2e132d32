import { BarSizeSetting, EventName, IBApiNext, TickByTickDataType, WhatToShow, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { startSimulator } from "./index.js";
import { until } from "../testing/until.js";
import { AAPL, afterPumpTurns, BTC, EURUSD, MSFT, roundTrip, SESSION_TIME_MS, runningClock, type TestClient, useFixture } from "./testing/harness.js";

const fx = useFixture();

interface HBar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  count: number;
  wap: number;
}

/** Collects one historical answer (until the synthetic "finished" marker). */
function history(c: TestClient, reqId: number, timeoutMs = 5000): Promise<HBar[]> {
  return new Promise((resolve, reject) => {
    const bars: HBar[] = [];
    const timer = setTimeout(() => reject(new Error(`history ${reqId} timed out`)), timeoutMs);
    const on = (id: number, date: string, open: number, high: number, low: number, close: number, volume: number, count: number, wap: number) => {
      if (id !== reqId) return;
      if (date.startsWith("finished")) {
        clearTimeout(timer);
        (c.ib as unknown as { off(e: string, l: typeof on): void }).off(EventName.historicalData, on);
        resolve(bars);
        return;
      }
      bars.push({ date, open, high, low, close, volume, count, wap });
    };
    (c.ib as unknown as { on(e: string, l: typeof on): void }).on(EventName.historicalData, on);
    c.ib.on(EventName.error, (_e: Error, code: number, id: number) => {
      if (id === reqId) {
        clearTimeout(timer);
        reject(new Error(`error ${code}`));
      }
    });
  });
}

describe("historical bars", () => {
  it("fetches 7 days of hourly BTC AGGTRADES bars (IBApiNext too)", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    const p = history(c, 1);
    c.ib.reqHistoricalData(1, { ...BTC } as Contract, "", "7 D", BarSizeSetting.HOURS_ONE, "AGGTRADES", 0, 2, false);
    const bars = await p;
    expect(bars.length).toBeGreaterThanOrEqual(167);
    expect(bars.length).toBeLessThanOrEqual(169);
    for (let i = 1; i < bars.length; i++) expect(Number(bars[i]!.date) - Number(bars[i - 1]!.date)).toBe(3600);
    for (const b of bars) {
      expect(b.high).toBeGreaterThanOrEqual(Math.max(b.open, b.close));
      expect(b.low).toBeLessThanOrEqual(Math.min(b.open, b.close));
      expect(b.volume).toBeGreaterThan(0);
    }
    const next = new IBApiNext({ host: "127.0.0.1", port: fx.sim.port });
    try {
      next.connect(46);
      const viaNext = await next.getHistoricalData({ ...BTC } as Contract, "", "1 D", BarSizeSetting.HOURS_ONE, WhatToShow.AGGTRADES, 0, 2);
      expect(viaNext.length).toBeGreaterThanOrEqual(23);
      expect(viaNext.at(-1)!.close).toBeGreaterThan(0);
    } finally {
      next.disconnect();
    }
  });

  it("accepts every IB bar size and formats dates per formatDate", async () => {
    await fx.start({ now: runningClock(), limits: { historicalSameContractMax: 1000 } });
    const c = await fx.client();
    const cases: [string, string][] = [
      ["1 secs", "60 S"],
      ["5 secs", "300 S"],
      ["10 secs", "600 S"],
      ["15 secs", "900 S"],
      ["30 secs", "1800 S"],
      ["1 min", "3600 S"],
      ["2 mins", "1 D"],
      ["3 mins", "1 D"],
      ["5 mins", "1 D"],
      ["10 mins", "1 D"],
      ["15 mins", "2 D"],
      ["20 mins", "2 D"],
      ["30 mins", "1 W"],
      ["1 hour", "1 W"],
      ["2 hours", "1 W"],
      ["3 hours", "1 M"],
      ["4 hours", "1 M"],
      ["8 hours", "1 M"],
      ["1 day", "1 Y"],
      ["1 week", "2 Y"],
      ["1 month", "2 Y"],
    ];
    let id = 100;
    for (const [size, dur] of cases) {
      const reqId = id++;
      const p = history(c, reqId, 8000);
      c.ib.reqHistoricalData(reqId, { ...BTC } as Contract, "", dur, size as BarSizeSetting, "AGGTRADES", 0, 1, false);
      const bars = await p;
      expect(bars.length, `${size} over ${dur}`).toBeGreaterThan(0);
      const d = bars[0]!.date;
      if (["1 day", "1 week", "1 month"].includes(size)) expect(d).toMatch(/^\d{8}$/);
      else expect(d).toMatch(/^\d{8} \d{2}:\d{2}:\d{2} \S+$/);
    }
    // An explicit UTC end date and a zone-qualified one.
    const p = history(c, 200);
    c.ib.reqHistoricalData(200, { ...AAPL } as Contract, "20261117-21:00:00", "1 D", BarSizeSetting.MINUTES_FIVE, "TRADES", 1, 2, false);
    const rth = await p;
    expect(rth.length).toBe(78); // 09:30–16:00 in 5-minute bars
    const bad = history(c, 201);
    c.ib.reqHistoricalData(201, { ...AAPL } as Contract, "", "1 D", "7 mins" as BarSizeSetting, "TRADES", 1, 2, false);
    await expect(bad).rejects.toThrow("error 321");
  });

  it("serves MIDPOINT/BID/ASK for forex and rejects TRADES there", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    const p = history(c, 1);
    c.ib.reqHistoricalData(1, { ...EURUSD } as Contract, "", "1 D", BarSizeSetting.HOURS_ONE, "MIDPOINT", 0, 2, false);
    expect((await p).length).toBeGreaterThan(10);
    const q = history(c, 2);
    c.ib.reqHistoricalData(2, { ...EURUSD } as Contract, "", "1 D", BarSizeSetting.HOURS_ONE, "TRADES", 0, 2, false);
    await expect(q).rejects.toThrow("error 162");
  });

  it("keeps the last bar up to date with msg 90 (keepUpToDate)", async () => {
    await fx.start({ now: runningClock(SESSION_TIME_MS, 90), tickIntervalMs: 20 });
    const c = await fx.client();
    const updates: [number, string, number, number, number, number, number][] = [];
    c.ib.on(EventName.historicalDataUpdate, (id: number, date: string, open: number, high: number, low: number, close: number, volume: number) =>
      updates.push([id, date, open, high, low, close, volume]),
    );
    const p = history(c, 5);
    c.ib.reqHistoricalData(5, { ...BTC } as Contract, "", "1800 S", BarSizeSetting.MINUTES_ONE, "AGGTRADES", 0, 2, true);
    const bars = await p;
    await until(() => new Set(updates.map((u) => u[1])).size >= 2, { timeoutMs: 8000, what: "updates across two bars" });
    const firstDate = Number(updates[0]![1]);
    expect(firstDate).toBeGreaterThanOrEqual(Number(bars.at(-1)!.date));
    for (const [, , open, high, low, close] of updates) {
      expect(high).toBeGreaterThanOrEqual(Math.max(open, close));
      expect(low).toBeLessThanOrEqual(Math.min(open, close));
    }
    c.ib.cancelHistoricalData(5);
    await roundTrip(c); // the cancel is handled; updates sent before it have arrived
    const n = updates.length;
    await afterPumpTurns(fx.sim, c);
    expect(updates.length).toBe(n);
  });

  it("answers head timestamps", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    const heads: [number, string][] = [];
    c.ib.on(EventName.headTimestamp, (id: number, ts: string) => heads.push([id, ts]));
    c.ib.reqHeadTimestamp(1, { ...AAPL } as Contract, WhatToShow.TRADES, true, 2);
    c.ib.reqHeadTimestamp(2, { ...BTC } as Contract, WhatToShow.AGGTRADES, false, 1);
    await until(() => heads.length === 2, { what: "both head timestamps" });
    const a = heads.find(([id]) => id === 1)![1];
    expect(Number(a)).toBeLessThan(SESSION_TIME_MS / 1000);
    expect(heads.find(([id]) => id === 2)![1]).toMatch(/^\d{8} {2}\d{2}:\d{2}:\d{2}$/);
  });

  it("streams 5-second real-time bars", async () => {
    await fx.start({ now: runningClock(SESSION_TIME_MS, 20), tickIntervalMs: 20 });
    const c = await fx.client();
    const rt: [number, number, number, number, number, number, number][] = [];
    c.ib.on(EventName.realtimeBar, (id: number, time: number, open: number, high: number, low: number, close: number, volume: number) =>
      rt.push([id, time, open, high, low, close, volume]),
    );
    c.ib.reqRealTimeBars(7, { ...AAPL } as Contract, 5, WhatToShow.TRADES, false);
    await until(() => rt.length >= 3, { what: "three real-time bars" });
    for (let i = 1; i < rt.length; i++) expect(rt[i]![1] - rt[i - 1]![1]).toBe(5);
    expect(rt[0]![1] % 5).toBe(0);
    c.ib.cancelRealTimeBars(7);
  });
});

describe("a market, not noise", () => {
  it("gives the same bars for the same seed and different ones for another seed", async () => {
    const get = async (seed: number) => {
      const sim = await startSimulator({ port: 0, seed, now: () => SESSION_TIME_MS });
      const c = await (await import("./testing/harness.js")).connectClient(sim.port);
      try {
        const p = history(c, 1);
        c.ib.reqHistoricalData(1, { ...BTC } as Contract, "", "2 D", BarSizeSetting.HOURS_ONE, "AGGTRADES", 0, 2, false);
        const bars = await p;
        expect(c.decodeErrors).toEqual([]);
        return bars;
      } finally {
        c.close();
        await sim.close();
      }
    };
    const a = await get(7);
    const b = await get(7);
    const other = await get(8);
    expect(a.length).toBeGreaterThan(40);
    expect(b).toEqual(a);
    expect(other).not.toEqual(a);
  });

  it("builds the same 1-minute bar from streamed trades as the historical bar of that minute", async () => {
    // 60× clock: one market minute every wall second.
    const start = SESSION_TIME_MS + 30_000;
    await fx.start({ now: runningClock(start, 60), tickIntervalMs: 20 });
    const c = await fx.client();
    const trades: { t: number; price: number; size: number }[] = [];
    c.ib.on(EventName.tickByTickAllLast, (id: number, _type: number, time: string, price: number, size: number) => {
      if (id === 1) trades.push({ t: Number(time), price, size });
    });
    c.ib.reqTickByTickData(1, { ...BTC } as Contract, TickByTickDataType.AllLast, 0, false);
    const minute = Math.floor(start / 60_000) * 60 + 60; // first full minute after the start
    await until(() => trades.some((x) => x.t >= minute + 60), { timeoutMs: 8000, what: "a full streamed minute" });
    c.ib.cancelTickByTickData(1);
    const inMinute = trades.filter((x) => x.t >= minute && x.t < minute + 60);
    expect(inMinute.length).toBeGreaterThan(0);
    const p = history(c, 2);
    const end = new Date((minute + 60) * 1000).toISOString().replace(/[-]/g, "").replace("T", "-").slice(0, 17);
    c.ib.reqHistoricalData(2, { ...BTC } as Contract, end, "60 S", BarSizeSetting.MINUTES_ONE, "AGGTRADES", 0, 2, false);
    const bars = await p;
    const bar = bars.find((b) => Number(b.date) === minute)!;
    expect(bar).toBeDefined();
    const vol = inMinute.reduce((s, x) => s + x.size, 0);
    expect(bar.open).toBe(inMinute[0]!.price);
    expect(bar.close).toBe(inMinute.at(-1)!.price);
    expect(bar.high).toBe(Math.max(...inMinute.map((x) => x.price)));
    expect(bar.low).toBe(Math.min(...inMinute.map((x) => x.price)));
    expect(bar.count).toBe(inMinute.length);
    expect(bar.volume).toBeCloseTo(vol, 6);
  });
});

describe("bar windows are the same for every bar size (issue 12, finding 6)", () => {
  const NOW = Date.UTC(2026, 11, 10, 7, 49); // Thu 2026-12-10 02:49 New York

  it("1 W ending Thursday 02:49 ET: daily bars for the five trade days the hourly bars cover", async () => {
    await fx.start({ now: () => NOW });
    const c = await fx.client();
    const daily = history(c, 1);
    c.ib.reqHistoricalData(1, { ...MSFT } as Contract, "", "1 W", BarSizeSetting.DAYS_ONE, "TRADES", 0, 1, false);
    const days = (await daily).map((b) => b.date);
    const hourly = history(c, 2);
    c.ib.reqHistoricalData(2, { ...MSFT } as Contract, "", "1 W", BarSizeSetting.HOURS_ONE, "TRADES", 0, 1, false);
    const hourDays = [...new Set((await hourly).map((b) => b.date.slice(0, 8)))];
    expect(days).toEqual(["20261203", "20261204", "20261207", "20261208", "20261209"]);
    expect(hourDays).toEqual(days);
  });

  it("1 Y of daily bars starts on the window's first day, and skips NYSE holidays", async () => {
    await fx.start({ now: () => NOW });
    const c = await fx.client();
    const daily = history(c, 3, 10_000);
    c.ib.reqHistoricalData(3, { ...MSFT } as Contract, "", "1 Y", BarSizeSetting.DAYS_ONE, "TRADES", 0, 1, false);
    const days = (await daily).map((b) => b.date);
    expect(days[0]).toBe("20251210");
    for (const holiday of ["20251225", "20260101", "20260403", "20260703", "20261126"]) expect(days).not.toContain(holiday);
    expect(days).toContain("20261127"); // the early close trades
  });
});
