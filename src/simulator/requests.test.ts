import { EventName, IBApiNext, TickByTickDataType, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { AAPL, afterPumpTurns, BTC, ES, ETH, EURUSD, MSFT, roundTrip, SPY, runningClock, type TestClient, useFixture } from "./testing/harness.js";

const fx = useFixture();

function collect<T extends unknown[]>(c: TestClient, event: EventName): T[] {
  const out: T[] = [];
  (c.ib as unknown as { on(e: string, l: (...a: unknown[]) => void): void }).on(event, (...args: unknown[]) => out.push(args as T));
  return out;
}

describe("housekeeping", () => {
  it("answers current time, reqIds and reqManagedAccts", async () => {
    const now = runningClock();
    await fx.start({ now, accounts: ["DU1234567", "DU7654321"] });
    const c = await fx.client();
    const times = collect<[number]>(c, EventName.currentTime);
    const ids = collect<[number]>(c, EventName.nextValidId);
    const accts = collect<[string]>(c, EventName.managedAccounts);
    c.ib.reqCurrentTime();
    c.ib.reqIds(1);
    c.ib.reqManagedAccts();
    await until(() => times.length > 0 && ids.length > 0 && accts.length > 0, { what: "currentTime, nextValidId and managedAccounts" });
    expect(Math.abs(times[0]![0] - now() / 1000)).toBeLessThan(3);
    expect(ids[0]![0]).toBe(1);
    expect(accts[0]![0]).toBe("DU1234567,DU7654321");
  });
});

describe("contract details", () => {
  it("resolves the built-in universe and ends every request with contractDetailsEnd", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    const details = collect<[number, { contract: Contract; minTick: number; longName: string }]>(c, EventName.contractDetails);
    const ends = collect<[number]>(c, EventName.contractDetailsEnd);
    const queries = [AAPL, MSFT, SPY, BTC, ETH, ES, EURUSD];
    queries.forEach((q, i) => c.ib.reqContractDetails(100 + i, { ...q } as Contract));
    await until(() => ends.length === queries.length, { what: "every contractDetailsEnd" });
    const by = (id: number) => details.filter(([r]) => r === id).map(([, d]) => d);
    expect(by(100)[0]!.contract.conId).toBe(265598);
    expect(by(103)[0]!.contract).toMatchObject({ symbol: "BTC", secType: "CRYPTO", exchange: "PAXOS", currency: "USD" });
    expect(by(105).length).toBeGreaterThanOrEqual(1);
    for (const d of by(105)) expect(d.contract.lastTradeDateOrContractMonth).toMatch(/^\d{8}$/);
    expect(by(106)[0]!.contract).toMatchObject({ symbol: "EUR", secType: "CASH", localSymbol: "EUR.USD" });
  });

  it("answers an unknown contract with 200, and IBApiNext rejects on it", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    c.ib.reqContractDetails(7, { symbol: "BTCUSDT", secType: "CRYPTO", exchange: "PAXOS", currency: "USD" } as Contract);
    const e = await c.errorFor(7);
    expect(e.code).toBe(200);
    expect(e.message).toBe("No security definition has been found for the request");

    const next = new IBApiNext({ host: "127.0.0.1", port: fx.sim.port });
    try {
      next.connect(44);
      const list = await next.getContractDetails({ ...BTC } as Contract);
      expect(list[0]!.contract.conId).toBe(479624278);
      await expect(next.getContractDetails({ symbol: "NOPE", secType: "STK", exchange: "SMART", currency: "USD" } as Contract)).rejects.toMatchObject({ code: 200 });
    } finally {
      next.disconnect();
    }
  });
});

