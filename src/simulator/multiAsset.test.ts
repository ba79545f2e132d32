/**
 * Multi-asset instruments through an unmodified @stoqey/ib client: contract details per class, option
 * chain parameters, symbol samples, option ticks with greeks, index/bond/fund L1, combos, permissions.
 * The clock is fixed (Wed 2026-11-18 10:00 New York) so that quotes of several requests share one instant.
 */
import { BarSizeSetting, EventName, TickByTickDataType, WhatToShow, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { RISK_FREE_RATE } from "./market/optionPricing.js";
import { BOND_CUSIP, BOND_ISIN } from "./market/otherInstruments.js";
import { roundTrip, runningClock, SESSION_TIME_MS, type TestClient, useFixture } from "./testing/harness.js";

const fx = useFixture();
const NOW = () => SESSION_TIME_MS;

function collect<T extends unknown[]>(c: TestClient, event: EventName): T[] {
  const out: T[] = [];
  (c.ib as unknown as { on(e: string, l: (...a: unknown[]) => void): void }).on(event, (...args: unknown[]) => out.push(args as T));
  return out;
}

const opt = (symbol: string, expiry: string, strike: number, right: "C" | "P", extra: Partial<Contract> = {}): Contract =>
  ({ symbol, secType: "OPT", exchange: "SMART", currency: "USD", lastTradeDateOrContractMonth: expiry, strike, right, ...extra }) as Contract;

interface Details {
  contract: Contract;
  underConId?: number;
  underSymbol?: string;
  underSecType?: string;
  longName?: string;
  secIdList?: { tag: string; value: string }[];
  cusip?: string;
  coupon?: number;
  maturity?: string;
}

async function details(c: TestClient, reqId: number, contract: Contract): Promise<Details[]> {
  const out: Details[] = [];
  const on = (id: number, d: unknown) => id === reqId && out.push(d as Details);
  const ib = c.ib as unknown as { on(e: string, l: (id: number, d: unknown) => void): void };
  ib.on(EventName.contractDetails, on);
  ib.on(EventName.bondContractDetails, on);
  let ended = false;
  c.ib.on(EventName.contractDetailsEnd, (id: number) => id === reqId && (ended = true));
  c.ib.reqContractDetails(reqId, contract);
  await until(() => ended || c.errors.some((e) => e.reqId === reqId), { what: `contract details ${reqId}` });
  return out;
}

describe("multi-asset contract details", () => {
  it("answers options (full and partial queries), index, futures options, fund and bond; 200 off the grid", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const [aapl, ...none] = await details(c, 1, opt("AAPL", "20261218", 200, "C", { exchange: "CBOE" }));
    expect(none).toEqual([]);
    expect(aapl!.contract).toMatchObject({ secType: "OPT", strike: 200, right: "C", multiplier: 100, localSymbol: "AAPL  261218C00200000", tradingClass: "AAPL", lastTradeDateOrContractMonth: "20261218" });
    expect(aapl).toMatchObject({ underConId: 265598, underSymbol: "AAPL", underSecType: "STK", longName: "APPLE INC" });

    const spy = await details(c, 2, { symbol: "SPY", secType: "OPT", exchange: "SMART", currency: "USD", lastTradeDateOrContractMonth: "20261120" } as Contract);
    expect(spy.length).toBeGreaterThanOrEqual(160); // ≥ 80 strikes × call/put
    expect(new Set(spy.map((d) => d.contract.conId)).size).toBe(spy.length);

    const [spx] = await details(c, 3, { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } as Contract);
    expect(spx!.contract).toMatchObject({ conId: 416904, secType: "IND", exchange: "CBOE" });
    const [vix] = await details(c, 4, { symbol: "VIX", secType: "IND", exchange: "CBOE" } as Contract);
    expect(vix!.contract.conId).toBe(13455763);

    const fop = await details(c, 5, { symbol: "ES", secType: "FOP", exchange: "CME", currency: "USD", strike: 6000, right: "C" } as Contract);
    expect(fop.length).toBeGreaterThanOrEqual(4);
    expect(fop[0]).toMatchObject({ underSecType: "FUT", contract: { multiplier: 50, tradingClass: "ES" } });

    const [fund] = await details(c, 6, { symbol: "VFIAX", secType: "FUND", exchange: "FUNDSERV", currency: "USD" } as Contract);
    expect(fund!.contract).toMatchObject({ secType: "FUND", exchange: "FUNDSERV" });

    const [bond] = await details(c, 7, { symbol: BOND_CUSIP, secType: "BOND", exchange: "SMART", currency: "USD" } as Contract);
    expect(bond).toMatchObject({ cusip: BOND_CUSIP, coupon: 4.25, maturity: "20341115" });
    expect(bond!.secIdList).toEqual([
      { tag: "CUSIP", value: BOND_CUSIP },
      { tag: "ISIN", value: BOND_ISIN },
    ]);
    const [byIsin] = await details(c, 8, { secIdType: "ISIN", secId: BOND_ISIN, secType: "BOND" } as Contract);
    expect(byIsin!.contract.conId).toBe(bond!.contract.conId);

    await details(c, 9, opt("AAPL", "20261218", 202.5, "C"));
    expect((await c.errorFor(9)).code).toBe(200);
    // Expired options are not served (not even with includeExpired), bars included.
    await details(c, 12, opt("AAPL", "20261113", 200, "C", { includeExpired: true }));
    expect((await c.errorFor(12)).code).toBe(200);
    c.ib.reqHistoricalData(13, opt("AAPL", "20261113", 200, "C", { includeExpired: true }), "", "1 D", BarSizeSetting.HOURS_ONE, "TRADES", 1, 1, false);
    expect((await c.errorFor(13)).code).toBe(200);
  });
});

