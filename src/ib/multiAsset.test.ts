import { describe, expect, it, vi } from "vitest";
import type { Level1 } from "../domain/marketData.js";
import { parseInterval } from "../domain/intervals.js";
import type { FeedEvent } from "../stream/feedEvents.js";
import { BOND_CUSIP, BOND_ISIN } from "../simulator/market/otherInstruments.js";
import { useAdapterOnSimulator } from "../testing/adapterOnSimulator.js";

// Every asset class end to end: the real adapter over @stoqey/ib against the simulated Gateway.
const fx = useAdapterOnSimulator({ simulator: { seed: 11, tickIntervalMs: 20 }, adapter: { clientId: 41, limits: { marketDataLines: 12, depth: 3, tickByTick: 3 } } });

/** Data and statuses of a stream until `done` says so (bounded by time). */
async function read(iterable: AsyncIterable<FeedEvent<Level1>[]>, done: (events: FeedEvent<Level1>[]) => boolean, timeoutMs = 5_000): Promise<FeedEvent<Level1>[]> {
  const out: FeedEvent<Level1>[] = [];
  const deadline = Date.now() + timeoutMs;
  for await (const batch of iterable) {
    out.push(...batch);
    if (done(out) || Date.now() > deadline) break;
  }
  return out;
}
const dataOf = (events: FeedEvent<Level1>[]) => events.flatMap((e) => (e.type === "data" ? [e.value] : []));

/** An OCC symbol of a listed AAPL option near the money, from the chain. */
async function aaplOption(right: "C" | "P", offset = 0): Promise<string> {
  const chain = await fx.adapter.optionChain("spot", "AAPL");
  const row = chain.rows.find((r) => r.exchange === "SMART")!;
  const expiry = row.expirations[1]!;
  const strike = row.strikes[Math.floor(row.strikes.length / 2) + offset]!;
  return `AAPL${expiry.slice(2)}${right}${String(Math.round(Number(strike) * 1000)).padStart(8, "0")}`;
}