describe("market data", () => {
  it("streams tickReqParams, marketDataType, prices with explicit sizes (incl. BID_SIZE), last, volume", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const c = await fx.client();
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    const sizes = collect<[number, number, number]>(c, EventName.tickSize);
    const params = collect<[number, number, string, number]>(c, EventName.tickReqParams);
    const types = collect<[number, number]>(c, EventName.marketDataType);
    c.ib.reqMktData(1, { ...BTC } as Contract, "233", false, false);
    await until(() => prices.filter(([id, t]) => id === 1 && t === 4).length >= 2, { what: "two LAST ticks" });
    expect(params[0]![0]).toBe(1);
    expect(types[0]).toEqual([1, 1]);
    const priceTypes = new Set(prices.map(([, t]) => t));
    for (const t of [1, 2, 4, 6, 7, 9, 14]) expect(priceTypes).toContain(t);
    const sizeTypes = new Set(sizes.map(([, t]) => t));
    for (const t of [0, 3, 5, 8]) expect(sizeTypes).toContain(t);
    const bid = prices.filter(([, t]) => t === 1).at(-1)![2];
    const ask = prices.filter(([, t]) => t === 2).at(-1)![2];
    expect(bid).toBeLessThan(ask);
    // Fractional crypto sizes survive.
    expect(sizes.some(([, , s]) => !Number.isInteger(s))).toBe(true);
    c.ib.cancelMktData(1);
    await roundTrip(c); // the cancel is handled; ticks sent before it have arrived
    const n = prices.length;
    await afterPumpTurns(fx.sim, c);
    expect(prices.length).toBe(n);
  });

  it("IBApiNext.getMarketData sees bid size (tick type 0)", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const next = new IBApiNext({ host: "127.0.0.1", port: fx.sim.port });
    try {
      next.connect(45);
      const ticks = await new Promise<Map<number, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no bid size")), 5000);
        const sub = next.getMarketData({ ...AAPL } as Contract, "", false, false).subscribe({
          next: (u) => {
            if (u.all.has(0) && u.all.has(1) && u.all.has(2) && u.all.has(3)) {
              clearTimeout(timer);
              sub.unsubscribe();
              resolve(u.all as Map<number, unknown>);
            }
          },
          error: reject,
        });
      });
      expect(ticks.has(0)).toBe(true);
    } finally {
      next.disconnect();
    }
  });

  it("ends a snapshot with tickSnapshotEnd", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    const ends = collect<[number]>(c, EventName.tickSnapshotEnd);
    c.ib.reqMktData(3, { ...AAPL } as Contract, "", true, false);
    await until(() => ends.length === 1, { what: "tickSnapshotEnd" });
    expect(ends[0]![0]).toBe(3);
    expect(prices.filter(([id]) => id === 3).map(([, t]) => t)).toEqual(expect.arrayContaining([1, 2, 4]));
  });

  it("delayed-only: live request → 10089; after reqMarketDataType(3) → 10167 then delayed tick types", async () => {
    await fx.start({ now: runningClock(), entitlements: { AAPL: "delayed-only" } });
    const c = await fx.client();
    c.ib.reqMktData(4, { ...AAPL } as Contract, "", false, false);
    expect((await c.errorFor(4)).code).toBe(10089);
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    const sizes = collect<[number, number, number]>(c, EventName.tickSize);
    const types = collect<[number, number]>(c, EventName.marketDataType);
    c.ib.reqMarketDataType(3);
    c.ib.reqMktData(5, { ...AAPL } as Contract, "", false, false);
    expect((await c.errorFor(5)).code).toBe(10167);
    await until(() => prices.some(([id, t]) => id === 5 && t === 68), { what: "a delayed LAST tick (68)" });
    expect(types).toContainEqual([5, 3]);
    const pt = new Set(prices.filter(([id]) => id === 5).map(([, t]) => t));
    expect(pt.has(66) && pt.has(67)).toBe(true);
    expect([...pt].every((t) => t >= 66 && t <= 76)).toBe(true);
    // Explicit DELAYED_BID_SIZE (69), DELAYED_ASK_SIZE (70), DELAYED_LAST_SIZE (71).
    for (const t of [69, 70, 71]) expect(sizes.some(([id, tt]) => id === 5 && tt === t)).toBe(true);
  });

  it("no permission → 354", async () => {
    await fx.start({ now: runningClock(), entitlements: { MSFT: "none" } });
    const c = await fx.client();
    c.ib.reqMktData(6, { ...MSFT } as Contract, "", false, false);
    const e = await c.errorFor(6);
    expect(e.code).toBe(354);
    expect(e.message).toBe("Requested market data is not subscribed.");
  });
});