describe("option chains and symbol search", () => {
  it("lists secdef rows per exchange × trading class, ES options per future, and an End alone for no options", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const rows = collect<[number, string, number, string, number, string[], number[]]>(c, EventName.securityDefinitionOptionParameter);
    const ends = collect<[number]>(c, EventName.securityDefinitionOptionParameterEnd);
    c.ib.reqSecDefOptParams(1, "AAPL", "", "STK", 265598);
    c.ib.reqSecDefOptParams(2, "SPX", "", "IND", 416904);
    const [front] = await details(c, 9, { symbol: "ES", secType: "FUT", exchange: "CME", currency: "USD" } as Contract);
    c.ib.reqSecDefOptParams(3, "ES", "CME", "FUT", front!.contract.conId!);
    c.ib.reqSecDefOptParams(4, "NOPE", "", "STK", 0);
    await until(() => ends.length === 4, { what: "four secdef ends" });
    const of = (id: number) => rows.filter((r) => r[0] === id);
    expect(of(1).map((r) => r[1]).sort()).toEqual(["AMEX", "CBOE", "ISE", "SMART"]);
    expect(of(1)[0]).toMatchObject([1, expect.any(String), 265598, "AAPL", 100, expect.any(Array), expect.any(Array)]);
    expect(of(1)[0]![5]).toEqual(["20261120", "20261127", "20261204", "20261211", "20261218", "20270115"]);
    // The base grid (150…310) and the grid around AAPL's price at the day's start (≈ 202 with seed 42: 135…270).
    expect(of(1)[0]![6]).toEqual(Array.from({ length: 36 }, (_, i) => 135 + 5 * i));
    expect(of(2).map((r) => `${r[1]}:${r[3]}`).sort()).toEqual(["CBOE:SPX", "CBOE:SPXW", "SMART:SPX", "SMART:SPXW"]);
    expect(of(3)).toHaveLength(1);
    expect(of(3)[0]!.slice(1, 5)).toEqual(["CME", front!.contract.conId, "ES", 50]);
    expect(of(3)[0]![5]).toEqual([front!.contract.lastTradeDateOrContractMonth]);
    expect(of(4)).toEqual([]);
  });

  it("answers reqMatchingSymbols: exact symbol first, prefixes, long-name matches, at most 16", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const samples = collect<[number, { contract: { symbol: string; secType: string; primaryExch: string; description?: string }; derivativeSecTypes: string[] }[]]>(c, EventName.symbolSamples);
    c.ib.reqMatchingSymbols(1, "spy");
    c.ib.reqMatchingSymbols(2, "vanguard");
    c.ib.reqMatchingSymbols(3, "S&P 500");
    c.ib.reqMatchingSymbols(4, "a");
    await until(() => samples.length === 4, { what: "four symbolSamples" });
    const by = (id: number) => samples.find((s) => s[0] === id)![1];
    expect(by(1)[0]).toMatchObject({ contract: { symbol: "SPY", secType: "STK", primaryExch: "ARCA" }, derivativeSecTypes: ["OPT"] });
    expect(by(2).map((d) => d.contract.symbol)).toEqual(["VFIAX"]);
    expect(by(3).map((d) => d.contract.symbol).sort()).toEqual(["SPX", "SPY"]);
    expect(by(3).find((d) => d.contract.symbol === "SPX")).toMatchObject({ contract: { secType: "IND", description: "S&P 500 Stock Index" }, derivativeSecTypes: ["OPT"] });
    expect(by(4).length).toBeLessThanOrEqual(16);
    expect(by(4)[0]!.contract.symbol).toMatch(/^A/);
  });
});