describe("every asset class on the simulated Gateway", () => {
  it("resolves an option with its underlying, expiry, strike and right", async () => {
    const symbol = await aaplOption("C");
    const r = await fx.adapter.resolve("spot", symbol);
    expect(r).toMatchObject({ assetClass: "option", secType: "OPT", underlying: "AAPL", underlyingConId: 265598, right: "call", expiry: `20${symbol.slice(4, 10)}` });
    expect(Number(r.strike) * 1000).toBe(Number(symbol.slice(-8)));
  });

  it("resolves an index, a bond by CUSIP or ISIN and a fund", async () => {
    expect(await fx.adapter.resolve("spot", "SPX")).toMatchObject({ assetClass: "index", secType: "IND", exchange: "CBOE" });
    expect(await fx.adapter.resolve("spot", BOND_CUSIP)).toMatchObject({ assetClass: "bond", secType: "BOND", cusip: BOND_CUSIP, isin: BOND_ISIN });
    expect(await fx.adapter.resolve("spot", BOND_ISIN)).toMatchObject({ assetClass: "bond", cusip: BOND_CUSIP });
    expect(await fx.adapter.resolve("spot", "VFIAX")).toMatchObject({ assetClass: "fund", secType: "FUND" });
  });

  it("lists the ES months with the front one marked, and resolves an option on that future", async () => {
    const months = await fx.adapter.futuresExpiries("ES");
    const front = months.find((m) => m.front)!;
    expect(months[0]).toBe(front);
    expect((await fx.adapter.resolve("futures", "ES")).conId).toBe(front.conId);
    const chain = await fx.adapter.optionChain("futures", "ES");
    expect(chain.underlying.conId).toBe(front.conId);
    const strike = chain.rows[0]!.strikes[Math.floor(chain.rows[0]!.strikes.length / 2)]!;
    const fop = await fx.adapter.resolve("futures", `${front.symbol}P${strike}`);
    expect(fop).toMatchObject({ assetClass: "future-option", secType: "FOP", right: "put", strike, underlyingConId: front.conId });
  });

  it("streams an option's quote with IB's option computations", async () => {
    const c = new AbortController();
    const events = await read(await fx.adapter.streamTicks("spot", await aaplOption("C"), { signal: c.signal }), (e) => dataOf(e).some((l) => l.optionComputations?.some((x) => x.kind === "model")));
    c.abort();
    const model = dataOf(events).at(-1)!.optionComputations!.find((x) => x.kind === "model")!;
    expect(model.delta!.gt(0)).toBe(true);
    expect(model.impliedVolatility!.gt(0)).toBe(true);
  });

  it("streams an index's value as last after an advisory saying it has no bid or ask", async () => {
    const c = new AbortController();
    const events = await read(await fx.adapter.streamTicks("spot", "SPX", { signal: c.signal }), (e) => dataOf(e).some((l) => l.last !== undefined));
    c.abort();
    expect(events.some((e) => e.type === "status" && e.status.kind === "advisory" && /no bid, ask or sizes/.test(e.status.message))).toBe(true);
    expect(dataOf(events).at(-1)).toMatchObject({ last: expect.anything(), bid: undefined, ask: undefined });
  });

  it("streams a combo's quote through its BAG contract", async () => {
    const c = new AbortController();
    const combo = `COMBO:${await aaplOption("C")},-${await aaplOption("C", 2)}`;
    const events = await read(await fx.adapter.streamTicks("spot", combo, { signal: c.signal }), (e) => dataOf(e).length > 0);
    c.abort();
    expect(dataOf(events).length).toBeGreaterThan(0);
  });

  it("streams a combo written with its legs in any order on one IB line", async () => {
    const c = new AbortController();
    const [long, short] = [await aaplOption("C"), await aaplOption("C", 3)];
    const first = await fx.adapter.streamTicks("spot", `COMBO:${long},-${short}`, { signal: c.signal });
    const second = await fx.adapter.streamTicks("spot", `COMBO:-${short},${long}`, { signal: c.signal });
    const bags = fx.adapter.subscriptions().filter((s) => s.kind === "tick" && s.key.includes("bag:"));
    expect(bags.map((b) => b.consumers)).toEqual([2]);
    expect(dataOf(await read(second, (e) => dataOf(e).length > 0)).length).toBeGreaterThan(0);
    expect(dataOf(await read(first, (e) => dataOf(e).length > 0)).length).toBeGreaterThan(0);
    c.abort();
  });

  it("finds symbols with what IB lists on them", async () => {
    const matches = await fx.adapter.searchSymbols("AAPL");
    expect(matches.find((m) => m.symbol === "AAPL")).toMatchObject({ secType: "STK", assetClass: "stock", derivativeSecTypes: expect.arrayContaining(["OPT"]) });
  });

  it("quotes a chain's options within the 12 lines, reporting what it could not quote", async () => {
    const chain = await fx.adapter.optionChain("spot", "AAPL");
    const row = chain.rows.find((r) => r.exchange === "SMART")!;
    const mid = Math.floor(row.strikes.length / 2);
    const symbols = row.strikes.slice(mid - 7, mid + 8).flatMap((k) => (["C", "P"] as const).map((r) => `AAPL${row.expirations[1]!.slice(2)}${r}${String(Math.round(Number(k) * 1000)).padStart(8, "0")}`));
    const result = await fx.adapter.optionQuotes("spot", [...symbols, "AAPL991231C00100000"], { timeoutMs: 4_000 });
    expect(result.maxLinesOpen).toBeLessThanOrEqual(12);
    expect(result.quotes).toHaveLength(symbols.length);
    expect(result.missing).toEqual([{ symbol: "AAPL991231C00100000", reason: expect.any(String) }]);
    expect(fx.adapter.lines.used("marketDataLines")).toBe(0);
  });

  it("asks IB for a bond's candles as midpoints, an index's and a fund's as trades", async () => {
    const sent = vi.spyOn(fx.adapter.connection.api, "reqHistoricalData");
    const query = { interval: parseInterval("day")!, fromMs: Date.now() - 10 * 86_400_000, toMs: Date.now(), regularHoursOnly: false };
    for (const symbol of [BOND_CUSIP, "SPX", "VFIAX"]) await fx.adapter.candles("spot", symbol, query);
    expect(sent.mock.calls.map((c) => [c[1].secType, c[5]])).toEqual([
      ["BOND", "MIDPOINT"],
      ["IND", "TRADES"],
      ["FUND", "TRADES"],
    ]);
    sent.mockClear();
    // A futures month's history is asked with includeExpired: a month that has expired is found too.
    await fx.adapter.candles("futures", "ES", query);
    expect(sent.mock.calls[0]![1]).toMatchObject({ secType: "FUT", includeExpired: true });
    sent.mockRestore();
  });
});