type Level = { price: number; size: number };
function book() {
  return { bids: [] as Level[], asks: [] as Level[] };
}
function apply(b: ReturnType<typeof book>, position: number, operation: number, side: number, price: number, size: number) {
  const rows = side === 1 ? b.bids : b.asks;
  if (operation === 0) rows.splice(position, 0, { price, size });
  else if (operation === 1) {
    expect(position).toBeLessThan(rows.length);
    rows[position] = { price, size };
  } else {
    expect(position).toBeLessThan(rows.length);
    rows.splice(position, 1);
  }
}
/** Resolves once the server has answered a request sent now, i.e. after everything it wrote before. */
function checkBook(b: ReturnType<typeof book>, rows: number) {
  expect(b.bids.length).toBe(rows);
  expect(b.asks.length).toBe(rows);
  for (let i = 1; i < rows; i++) {
    expect(b.bids[i]!.price).toBeLessThan(b.bids[i - 1]!.price);
    expect(b.asks[i]!.price).toBeGreaterThan(b.asks[i - 1]!.price);
  }
  expect(b.bids[0]!.price).toBeLessThan(b.asks[0]!.price);
  for (const l of [...b.bids, ...b.asks]) expect(l.size).toBeGreaterThan(0);
}

describe("market depth", () => {
  it("keeps a consistent single-exchange book with msg 12 (updateMktDepth)", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const c = await fx.client();
    const b = book();
    let n = 0;
    c.ib.on(EventName.updateMktDepth, (id: number, pos: number, op: number, side: number, price: number, size: number) => {
      if (id !== 8) return;
      n++;
      apply(b, pos, op, side, price, size);
    });
    const l2 = collect(c, EventName.updateMktDepthL2);
    c.ib.reqMktDepth(8, { ...BTC } as Contract, 5, false, []);
    await until(() => n > 30, { what: "depth updates" });
    // A pump's operations may arrive in several chunks: check the book on a pump boundary, after the cancel.
    c.ib.cancelMktDepth(8, false);
    await roundTrip(c);
    checkBook(b, 5);
    expect(l2.length).toBe(0);
  });

  it("sends SMART depth as msg 13 with market makers and isSmartDepth", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const c = await fx.client();
    const b = book();
    const mms = new Set<string>();
    let smart = true;
    let n = 0;
    c.ib.on(EventName.updateMktDepthL2, (id: number, pos: number, mm: string, op: number, side: number, price: number, size: number, isSmart?: boolean) => {
      if (id !== 9) return;
      n++;
      mms.add(mm);
      smart &&= isSmart === true;
      apply(b, pos, op, side, price, size);
    });
    c.ib.reqMktDepth(9, { ...AAPL } as Contract, 10, true, []);
    await until(() => n > 40, { what: "L2 updates" });
    c.ib.cancelMktDepth(9, true);
    await roundTrip(c);
    checkBook(b, 10);
    expect(smart).toBe(true);
    expect([...mms].every((m) => m.length > 0)).toBe(true);
  });
});

describe("tick-by-tick", () => {
  it("streams AllLast and Last trades, BidAsk and MidPoint quotes", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20, limits: { maxTickByTick: 4 } });
    const c = await fx.client();
    const last = collect<[number, number, string, number, number]>(c, EventName.tickByTickAllLast);
    const ba = collect<[number, string, number, number, number, number]>(c, EventName.tickByTickBidAsk);
    const mid = collect<[number, string, number]>(c, EventName.tickByTickMidPoint);
    c.ib.reqTickByTickData(11, { ...BTC } as Contract, TickByTickDataType.AllLast, 0, false);
    c.ib.reqTickByTickData(12, { ...BTC } as Contract, TickByTickDataType.Last, 0, false);
    c.ib.reqTickByTickData(13, { ...BTC } as Contract, TickByTickDataType.BidAsk, 0, false);
    c.ib.reqTickByTickData(14, { ...BTC } as Contract, TickByTickDataType.MidPoint, 0, false);
    await until(() => last.some(([id]) => id === 11) && last.some(([id]) => id === 12) && ba.length > 1 && mid.length > 1, { timeoutMs: 8000, what: "tick-by-tick" });
    const all = last.filter(([id]) => id === 11);
    expect(all[0]![1]).toBe(2);
    expect(last.find(([id]) => id === 12)![1]).toBe(1);
    for (const [, , time, price, size] of all) {
      expect(time).toMatch(/^\d{10}$/);
      expect(price).toBeGreaterThan(0);
      expect(size).toBeGreaterThan(0);
    }
    for (const [, , bid, ask] of ba) expect(bid).toBeLessThan(ask);
  });
});
