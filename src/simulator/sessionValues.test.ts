/**
 * Issue 12, finding 7: OPEN (14) and CLOSE (9) are the regular session's official values, and a closed
 * market looks closed (no new quotes, sizes or depth), as IB's data does.
 */
import { EventName, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { NEW_YORK } from "./market/sessions.js";
import { ymdToDay } from "./market/tz.js";
import { AAPL, afterPumpTurns, roundTrip, runningClock, useFixture } from "./testing/harness.js";

const fx = useFixture();
const et = (y: number, m: number, d: number, hh: number, mm: number) => NEW_YORK.localToUtc(ymdToDay(y, m, d), hh * 60 + mm);

async function sessionTicks(nowMs: number): Promise<{ open?: number; close?: number }> {
  await fx.start({ now: () => nowMs, tickIntervalMs: 20 });
  const c = await fx.client();
  const got: { open?: number; close?: number } = {};
  c.ib.on(EventName.tickPrice, (_id: number, type: number, price: number) => {
    if (type === 14) got.open = price;
    if (type === 9) got.close = price;
  });
  c.ib.reqMktData(1, { ...AAPL } as Contract, "", false, false);
  await roundTrip(c);
  return got;
}

const minuteBar = (startMs: number) => {
  const aapl = fx.sim.market.findContracts({ symbol: "AAPL", secType: "STK" })[0]!;
  const s = startMs / 1000;
  return fx.sim.market.bars(aapl, { barSize: 60, fromSec: s, toSec: s + 60, useRTH: false, whatToShow: "TRADES" })[0]!;
};

describe("session values", () => {
  it("sends the 09:30 open and the previous 16:00 close, not the 04:00 and 20:00 extended-hours prints", async () => {
    const got = await sessionTicks(et(2026, 11, 18, 11, 0));
    expect(got.open).toBe(Number(minuteBar(et(2026, 11, 18, 9, 30)).open));
    expect(got.close).toBe(Number(minuteBar(et(2026, 11, 17, 15, 59)).close));
    expect(got.open).not.toBe(Number(minuteBar(et(2026, 11, 18, 4, 0)).open));
  });

  it("takes the close of an early-close day (13:00) and has no OPEN before 09:30", async () => {
    const got = await sessionTicks(et(2026, 11, 30, 8, 0)); // Monday pre-market after Black Friday
    expect(got.close).toBe(Number(minuteBar(et(2026, 11, 27, 12, 59)).close));
    expect(got.open).toBeUndefined();
  });
});

describe("a closed market looks closed", () => {
  it("sends no quote, size or depth change while AAPL is closed (Saturday)", async () => {
    const sim = await fx.start({ now: runningClock(et(2026, 11, 21, 12, 0), 20), tickIntervalMs: 20, frozenWhenClosed: true });
    const c = await fx.client();
    let ticks = 0;
    let depthOps = 0;
    c.ib.reqMktData(1, { ...AAPL } as Contract, "", false, false);
    c.ib.reqMktDepth(2, { ...AAPL } as Contract, 5, false, []);
    await afterPumpTurns(sim, c, 2); // the initial state
    c.ib.on(EventName.tickPrice, () => ticks++);
    c.ib.on(EventName.tickSize, () => ticks++);
    c.ib.on(EventName.updateMktDepth, () => depthOps++);
    await afterPumpTurns(sim, c, 25); // 25 turns of 20 ms at 20× time: 10 simulated seconds
    expect({ ticks, depthOps }).toEqual({ ticks: 0, depthOps: 0 });
  });
});
