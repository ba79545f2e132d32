import { BarSizeSetting, EventName, IBApiNext, WhatToShow, type Contract, type HistoricalTick, type HistoricalTickBidAsk, type HistoricalTickLast } from "@stoqey/ib";
import { lastValueFrom } from "rxjs";
import { describe, expect, it } from "vitest";
import { historicalTicks, type HistoricalTicksQuery } from "./feeds/historicalTicks.js";
import type { InstrumentSpec, Trade } from "./market/types.js";
import { until } from "../testing/until.js";
import { AAPL, BTC, EURUSD, SESSION_TIME_MS, type TestClient, useFixture } from "./testing/harness.js";
import { RawClient } from "./testing/rawClient.js";

const fx = useFixture();

/** "yyyyMMdd-HH:mm:ss" (UTC) of an epoch second. */
const utc = (sec: number) => new Date(sec * 1000).toISOString().replace(/-/g, "").replace("T", "-").slice(0, 17);

function inst(symbol: string, secType: string): InstrumentSpec {
  const found = fx.sim.market.findContracts({ symbol, secType });
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** IB's rule from the model: the last n trades at or before endSec, plus the rest of the earliest second. */
function lastTrades(trades: readonly Trade[], n: number): Trade[] {
  let i = Math.max(0, trades.length - n);
  const sec = (t: Trade) => Math.floor(t.timeMs / 1000);
  while (i > 0 && sec(trades[i - 1]!) === sec(trades[i]!)) i--;
  return trades.slice(i);
}

type Answer<T> = { ticks: T[]; done: boolean };
function answer<T>(c: TestClient, event: EventName, reqId: number, timeoutMs = 5000): Promise<Answer<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} for ${reqId}`)), timeoutMs);
    const on = (id: number, ticks: T[], done: boolean) => {
      if (id !== reqId) return;
      clearTimeout(timer);
      resolve({ ticks, done });
    };
    (c.ib as unknown as { on(e: string, l: typeof on): void }).on(event, on);
  });
}

const NOW = SESSION_TIME_MS; // Wed 10:00 New York
const END = NOW / 1000 - 30;

describe("reqHistoricalTicks (OUT 96)", () => {
  it("TRADES with an end time: the last numberOfTicks model trades up to it (IN 98), IB's second completed", async () => {
    await fx.start({ now: () => NOW });
    const c = await fx.client();
    const aapl = inst("AAPL", "STK");
    const p = answer<HistoricalTickLast>(c, EventName.historicalTicksLast, 1);
    c.ib.reqHistoricalTicks(1, { ...AAPL } as Contract, "", utc(END), 100, WhatToShow.TRADES, 0, false);
    const { ticks, done } = await p;
    expect(done).toBe(true);
    const expected = lastTrades(fx.sim.market.trades(aapl, (END - 3600) * 1000, (END + 1) * 1000), 100);
    expect(ticks.length).toBeGreaterThanOrEqual(100);
    expect(ticks.length).toBe(expected.length);
    // More than asked only to complete the earliest second.
    for (const t of ticks.slice(0, ticks.length - 100)) expect(t.time).toBe(ticks[ticks.length - 100]!.time);
    ticks.forEach((t, i) => {
      const e = expected[i]!;
      expect(t.time).toBe(Math.floor(e.timeMs / 1000));
      expect(t.price).toBe(Number(e.price));
      expect(t.size).toBe(Number(e.size));
      expect(t.exchange).toBe(e.exchange);
      expect(t.specialConditions).toBe("");
      expect(t.tickAttribLast).toEqual({ pastLimit: false, unreported: false });
    });
    expect(ticks.at(-1)!.time).toBeLessThanOrEqual(END);
    expect(ticks.at(-1)!.time).toBeGreaterThan(END - 60);
  });

  it("puts the exact field layout on the wire (raw): 98, reqId, n, {time, mask, price, size, exchange, conditions}, done", async () => {
    await fx.start({ now: () => NOW });
    const aapl = inst("AAPL", "STK");
    const r = await RawClient.connect(fx.sim.port);
    try {
      r.greet();
      await r.waitFor(() => true);
      r.send([71, 2, 9, ""]);
      await r.waitFor((f) => f[0] === "9");
      const c12 = [0, "AAPL", "STK", "", "", "", "", "SMART", "", "USD", "", ""];
      r.send([96, 5, ...c12, 0, "", utc(END), 1, "TRADES", 0, 0, ""]);
      const f = await r.waitFor((x) => x[0] === "98");
      const all = fx.sim.market.trades(aapl, (END - 3600) * 1000, (END + 1) * 1000);
      const exp = lastTrades(all, 1);
      const body = exp.flatMap((t) => [String(Math.floor(t.timeMs / 1000)), "0", t.price, t.size, t.exchange, ""]);
      expect(f).toEqual(["98", "5", String(exp.length), ...body, "1"]);
      r.send([96, 6, ...c12, 0, "", utc(END), 1, "MIDPOINT", 0, 0, ""]);
      const m = await r.waitFor((x) => x[0] === "96");
      expect(m.slice(0, 2)).toEqual(["96", "6"]);
      expect(m.length).toBe(3 + 4 * Number(m[2]) + 1);
      expect([m[4], m[6], m.at(-1)]).toEqual(["0", "0", "1"]);
      r.send([96, 7, ...c12, 0, "", utc(END), 1, "BID_ASK", 0, 1, ""]);
      const b = await r.waitFor((x) => x[0] === "97");
      expect(b.length).toBe(3 + 6 * Number(b[2]) + 1);
      expect(b.at(-1)).toBe("1");
    } finally {
      r.close();
    }
  });

  it("TRADES with a start time via IBApiNext.getHistoricalTicksLast: the first ones from it (crypto TRADES is fine for ticks)", async () => {
    await fx.start({ now: () => NOW });
    const btc = inst("BTC", "CRYPTO");
    const next = new IBApiNext({ host: "127.0.0.1", port: fx.sim.port });
    try {
      next.connect(47);
      const start = NOW / 1000 - 3600; // 09:00 New York
      const got = await lastValueFrom(next.getHistoricalTicksLast({ ...BTC } as Contract, "20261118 09:00:00 US/Eastern", "", 50, false));
      const all = fx.sim.market.trades(btc, start * 1000, (start + 600) * 1000);
      let j = 50;
      while (j < all.length && Math.floor(all[j]!.timeMs / 1000) === Math.floor(all[49]!.timeMs / 1000)) j++;
      const expected = all.slice(0, j);
      expect(got.length).toBe(expected.length);
      expect(got.map((t) => [t.time, t.price, t.size])).toEqual(expected.map((t) => [Math.floor(t.timeMs / 1000), Number(t.price), Number(t.size)]));
      expect(got[0]!.time).toBeGreaterThanOrEqual(start);
    } finally {
      next.disconnect();
    }
  });

  it("BID_ASK (IN 97) and MIDPOINT (IN 96) decode and equal the model's book changes", async () => {
    await fx.start({ now: () => NOW, limits: { historicalSameContractMax: 100 } });
    const c = await fx.client();
    const aapl = inst("AAPL", "STK");
    const q = (what: HistoricalTicksQuery["what"], ignoreSize: boolean) =>
      historicalTicks(fx.sim.market, aapl, { what, toMs: (END + 1) * 1000, nowMs: NOW, numberOfTicks: 200, useRth: false, ignoreSize });
    for (const [id, ignoreSize] of [[1, false], [2, true]] as const) {
      const p = answer<HistoricalTickBidAsk>(c, EventName.historicalTicksBidAsk, id);
      c.ib.reqHistoricalTicks(id, { ...AAPL } as Contract, "", utc(END), 200, WhatToShow.BID_ASK, false, ignoreSize);
      const { ticks, done } = await p;
      expect(done).toBe(true);
      const expected = q("BID_ASK", ignoreSize);
      expect(ticks.length).toBe(expected.length);
      expect(ticks.length).toBeGreaterThanOrEqual(200);
      ticks.forEach((t, i) => {
        const e = expected[i]!;
        expect([t.time, t.priceBid, t.priceAsk, t.sizeBid, t.sizeAsk]).toEqual([Math.floor(e.timeMs / 1000), Number(e.bid), Number(e.ask), Number(e.bidSize), Number(e.askSize)]);
        expect(t.priceBid!).toBeLessThan(t.priceAsk!);
        expect(t.tickAttribBidAsk).toEqual({ bidPastLow: false, askPastHigh: false });
        if (i > 0) expect(t.time).toBeGreaterThanOrEqual(ticks[i - 1]!.time!);
        // ignoreSize: only price changes are ticks.
        if (ignoreSize && i > 0) expect([t.priceBid, t.priceAsk]).not.toEqual([ticks[i - 1]!.priceBid, ticks[i - 1]!.priceAsk]);
      });
      expect(ticks.at(-1)!.time).toBeLessThanOrEqual(END);
    }
    const p = answer<HistoricalTick>(c, EventName.historicalTicks, 3);
    c.ib.reqHistoricalTicks(3, { ...AAPL } as Contract, "", utc(END), 200, WhatToShow.MIDPOINT, false, false);
    const { ticks, done } = await p;
    expect(done).toBe(true);
    const expected = q("MIDPOINT", false);
    expect(ticks.map((t) => [t.time, t.price, t.size])).toEqual(expected.map((e) => [Math.floor(e.timeMs / 1000), Number(e.price), 0]));
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.price).not.toBe(ticks[i - 1]!.price);
  });

  it("answers an empty list (done) when nothing traded since the start", async () => {
    await fx.start({ now: () => NOW });
    const c = await fx.client();
    const p = answer<HistoricalTickLast>(c, EventName.historicalTicksLast, 1);
    c.ib.reqHistoricalTicks(1, { ...AAPL } as Contract, utc(NOW / 1000 + 3600), "", 10, WhatToShow.TRADES, 0, false);
    expect(await p).toEqual({ ticks: [], done: true });
  });

  it("errors like IB: 200, 321 (numberOfTicks, start/end, whatToShow, date), 162 (permissions, forex trades, pacing); no cancel", async () => {
    await fx.start({ now: () => NOW, limits: { historicalMaxInWindow: 4 } });
    const c = await fx.client();
    const req = (id: number, contract: object, start: string, end: string, n: number, what: string) =>
      c.ib.reqHistoricalTicks(id, contract as Contract, start, end, n, what as WhatToShow, 0, false);
    req(1, { symbol: "NOPE", secType: "STK", exchange: "SMART", currency: "USD" }, "", utc(END), 10, "TRADES");
    expect(await c.errorFor(1)).toMatchObject({ code: 200 });
    req(2, AAPL, "", utc(END), 1001, "TRADES");
    expect((await c.errorFor(2)).code).toBe(321);
    req(3, AAPL, utc(END - 60), utc(END), 10, "TRADES");
    expect((await c.errorFor(3)).code).toBe(321);
    req(4, AAPL, "", "", 10, "TRADES");
    expect((await c.errorFor(4)).code).toBe(321);
    req(5, BTC, "", utc(END), 10, "AGGTRADES");
    expect((await c.errorFor(5)).code).toBe(321);
    req(6, AAPL, "", "yesterday", 10, "TRADES");
    expect((await c.errorFor(6)).code).toBe(321);
    req(7, { symbol: "SAP", secType: "STK", exchange: "SMART", currency: "EUR" }, "", utc(END), 10, "TRADES");
    expect(await c.errorFor(7)).toMatchObject({ code: 162, message: expect.stringContaining("No market data permissions") });
    req(8, EURUSD, "", utc(END), 10, "TRADES");
    expect((await c.errorFor(8)).code).toBe(162);
    expect(c.errors.filter((e) => e.code === 162 && /pacing/.test(e.message))).toEqual([]);
    // Pacing: an identical request within 15 s; ticks and bars share the window (BID_ASK counts twice).
    const pacing = "Historical Market Data Service error message:Historical data request pacing violation";
    let got = 0;
    c.ib.on(EventName.historicalTicksLast, () => got++);
    req(10, AAPL, "", utc(END), 10, "TRADES");
    req(11, AAPL, "", utc(END), 10, "TRADES");
    expect(await c.errorFor(11)).toMatchObject({ code: 162, message: pacing });
    await until(() => got === 1, { what: "the first request's ticks" });
    // No cancel at IB: cancelHistoricalData does not find a historical ticks request.
    c.ib.cancelHistoricalData(10);
    expect((await c.errorFor(10)).code).toBe(366);
    req(12, BTC, "", utc(END), 10, "BID_ASK"); // 1 + 2 = 3 of 4
    c.ib.reqHistoricalData(13, { ...BTC } as Contract, "", "1 D", BarSizeSetting.HOURS_ONE, "AGGTRADES", 0, 2, false); // 4 of 4
    req(14, BTC, "", utc(END), 10, "MIDPOINT");
    expect(await c.errorFor(14)).toMatchObject({ code: 162, message: pacing });
    expect(c.errors.filter((e) => e.reqId === 12 || e.reqId === 13)).toEqual([]);
  });
});

describe("historical ticks from the model", () => {
  it("are window-independent: a shorter answer is the tail of a longer one; quote ticks are book changes", async () => {
    await fx.start({ now: () => NOW });
    const market = fx.sim.market;
    for (const [sym, secType] of [["AAPL", "STK"], ["BTC", "CRYPTO"], ["EUR", "CASH"]] as const) {
      const i = inst(sym, secType);
      for (const what of ["TRADES", "BID_ASK", "MIDPOINT"] as const) {
        const q = { what, toMs: (END + 1) * 1000, nowMs: NOW, useRth: false, ignoreSize: false };
        const long = historicalTicks(market, i, { ...q, numberOfTicks: 1000 });
        const short = historicalTicks(market, i, { ...q, numberOfTicks: 300 });
        expect(long.slice(-short.length), `${sym} ${what}`).toEqual(short);
        if (what === "BID_ASK") {
          for (const t of short.slice(0, 50)) {
            const now = market.quote(i, t.timeMs);
            const before = market.quote(i, t.timeMs - 1);
            expect([t.bid, t.ask, t.bidSize, t.askSize]).toEqual([now.bid, now.ask, now.bidSize, now.askSize]);
            expect([before.bid, before.ask, before.bidSize, before.askSize]).not.toEqual([now.bid, now.ask, now.bidSize, now.askSize]);
          }
        }
      }
    }
  });

  it("reaches back over a weekend for a closed stock and stops at the cap", async () => {
    await fx.start({ now: () => NOW });
    const aapl = inst("AAPL", "STK");
    const sunday = Date.UTC(2026, 10, 15, 12);
    const t0 = performance.now();
    const ticks = historicalTicks(fx.sim.market, aapl, { what: "BID_ASK", toMs: sunday, nowMs: NOW, numberOfTicks: 1000, useRth: true, ignoreSize: true });
    // A bound against a runaway walk back, not a timing: CI's two cores also run other test files.
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(ticks.length).toBeGreaterThanOrEqual(1000);
    // Friday's regular session ends 16:00 New York = 21:00 UTC.
    expect(ticks.at(-1)!.timeMs).toBeLessThan(Date.UTC(2026, 10, 13, 21));
    expect(ticks.at(-1)!.timeMs).toBeGreaterThan(Date.UTC(2026, 10, 13, 20));
    // A start after now: nothing (no future data).
    const none = historicalTicks(fx.sim.market, aapl, { what: "TRADES", fromMs: NOW + 1000, nowMs: NOW, numberOfTicks: 10, useRth: false, ignoreSize: false });
    expect(none).toEqual([]);
  });
});