describe("strike grids follow the underlying", () => {
  /** Last price of a snapshot (an index's value, a future's last trade). */
  async function lastPrice(c: TestClient, reqId: number, contract: Contract): Promise<number> {
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    let done = false;
    c.ib.on(EventName.tickSnapshotEnd, (id: number) => id === reqId && (done = true));
    c.ib.reqMktData(reqId, contract, "", true, false);
    await until(() => done, { what: `snapshot ${reqId}` });
    return prices.filter((p) => p[0] === reqId && p[1] === 4).at(-1)![2];
  }

  /** The 5 listed strikes below and the 5 above a price (fewer when the grid ends first). */
  const nearMoney = (strikes: number[], px: number) => ({ below: strikes.filter((k) => k < px).slice(-5), above: strikes.filter((k) => k > px).slice(0, 5) });

  /** Every contract resolves (one match) and quotes (bid and ask) by its conId alone. */
  async function resolvesAndQuotes(c: TestClient, base: number, contracts: Contract[]): Promise<void> {
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    const ended = new Set<number>();
    c.ib.on(EventName.tickSnapshotEnd, (id: number) => ended.add(id));
    const ids: number[] = [];
    for (const [i, contract] of contracts.entries()) {
      const found = await details(c, base + 2 * i, contract);
      expect(found, `${contract.symbol} ${contract.strike}`).toHaveLength(1);
      const { conId, exchange } = found[0]!.contract;
      c.ib.reqMktData(base + 2 * i + 1, { conId, exchange } as Contract, "", true, false);
      ids.push(base + 2 * i + 1);
    }
    await until(() => ids.every((id) => ended.has(id) || c.errors.some((e) => e.reqId === id)), { what: "option snapshots" });
    for (const id of ids) {
      expect(c.errors.filter((e) => e.reqId === id)).toEqual([]);
      for (const t of [1, 2]) expect(prices.some((p) => p[0] === id && p[1] === t && p[2] > 0), `reqId ${id} tick ${t}`).toBe(true);
    }
  }

  it("lists SPX strikes on both sides of the index far from its base level (seed 1: ~6750, base grid 5400–6600)", async () => {
    await fx.start({ now: NOW, seed: 1 });
    const c = await fx.client();
    const spx = await lastPrice(c, 1, { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } as Contract);
    expect(spx).toBeGreaterThan(6600 + 5 * 25); // the case this test is about: the money beyond the base grid
    const rows = collect<[number, string, number, string, number, string[], number[]]>(c, EventName.securityDefinitionOptionParameter);
    let ended = false;
    c.ib.once(EventName.securityDefinitionOptionParameterEnd, () => (ended = true));
    c.ib.reqSecDefOptParams(2, "SPX", "", "IND", 416904);
    await until(() => ended, { what: "secdef end" });
    const spxw = rows.find((r) => r[1] === "SMART" && r[3] === "SPXW")!;
    const strikes = spxw[6];
    expect(strikes).toContain(6000); // the base grid stays listed
    const { below, above } = nearMoney(strikes, spx);
    expect([below.length, above.length]).toEqual([5, 5]);
    // A partial query (expiry and right, no strike) lists them too.
    const expiry = spxw[5][0]!;
    const chain = await details(c, 3, { symbol: "SPX", secType: "OPT", exchange: "SMART", currency: "USD", tradingClass: "SPXW", lastTradeDateOrContractMonth: expiry, right: "C" } as Contract);
    const listed = new Set(chain.map((d) => d.contract.strike));
    for (const k of [...below, ...above]) expect(listed.has(k), `SPXW ${expiry} C${k} in the partial answer`).toBe(true);
    await resolvesAndQuotes(c, 100, [...below, ...above].map((k) => opt("SPX", expiry, k, k < spx ? "P" : "C", { tradingClass: "SPXW" })));
  });

  it("lists ES futures option strikes around the future's price (seed 1: ~6775, base grid 5525–6475)", async () => {
    await fx.start({ now: NOW, seed: 1 });
    const c = await fx.client();
    const [front] = await details(c, 1, { symbol: "ES", secType: "FUT", exchange: "CME", currency: "USD" } as Contract);
    const px = await lastPrice(c, 2, { conId: front!.contract.conId, exchange: "CME" } as Contract);
    expect(px).toBeGreaterThan(6475 + 5 * 25);
    const rows = collect<[number, string, number, string, number, string[], number[]]>(c, EventName.securityDefinitionOptionParameter);
    let ended = false;
    c.ib.once(EventName.securityDefinitionOptionParameterEnd, () => (ended = true));
    c.ib.reqSecDefOptParams(3, "ES", "CME", "FUT", front!.contract.conId!);
    await until(() => ended, { what: "secdef end" });
    const { below, above } = nearMoney(rows[0]![6], px);
    expect([below.length, above.length]).toEqual([5, 5]);
    const expiry = front!.contract.lastTradeDateOrContractMonth!;
    const fop = (k: number): Contract => ({ symbol: "ES", secType: "FOP", exchange: "CME", currency: "USD", lastTradeDateOrContractMonth: expiry, strike: k, right: k < px ? "P" : "C" }) as Contract;
    await resolvesAndQuotes(c, 100, [...below, ...above].map(fop));
  });
});

