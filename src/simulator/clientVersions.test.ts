/**
 * Issue 12, findings 2–4: clients at older server versions. An unmodified @stoqey/ib client negotiates
 * whatever version the Gateway offers (100..193) and decodes each frame strictly by it (a missing or extra
 * field is a decode error), so offering 100, 101, 151, 162, 163 and 176 checks every layout the simulator
 * sends; a raw client checks what the strict decoder cannot see (integers vs decimals, messages that must
 * not be sent at all).
 */
import { connect } from "node:net";
import { EventName, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { AAPL, BTC, roundTrip, runningClock, useFixture } from "./testing/harness.js";
import { RawClient } from "./testing/rawClient.js";

const fx = useFixture();
const ACCOUNT = "DU1234567";

async function rawAt(version: number): Promise<RawClient> {
  await fx.start({ now: runningClock(), maxServerVersion: version });
  const r = await RawClient.connect(fx.sim.port);
  r.greet("v100..193");
  expect((await r.waitFor(() => true))[0]).toBe(String(version));
  r.send([71, 2, 5, ""]);
  await r.waitFor((f) => f[0] === "9");
  return r;
}

/** A request answered in order after everything before it: once CURRENT_TIME is back, all of that arrived. */
async function rawRoundTrip(r: RawClient): Promise<void> {
  const n = r.frames.filter((f) => f[0] === "49").length;
  r.send([49, 1]);
  await until(() => r.frames.filter((f) => f[0] === "49").length > n, { what: "currentTime" });
}

const C12 = (symbol: string, secType: string, exchange: string, currency: string) => ["0", symbol, secType, "", "", "", "", exchange, "", currency, "", ""];

describe("a client at each server version decodes every message it is sent", () => {
  it.each([100, 101, 151, 162, 163, 176])("server version %i: contract, L1 (+snapshot), depth (+SMART), bars (+updates), real-time bars, account, positions (+multi), PnL, tick-by-tick, historical ticks, head timestamp", async (sv) => {
    // 20× time: the 5-second real-time bar arrives after a quarter of a second.
    await fx.start({ now: runningClock(undefined, 20), maxServerVersion: sv, tickIntervalMs: 20 });
    const c = await fx.client();
    const seen = new Map<string, number>();
    const count = (k: string) => () => seen.set(k, (seen.get(k) ?? 0) + 1);
    for (const e of [EventName.contractDetailsEnd, EventName.tickPrice, EventName.tickSize, EventName.updateMktDepth, EventName.historicalData, EventName.realtimeBar, EventName.accountSummaryEnd, EventName.positionEnd, EventName.updatePortfolio, EventName.accountDownloadEnd, EventName.pnl, EventName.pnlSingle, EventName.tickByTickAllLast, EventName.tickReqParams, EventName.tickSnapshotEnd, EventName.positionMultiEnd, EventName.accountUpdateMultiEnd, EventName.headTimestamp, EventName.historicalDataUpdate, EventName.historicalTicksLast, EventName.updateMktDepthL2]) {
      (c.ib as unknown as { on(e: string, l: () => void): void }).on(e, count(e));
    }
    c.ib.reqContractDetails(1, { ...AAPL } as Contract);
    c.ib.reqMktData(2, { ...AAPL } as Contract, "233", false, false);
    c.ib.reqMktData(3, { ...BTC } as Contract, "", false, false);
    c.ib.reqMktDepth(4, { ...AAPL } as Contract, 5, false, []);
    c.ib.reqHistoricalData(5, { ...AAPL } as Contract, "", "2 D", "1 hour" as never, "TRADES" as never, 0, 1, false);
    c.ib.reqRealTimeBars(6, { ...AAPL } as Contract, 5, "TRADES" as never, false);
    c.ib.reqAccountSummary(7, "All", "NetLiquidation,TotalCashValue");
    c.ib.reqPositions();
    c.ib.reqAccountUpdates(true, ACCOUNT);
    if (sv >= 127) {
      c.ib.reqPnL(8, ACCOUNT, "");
      c.ib.reqPnLSingle(9, ACCOUNT, "", 265598);
    }
    if (sv >= 140) c.ib.reqTickByTickData(10, { ...AAPL } as Contract, "AllLast" as never, 0, false);
    c.ib.reqMktData(11, { ...AAPL } as Contract, "", true, false); // snapshot
    if (sv >= 103) {
      c.ib.reqPositionsMulti(12, ACCOUNT, "");
      c.ib.reqAccountUpdatesMulti(13, ACCOUNT, "", false);
    }
    if (sv >= 118) c.ib.reqHeadTimestamp(14, { ...AAPL } as Contract, "TRADES" as never, false, 2);
    if (sv >= 124) c.ib.reqHistoricalData(15, { ...AAPL } as Contract, "", "1800 S", "1 min" as never, "TRADES" as never, 0, 2, true);
    if (sv >= 130) c.ib.reqHistoricalTicks(16, { ...AAPL } as Contract, "", "20261118-15:00:00", 10, "TRADES" as never, 0, false);
    c.ib.reqMktDepth(17, { ...AAPL } as Contract, 3, sv >= 146, []); // SMART depth (msg 13) where the client can ask for it
    const want = [EventName.contractDetailsEnd, EventName.tickPrice, EventName.tickSize, EventName.updateMktDepth, EventName.historicalData, EventName.realtimeBar, EventName.accountSummaryEnd, EventName.positionEnd, EventName.updatePortfolio, EventName.accountDownloadEnd];
    if (sv >= 127) want.push(EventName.pnl, EventName.pnlSingle);
    if (sv >= 140) want.push(EventName.tickByTickAllLast);
    want.push(EventName.tickSnapshotEnd);
    if (sv >= 103) want.push(EventName.positionMultiEnd, EventName.accountUpdateMultiEnd);
    if (sv >= 118) want.push(EventName.headTimestamp);
    if (sv >= 124) want.push(EventName.historicalDataUpdate);
    if (sv >= 130) want.push(EventName.historicalTicksLast);
    if (sv >= 146) want.push(EventName.updateMktDepthL2);
    await until(() => want.every((e) => (seen.get(e) ?? 0) > 0), { timeoutMs: 10_000, what: `every answer at sv ${sv}` }).catch((e: Error) => {
      throw new Error(`${e.message}; missing: ${want.filter((w) => !seen.get(w)).join(", ")}; errors: ${JSON.stringify(c.errors)}`);
    });
    await roundTrip(c);
    expect(c.decodeErrors).toEqual([]);
    // msg 81 exists from sv 114; crypto (fractional sizes) needs sv 163.
    expect(seen.has(EventName.tickReqParams)).toBe(sv >= 114);
    const btcErrors = c.errors.filter((e) => e.reqId === 3).map((e) => e.code);
    expect(btcErrors).toEqual(sv >= 163 ? [] : [10285]);
  });
});

describe("fields gated by the version that introduced them", () => {
  it("sends positions and portfolio values as integers at 100 and as decimals from 101 (BTC 0.5)", async () => {
    for (const [sv, btc] of [
      [100, "0"],
      [101, "0.5"],
      [162, "0.5"],
    ] as const) {
      const r = await rawAt(sv);
      r.send([61, 1]);
      r.send([6, 2, 1, ACCOUNT]);
      await r.waitFor((f) => f[0] === "62");
      await r.waitFor((f) => f[0] === "54");
      expect(r.frames.find((f) => f[0] === "61" && f[4] === "BTC")![14]).toBe(btc);
      expect(r.frames.find((f) => f[0] === "7" && f[3] === "BTC")![13]).toBe(btc);
      r.close();
      await fx.stop();
    }
  });

  it("sends no TICK_REQ_PARAMS (msg 81) to a client at 100, and sends it at 114", async () => {
    for (const sv of [100, 114]) {
      const r = await rawAt(sv);
      r.send([1, 11, 21, ...C12("AAPL", "STK", "SMART", "USD"), 0, "", 0, 0, ""]);
      await r.waitFor((f) => f[0] === "1" && f[2] === "21");
      await rawRoundTrip(r);
      expect(r.frames.some((f) => f[0] === "81")).toBe(sv >= 114);
      r.close();
      await fx.stop();
    }
  });

  it("keeps crypto sizes whole-or-refused below 163: 10285 instead of sizes truncated to 0", async () => {
    const r = await rawAt(162);
    r.send([1, 11, 22, ...C12("BTC", "CRYPTO", "PAXOS", "USD"), 0, "", 0, 0, ""]);
    const err = await r.waitFor((f) => f[0] === "4" && f[2] === "22");
    expect(err.slice(3, 4)).toEqual(["10285"]);
    await rawRoundTrip(r);
    expect(r.frames.some((f) => (f[0] === "2" || f[0] === "1" || f[0] === "46") && f[2] === "22")).toBe(false);
  });
});

describe("requests are decoded by the version they carry", () => {
  it("reads reqContractDetails version 7 without primaryExch: AAPL/STK/SMART/EUR is not the USD listing (200)", async () => {
    const r = await rawAt(176);
    // Version 7: conId, symbol, secType, expiry, strike, right, multiplier, exchange, currency, localSymbol,
    // tradingClass, includeExpired, secIdType, secId, issuerId (sv 176).
    r.send([9, 7, 31, 0, "AAPL", "STK", "", "", "", "", "SMART", "EUR", "", "", 0, "", "", ""]);
    const answer = await r.waitFor((f) => (f[0] === "4" || f[0] === "10" || f[0] === "52") && (f[2] === "31" || f[1] === "31"));
    expect(answer[0]).toBe("4");
    expect(answer[3]).toBe("200");
    r.send([9, 7, 32, 0, "AAPL", "STK", "", "", "", "", "SMART", "USD", "", "", 0, "", "", ""]);
    const found = await r.waitFor((f) => f[0] === "10" && f[1] === "32");
    expect(found[2]).toBe("AAPL");
    // Version 8 still reads primaryExch.
    r.send([9, 8, 33, 0, "AAPL", "STK", "", "", "", "", "SMART", "NASDAQ", "USD", "", "", 0, "", "", ""]);
    await r.waitFor((f) => f[0] === "52" && f[2] === "33");
  });
});

describe("a pre-v100 client", () => {
  it("gets the legacy reply and an error it can show (506), then a close, instead of silence", async () => {
    await fx.start();
    const s = connect({ host: "127.0.0.1", port: fx.sim.port });
    const chunks: Buffer[] = [];
    let closed = false;
    s.on("data", (b: Buffer) => chunks.push(b));
    s.on("close", () => (closed = true));
    s.on("error", () => (closed = true));
    await new Promise<void>((resolve) => s.once("connect", () => resolve()));
    s.write("63\0"); // the legacy greeting: the client version, NUL-terminated
    await until(() => closed, { what: "the Gateway to answer and close" });
    const fields = Buffer.concat(chunks).toString("utf8").split("\0");
    expect(fields[0]).toBe("176");
    expect(fields.slice(2, 6)).toEqual(["4", "2", "-1", "506"]);
    expect(fields[6]).toMatch(/version 100 or later/);
  });
});
