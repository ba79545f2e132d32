import { BarSizeSetting, EventName, TickByTickDataType, WhatToShow, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { AAPL, BTC, ETH, MSFT, SPY, roundTrip, runningClock, sleep, useFixture } from "./testing/harness.js";
import { RawClient } from "./testing/rawClient.js";

const fx = useFixture();

describe("IB limits", () => {
  it("101 beyond the market data lines (real-time bars count too)", async () => {
    await fx.start({ now: runningClock(), limits: { marketDataLines: 2 } });
    const c = await fx.client();
    c.ib.reqMktData(1, { ...AAPL } as Contract, "", false, false);
    c.ib.reqRealTimeBars(2, { ...MSFT } as Contract, 5, WhatToShow.TRADES, false);
    c.ib.reqMktData(3, { ...SPY } as Contract, "", false, false);
    const e = await c.errorFor(3);
    expect(e).toMatchObject({ code: 101, message: "Max number of tickers has been reached." });
    // Freeing a line makes room again.
    c.ib.cancelMktData(1);
    c.ib.reqMktData(4, { ...SPY } as Contract, "", false, false);
    // Requests are handled in order: an error for 4 would arrive before this answer.
    await roundTrip(c);
    expect(c.errors.find((x) => x.reqId === 4)).toBeUndefined();
  });

  it("102 for a reused active request id", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    c.ib.reqMktData(5, { ...AAPL } as Contract, "", false, false);
    await sleep(30);
    c.ib.reqMktData(5, { ...MSFT } as Contract, "", false, false);
    expect(await c.errorFor(5)).toMatchObject({ code: 102, message: "Duplicate ticker ID." });
  });

  it("309 beyond 3 depth subscriptions, 10190 beyond the tick-by-tick limit", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    for (const id of [1, 2, 3, 4]) c.ib.reqMktDepth(id, { ...BTC } as Contract, 5, false, []);
    expect(await c.errorFor(4)).toMatchObject({ code: 309, message: "Max number (3) of market depth requests has been reached" });
    for (const id of [11, 12, 13, 14]) c.ib.reqTickByTickData(id, { ...ETH } as Contract, TickByTickDataType.AllLast, 0, false);
    expect(await c.errorFor(14)).toMatchObject({ code: 10190, message: "Max number of tick-by-tick requests has been reached." });
  });

  it("162 pacing: identical request within 15 s, 6 same-contract requests within 2 s, window count", async () => {
    await fx.start({ now: runningClock(), limits: { historicalMaxInWindow: 9 } });
    const c = await fx.client();
    const pacing = "Historical Market Data Service error message:Historical data request pacing violation";
    c.ib.reqHistoricalData(1, { ...AAPL } as Contract, "", "1 D", BarSizeSetting.MINUTES_FIVE, "TRADES", 1, 2, false);
    c.ib.reqHistoricalData(2, { ...AAPL } as Contract, "", "1 D", BarSizeSetting.MINUTES_FIVE, "TRADES", 1, 2, false);
    expect(await c.errorFor(2)).toMatchObject({ code: 162, message: pacing });
    for (const [i, d] of ["2 D", "3 D", "4 D", "5 D"].entries()) {
      c.ib.reqHistoricalData(10 + i, { ...AAPL } as Contract, "", d, BarSizeSetting.MINUTES_FIVE, "TRADES", 1, 2, false);
    }
    c.ib.reqHistoricalData(20, { ...AAPL } as Contract, "", "6 D", BarSizeSetting.MINUTES_FIVE, "TRADES", 1, 2, false);
    expect(await c.errorFor(20)).toMatchObject({ code: 162, message: pacing });
    for (let i = 10; i < 14; i++) expect(c.errors.find((e) => e.reqId === i)).toBeUndefined();
    // 5 admitted so far; 4 more on other contracts fill the window of 9, the next one is refused.
    for (const [i, k] of [MSFT, SPY, BTC, ETH].entries()) {
      const what = k.secType === "CRYPTO" ? "AGGTRADES" : "TRADES";
      c.ib.reqHistoricalData(30 + i, { ...k } as Contract, "", "1 D", BarSizeSetting.HOURS_ONE, what, 0, 2, false);
    }
    c.ib.reqHistoricalData(40, { ...MSFT } as Contract, "", "2 D", BarSizeSetting.HOURS_ONE, "TRADES", 0, 2, false);
    expect(await c.errorFor(40)).toMatchObject({ code: 162, message: pacing });
  });

  it("322 beyond 50 open historical requests", async () => {
    await fx.start({
      now: runningClock(),
      historicalLatencyMs: 1500,
      limits: { maxMessagesPerSec: 1000, historicalSameContractMax: 1000, historicalMaxInWindow: 1000 },
    });
    const c = await fx.client();
    for (let i = 0; i < 51; i++) {
      c.ib.reqHistoricalData(100 + i, { ...BTC } as Contract, "", `${i + 1} D`, BarSizeSetting.DAYS_ONE, "AGGTRADES", 0, 2, false);
    }
    const e = await c.errorFor(150);
    expect(e.code).toBe(322);
    expect(e.message).toContain("Only 50 simultaneous API historical data requests allowed.");
    expect(c.errors.filter((x) => x.reqId < 150)).toEqual([]);
    // Cancelling a request in flight: 162 "query cancelled".
    c.ib.cancelHistoricalData(100);
    expect((await c.errorFor(100)).code).toBe(162);
  });

  it("rejects TRADES history for crypto with 10299 (AGGTRADES works)", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    c.ib.reqHistoricalData(1, { ...BTC } as Contract, "", "1 D", BarSizeSetting.HOURS_ONE, "TRADES", 0, 2, false);
    expect((await c.errorFor(1)).code).toBe(10299);
    let done = false;
    c.ib.on(EventName.historicalData, (id: number, date: string) => {
      if (id === 2 && date.startsWith("finished")) done = true;
    });
    c.ib.reqHistoricalData(2, { ...BTC } as Contract, "", "1 D", BarSizeSetting.HOURS_ONE, "AGGTRADES", 0, 2, false);
    await until(() => done, { what: "the AGGTRADES bars" });
  });

  it("100 beyond the message rate, and a disconnect after repeated violations", async () => {
    await fx.start({ now: runningClock(), limits: { maxMessagesPerSec: 10, maxRateViolations: 2 } });
    const r = await RawClient.connect(fx.sim.port);
    try {
      r.greet();
      await r.waitFor(() => true);
      r.send([71, 2, 9, ""]);
      await r.waitFor((f) => f[0] === "9");
      for (let i = 0; i < 15; i++) r.send([49, 1]);
      const err = await r.waitFor((f) => f[0] === "4" && f[3] === "100");
      expect(err).toEqual(["4", "2", "-1", "100", "Max rate of messages per second has been exceeded.", ""]);
      expect(r.frames.filter((f) => f[0] === "49").length).toBe(10);
      expect(r.closed).toBe(false);
      await sleep(1050);
      for (let i = 0; i < 15; i++) r.send([49, 1]);
      await r.waitClosed();
    } finally {
      r.close();
    }
  });
});