describe("option market data", () => {
  it("streams quotes with option computations (bid, ask, model): deltas in range, parity of mids within a tick", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    const comps = collect<[number, number, number, number | undefined, number | undefined, number | undefined, number, number | undefined, number | undefined, number | undefined, number]>(c, EventName.tickOptionComputation);
    c.ib.reqMktData(1, opt("SPY", "20261218", 580, "C"), "", false, false);
    c.ib.reqMktData(2, opt("SPY", "20261218", 580, "P"), "", false, false);
    const has = (id: number, t: number) => prices.some((p) => p[0] === id && p[1] === t);
    await until(() => [1, 2].every((id) => has(id, 1) && has(id, 2) && [10, 11, 13].every((t) => comps.some((x) => x[0] === id && x[1] === t))), { what: "quotes and computations" });
    const last = (id: number, t: number) => prices.filter((p) => p[0] === id && p[1] === t).at(-1)![2];
    const model = (id: number) => comps.filter((x) => x[0] === id && x[1] === 13).at(-1)!;
    const [, , , ivC, deltaC, priceC, , gammaC, vegaC, thetaC, undC] = model(1);
    const deltaP = model(2)[4]!;
    expect(deltaC).toBeGreaterThan(0);
    expect(deltaC).toBeLessThan(1);
    expect(deltaP).toBeGreaterThan(-1);
    expect(deltaP).toBeLessThan(0);
    expect(ivC).toBeGreaterThan(0.05);
    expect(priceC).toBeGreaterThan(0);
    expect(gammaC).toBeGreaterThan(0);
    expect(vegaC).toBeGreaterThan(0);
    expect(thetaC).toBeLessThan(0);
    const T = (Date.UTC(2026, 11, 18, 21) - SESSION_TIME_MS) / (365 * 86_400_000);
    const mid = (id: number) => (last(id, 1) + last(id, 2)) / 2;
    expect(Math.abs(mid(1) - mid(2) - (undC - 580 * Math.exp(-RISK_FREE_RATE * T)))).toBeLessThanOrEqual(0.01 + 1e-9);
    // The bid computation carries the volatility implied by the bid: below the ask's.
    const ivAt = (id: number, t: number) => comps.filter((x) => x[0] === id && x[1] === t).at(-1)![3]!;
    expect(ivAt(1, 10)).toBeLessThan(ivAt(1, 11));
  });

  it("updates the option computations as the underlying moves", async () => {
    await fx.start({ now: runningClock(SESSION_TIME_MS, 60), tickIntervalMs: 20 });
    const c = await fx.client();
    const comps = collect<[number, number, number, number | undefined, number | undefined, number | undefined, number, number | undefined, number | undefined, number | undefined, number]>(c, EventName.tickOptionComputation);
    c.ib.reqMktData(1, opt("SPY", "20261218", 580, "C"), "", false, false);
    const unds = () => new Set(comps.filter((x) => x[1] === 13).map((x) => x[10]));
    await until(() => unds().size >= 3, { what: "model computations at three underlying prices" });
    // Each update of the bid's computation carries the underlying price of its instant too.
    expect(new Set(comps.filter((x) => x[1] === 10).map((x) => x[10])).size).toBeGreaterThanOrEqual(2);
  });

  it("sends delayed option computations (80–83) under market data type 3 to a delayed-only account", async () => {
    // Entitlements are per symbol: AAPL's covers its options.
    await fx.start({ now: NOW, entitlements: { AAPL: "delayed-only" } });
    const c = await fx.client();
    const comps = collect<[number, number]>(c, EventName.tickOptionComputation);
    c.ib.reqMarketDataType(3);
    c.ib.reqMktData(1, opt("AAPL", "20261218", 230, "C"), "", true, false);
    let done = false;
    c.ib.on(EventName.tickSnapshotEnd, () => (done = true));
    await until(() => done, { what: "snapshot end" });
    const types = new Set(comps.map((x) => x[1]));
    for (const t of [80, 81, 83]) expect(types.has(t)).toBe(true);
    expect([...types].every((t) => t >= 80 && t <= 83)).toBe(true);
  });

  it("answers 354 on options without the option data permission, 200 for a strike not listed", async () => {
    await fx.start({ now: NOW, optionDataPermission: false });
    const c = await fx.client();
    c.ib.reqMktData(1, opt("AAPL", "20261218", 230, "C"), "", false, false);
    expect((await c.errorFor(1)).code).toBe(354);
    c.ib.reqMktData(2, opt("AAPL", "20261218", 231, "C"), "", false, false);
    expect((await c.errorFor(2)).code).toBe(200);
    c.ib.reqMktData(3, { symbol: "ES", secType: "FOP", exchange: "CME", currency: "USD", strike: 6000, right: "C", lastTradeDateOrContractMonth: "202612" } as Contract, "", false, false);
    expect((await c.errorFor(3)).code).toBe(354);
    // A combo with an option leg too; one of stocks only is served.
    const [call] = await details(c, 10, opt("AAPL", "20261218", 230, "C"));
    const [stock] = await details(c, 11, { symbol: "SPY", secType: "STK", exchange: "SMART", currency: "USD" } as Contract);
    const bag = (...conIds: number[]) =>
      ({ symbol: "SPY", secType: "BAG", exchange: "SMART", currency: "USD", comboLegs: conIds.map((conId) => ({ conId, action: "BUY", ratio: 1, exchange: "SMART" })) }) as unknown as Contract;
    c.ib.reqMktData(4, bag(stock!.contract.conId!, call!.contract.conId!), "", false, false);
    expect((await c.errorFor(4)).code).toBe(354);
    const types = collect<[number, number]>(c, EventName.marketDataType);
    c.ib.reqMktData(5, bag(stock!.contract.conId!, 265598), "", false, false);
    await until(() => types.some((t) => t[0] === 5), { what: "the stock combo's market data type" });
    expect(types.find((t) => t[0] === 5)![1]).toBe(1);
    expect(c.errors.filter((e) => e.reqId === 5)).toEqual([]);
  });

  it("quotes a combo as the combination of its legs; an unknown leg is 200", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const [call] = await details(c, 10, opt("AAPL", "20261218", 230, "C"));
    const [put] = await details(c, 11, opt("AAPL", "20261218", 220, "P"));
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    c.ib.reqMktData(1, call!.contract, "", false, false);
    c.ib.reqMktData(2, put!.contract, "", false, false);
    const bag = (legs: { conId: number; action: string }[]) =>
      ({ symbol: "AAPL", secType: "BAG", exchange: "SMART", currency: "USD", comboLegs: legs.map((l) => ({ ...l, ratio: 1, exchange: "SMART" })) }) as unknown as Contract;
    c.ib.reqMktData(3, bag([{ conId: call!.contract.conId!, action: "BUY" }, { conId: put!.contract.conId!, action: "SELL" }]), "", false, false);
    const got = (id: number, t: number) => prices.filter((p) => p[0] === id && p[1] === t).at(-1)?.[2];
    await until(() => [1, 2, 3].every((id) => got(id, 1) !== undefined && got(id, 2) !== undefined) && got(3, 4) !== undefined, { what: "leg and combo quotes" });
    expect(got(3, 1)).toBeCloseTo(got(1, 1)! - got(2, 2)!, 6);
    expect(got(3, 2)).toBeCloseTo(got(1, 2)! - got(2, 1)!, 6);
    c.ib.reqMktData(4, bag([{ conId: 999, action: "BUY" }]), "", false, false);
    expect((await c.errorFor(4)).code).toBe(200);
  });

  it("gives a combo its legs' weakest market data type: live when every leg is, delayed when one leg is", async () => {
    await fx.start({ now: NOW, entitlements: { AAPL: "delayed-only" } });
    const c = await fx.client();
    const [spyC] = await details(c, 10, opt("SPY", "20261218", 580, "C"));
    const [spyP] = await details(c, 11, opt("SPY", "20261218", 570, "P"));
    const [aaplC] = await details(c, 12, opt("AAPL", "20261218", 230, "C"));
    const types = collect<[number, number]>(c, EventName.marketDataType);
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    const bag = (legs: [Contract, string][]) =>
      ({ symbol: "SPY", secType: "BAG", exchange: "SMART", currency: "USD", comboLegs: legs.map(([k, action]) => ({ conId: k.conId, action, ratio: 1, exchange: "SMART" })) }) as unknown as Contract;
    // Delayed data asked for (type 3): a combo of live legs is live all the same, as each of its legs would be.
    c.ib.reqMarketDataType(3);
    c.ib.reqMktData(1, bag([[spyC!.contract, "BUY"], [spyP!.contract, "SELL"]]), "", false, false);
    c.ib.reqMktData(2, bag([[spyC!.contract, "BUY"], [aaplC!.contract, "SELL"]]), "", false, false);
    const ticks = (id: number) => new Set(prices.filter((p) => p[0] === id).map((p) => p[1]));
    await until(() => [1, 2].every((id) => types.some((t) => t[0] === id) && ticks(id).size >= 3), { what: "both combos' types and quotes" });
    expect(types.filter((t) => t[0] === 1).map((t) => t[1])).toEqual([1]);
    expect([...ticks(1)].sort()).toEqual([1, 2, 4]);
    expect(types.filter((t) => t[0] === 2).map((t) => t[1])).toEqual([3]);
    expect([...ticks(2)].sort()).toEqual([66, 67, 68]);
    expect((await c.errorFor(2)).code).toBe(10167);
    expect(c.errors.filter((e) => e.reqId === 1)).toEqual([]);
    // Live data asked for: the delayed-only leg makes the combo need the subscription, as that leg alone would.
    c.ib.reqMarketDataType(1);
    c.ib.reqMktData(3, bag([[aaplC!.contract, "BUY"], [spyP!.contract, "BUY"]]), "", false, false);
    expect((await c.errorFor(3)).code).toBe(10089);
    expect(types.some((t) => t[0] === 3)).toBe(false);
  });

  it("counts option, index and combo lines against the market data line limit", async () => {
    await fx.start({ now: NOW, limits: { marketDataLines: 2 } });
    const c = await fx.client();
    c.ib.reqMktData(1, opt("AAPL", "20261218", 230, "C"), "", false, false);
    c.ib.reqMktData(2, { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } as Contract, "", false, false);
    c.ib.reqMktData(3, opt("AAPL", "20261218", 235, "C"), "", false, false);
    expect((await c.errorFor(3)).code).toBe(101);
  });
});

describe("index, bond and fund data", () => {
  it("sends an index's prices only (no bid/ask, sizes or volume); no depth (10092) or tick-by-tick (10189)", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    const sizes = collect<[number, number, number | undefined]>(c, EventName.tickSize);
    c.ib.reqMktData(1, { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } as Contract, "", true, false);
    let done = false;
    c.ib.on(EventName.tickSnapshotEnd, () => (done = true));
    await until(() => done, { what: "snapshot end" });
    const types = new Set(prices.map((p) => p[1]));
    expect(types.has(4)).toBe(true);
    expect(types.has(1) || types.has(2)).toBe(false);
    // @stoqey/ib derives LAST_SIZE from the price message: IB's size there is 0.
    expect(sizes.filter(([, , v]) => Number(v ?? 0) !== 0)).toEqual([]);
    expect(sizes.filter(([, t]) => t !== 5)).toEqual([]);
    c.ib.reqMktDepth(2, { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } as Contract, 5, false);
    expect((await c.errorFor(2)).code).toBe(10092);
    c.ib.reqTickByTickData(3, { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } as Contract, TickByTickDataType.Last, 0, false);
    expect(await c.errorFor(3)).toMatchObject({ code: 10189, message: "Failed to request tick-by-tick data.Last tick-by-tick requests are not supported for SPX" });
    c.ib.reqHistoricalTicks(4, { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } as Contract, "", "20261118 09:59:00", 10, WhatToShow.BID_ASK, 1, false);
    expect((await c.errorFor(4)).code).toBe(162);
  });

  it("quotes the bond two-sided without trades; TRADES history and Last ticks are refused", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const bond = { symbol: BOND_CUSIP, secType: "BOND", exchange: "SMART", currency: "USD" } as Contract;
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    c.ib.reqMktData(1, bond, "", true, false);
    let done = false;
    c.ib.on(EventName.tickSnapshotEnd, () => (done = true));
    await until(() => done, { what: "snapshot end" });
    const bid = prices.find((p) => p[1] === 1)![2];
    const ask = prices.find((p) => p[1] === 2)![2];
    expect(bid).toBeGreaterThan(80);
    expect(ask).toBeGreaterThan(bid);
    expect(prices.some((p) => p[1] === 4)).toBe(false);
    c.ib.reqHistoricalData(2, bond, "", "1 D", BarSizeSetting.MINUTES_FIVE, "TRADES", 1, 1, false);
    expect((await c.errorFor(2)).code).toBe(162);
    const bars = collect<[number, string]>(c, EventName.historicalData);
    c.ib.reqHistoricalData(3, bond, "", "1 D", BarSizeSetting.MINUTES_FIVE, "MIDPOINT", 1, 1, false);
    await until(() => bars.some(([id, d]) => id === 3 && d.startsWith("finished")), { what: "bond MIDPOINT bars" });
    c.ib.reqTickByTickData(4, bond, TickByTickDataType.AllLast, 0, false);
    expect((await c.errorFor(4)).code).toBe(10189);
    c.ib.reqRealTimeBars(5, bond, 5, WhatToShow.TRADES, false);
    expect((await c.errorFor(5)).code).toBe(162);
  });

  it("gives the fund one NAV a day: LAST and CLOSE only, daily TRADES history, intraday refused (162)", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const fund = { symbol: "VFIAX", secType: "FUND", exchange: "FUNDSERV", currency: "USD" } as Contract;
    const prices = collect<[number, number, number]>(c, EventName.tickPrice);
    const bars = collect<[number, string, number, number, number, number]>(c, EventName.historicalData);
    c.ib.reqMktData(1, fund, "", false, false);
    c.ib.reqHistoricalData(2, fund, "", "5 D", BarSizeSetting.DAYS_ONE, "TRADES", 1, 1, false);
    c.ib.reqHistoricalData(3, fund, "", "1 D", BarSizeSetting.HOURS_ONE, "TRADES", 1, 1, false);
    await until(() => prices.some((p) => p[1] === 4) && prices.some((p) => p[1] === 9) && bars.some(([id, d]) => id === 2 && d.startsWith("finished")), { what: "fund L1 and daily bars" });
    expect(new Set(prices.map((p) => p[1]))).toEqual(new Set([4, 9]));
    const daily = bars.filter(([id, d]) => id === 2 && !d.startsWith("finished"));
    expect(daily.length).toBeGreaterThanOrEqual(4);
    // Today's NAV is not struck before 16:00: the last bar is yesterday's, and L1's LAST is its close.
    expect(prices.find((p) => p[1] === 4)![2]).toBe(daily.filter(([, d]) => d < "20261118").at(-1)![5]);
    expect((await c.errorFor(3)).code).toBe(162);
    await roundTrip(c);
  });

  it("serves option bars priced from the underlying (TRADES, BID_ASK) and index TRADES bars with volume 0", async () => {
    await fx.start({ now: NOW });
    const c = await fx.client();
    const bars = collect<[number, string, number, number, number, number, number]>(c, EventName.historicalData);
    c.ib.reqHistoricalData(1, opt("AAPL", "20261218", 230, "C"), "", "1 D", BarSizeSetting.HOURS_ONE, "TRADES", 1, 1, false);
    c.ib.reqHistoricalData(2, opt("AAPL", "20261218", 230, "P"), "", "1 D", BarSizeSetting.HOURS_ONE, "BID_ASK", 1, 1, false);
    c.ib.reqHistoricalData(3, { symbol: "SPX", secType: "IND", exchange: "CBOE", currency: "USD" } as Contract, "", "1 D", BarSizeSetting.HOURS_ONE, "TRADES", 1, 1, false);
    const done = (id: number) => bars.some(([i, d]) => i === id && d.startsWith("finished"));
    await until(() => done(1) && done(2) && done(3), { what: "three bar answers" });
    const of = (id: number) => bars.filter(([i, d]) => i === id && !d.startsWith("finished"));
    for (const id of [1, 2, 3]) expect(of(id).length).toBeGreaterThan(0);
    for (const [, , o, h, l, cl] of of(1)) expect(h >= Math.max(o, cl) && l <= Math.min(o, cl) && l > 0).toBe(true);
    for (const b of of(3)) expect(b[6]).toBe(0);
  });
});
