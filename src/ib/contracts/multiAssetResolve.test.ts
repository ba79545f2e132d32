import { EventName, type Contract, type ContractDetails } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { RecordedGateway } from "../testing/recordedGateway.js";
import { ContractResolver } from "./contractResolver.js";
import { serializeInstrument } from "./resolvedInstrument.js";

// Recorded-message seam (src/ib/testing/recordedGateway.ts): contract details as IB sends them for the
// classes the simulator does not list yet.
const NOW = Date.UTC(2026, 11, 3, 15);

function resolverOn(gateway: RecordedGateway, details: (c: Contract) => ContractDetails[], persisted?: ConstructorParameters<typeof ContractResolver>[0]["persisted"]) {
  const ctx = gateway.context(undefined, () => NOW);
  gateway.answer("reqContractDetails", (reqId: number, contract: Contract) => {
    for (const d of details(contract)) gateway.emit(EventName.contractDetails, reqId, d);
    gateway.emit(EventName.contractDetailsEnd, reqId);
  });
  return new ContractResolver({ router: ctx.router, send: (reqId, c) => ctx.api.reqContractDetails(reqId, c), override: () => undefined, isConnected: () => true, now: () => NOW, persisted });
}

const option = (strike: number, right: "C" | "P", conId: number): ContractDetails => ({
  contract: { conId, symbol: "AAPL", secType: "OPT" as never, lastTradeDateOrContractMonth: "20270115", strike, right: right as never, multiplier: 100, exchange: "SMART", currency: "USD", localSymbol: `AAPL  270115${right}00${strike}000`, tradingClass: "AAPL" },
  underConId: 265598,
  underSymbol: "AAPL",
  minTick: 0.01,
  timeZoneId: "US/Eastern",
});

describe("the front month", () => {
  it("moves to the next month the day after the front one's last trade date, without a reconnect; a named month stays", async () => {
    const gateway = new RecordedGateway();
    let nowMs = Date.UTC(2026, 11, 18, 20);
    const future = (conId: number, last: string, local: string): ContractDetails => ({ contract: { conId, symbol: "ES", secType: "FUT" as never, lastTradeDateOrContractMonth: last, localSymbol: local, exchange: "CME", currency: "USD", multiplier: 50 } });
    gateway.answer("reqContractDetails", (reqId: number, c: Contract) => {
      for (const d of [future(1, "20261218", "ESZ6"), future(2, "20270319", "ESH7")]) if (c.localSymbol === undefined || c.localSymbol === d.contract.localSymbol) gateway.emit(EventName.contractDetails, reqId, d);
      gateway.emit(EventName.contractDetailsEnd, reqId);
    });
    const ctx = gateway.context(undefined, () => nowMs);
    const resolver = new ContractResolver({ router: ctx.router, send: (reqId, c) => ctx.api.reqContractDetails(reqId, c), override: () => undefined, isConnected: () => true, now: () => nowMs });
    expect((await resolver.resolve("futures", "ES")).localSymbol).toBe("ESZ6");
    expect((await resolver.resolve("futures", "ESZ6")).conId).toBe(1);
    nowMs = Date.UTC(2026, 11, 19, 1);
    expect((await resolver.resolve("futures", "ES")).localSymbol).toBe("ESH7");
    const asked = gateway.calls("reqContractDetails").length;
    // The expired month named explicitly is what it was, from what this process resolved (no new request).
    expect((await resolver.resolve("futures", "ESZ6")).conId).toBe(1);
    expect(gateway.calls("reqContractDetails")).toHaveLength(asked);
  });
});

describe("resolving every asset class", () => {
  it("an option carries its underlying, expiry, strike text and right", async () => {
    const r = await resolverOn(new RecordedGateway(), () => [option(200, "C", 1001)]).resolve("spot", "AAPL270115C00200000");
    expect(r).toMatchObject({ assetClass: "option", secType: "OPT", conId: 1001, underlying: "AAPL", underlyingConId: 265598, expiry: "20270115", strike: "200", right: "call", lastTradeDate: "", legs: [] });
    expect(r.requestContract).toMatchObject({ conId: 1001, exchange: "SMART", secType: "OPT" });
  });

  it("a bond takes its CUSIP and ISIN from IB's secIdList, or from the request when IB sends none", async () => {
    const gateway = new RecordedGateway();
    const r = await resolverOn(gateway, (c) => [
      { contract: { conId: 77, secType: "BOND" as never, symbol: "T", exchange: "SMART", currency: "USD" }, secIdList: c.secId === "912828Z78" ? [{ tag: "ISIN", value: "US912828Z781" }, { tag: "CUSIP", value: "912828Z78" }] : [] },
    ]).resolve("spot", "912828Z78");
    expect(gateway.calls("reqContractDetails")[0]![1]).toMatchObject({ secType: "BOND", secIdType: "CUSIP", secId: "912828Z78" });
    expect(r).toMatchObject({ assetClass: "bond", cusip: "912828Z78", isin: "US912828Z781", expiry: "", right: "" });
    // Asked by a US ISIN, answered without ids: both come from the symbol (the ISIN holds the CUSIP).
    expect(await resolverOn(new RecordedGateway(), () => [{ contract: { conId: 77, secType: "BOND" as never, symbol: "T", exchange: "SMART", currency: "USD" } }]).resolve("spot", "US912828Z781")).toMatchObject({
      cusip: "912828Z78",
      isin: "US912828Z781",
    });
  });

  it("an option on a future is the one on the future named, among the month's options", async () => {
    const fop = (conId: number, contractMonth: string): ContractDetails => ({
      contract: { conId, symbol: "ES", secType: "FOP" as never, lastTradeDateOrContractMonth: "20270319", strike: 5000, right: "C" as never, exchange: "CME", currency: "USD", tradingClass: "ES", multiplier: 50 },
      contractMonth,
      underConId: conId + 1,
      underSymbol: "ES",
    });
    const r = await resolverOn(new RecordedGateway(), () => [fop(10, "202706"), fop(20, "202703")]).resolve("futures", "ESH7C5000");
    expect(r).toMatchObject({ assetClass: "future-option", conId: 20, underlyingConId: 21, expiry: "20270319", strike: "5000", right: "call" });
  });

  it("a combo resolves each leg, then is a BAG of their conIds with |ratio| and BUY/SELL, keyed apart from other combos", async () => {
    const gateway = new RecordedGateway();
    const kept: string[] = [];
    const r = await resolverOn(gateway, (c) => [option(c.strike!, "C", c.strike === 200 ? 1001 : 1002)], { get: () => undefined, put: (key) => kept.push(key) }).resolve("spot", "COMBO:AAPL270115C00200000,-2*AAPL270115C00210000");
    expect(gateway.calls("reqContractDetails")).toHaveLength(2);
    // The legs are kept across restarts, the combo is rebuilt from them (a leg may expire).
    expect(kept.sort()).toEqual(["spot/AAPL270115C00200000", "spot/AAPL270115C00210000"]);
    expect(r).toMatchObject({ assetClass: "combo", secType: "BAG", conId: 0, legs: [{ symbol: "AAPL270115C00200000", conId: 1001, ratio: 1 }, { symbol: "AAPL270115C00210000", conId: 1002, ratio: -2 }] });
    expect(r.requestContract).toEqual({
      symbol: "AAPL",
      secType: "BAG",
      exchange: "SMART",
      currency: "USD",
      comboLegs: [
        { conId: 1001, ratio: 1, action: "BUY", exchange: "SMART" },
        { conId: 1002, ratio: 2, action: "SELL", exchange: "SMART" },
      ],
    });
  });

  it("a contract kept by an earlier version (v1 record) is fetched again; a v2 record is used without asking IB", async () => {
    const gateway = new RecordedGateway();
    const first = await resolverOn(gateway, () => [option(200, "C", 1001)]).resolve("spot", "AAPL270115C00200000");
    const rows = new Map<string, { details: string; fetchedAtMs: number }>([
      ["spot/AAPL270115C00200000", { details: serializeInstrument(first), fetchedAtMs: NOW }],
      ["spot/AAPL", { details: JSON.stringify({ ...first, v: 1, symbol: "AAPL" }), fetchedAtMs: NOW }],
    ]);
    const again = new RecordedGateway();
    const resolver = resolverOn(again, () => [{ ...option(200, "C", 1001), contract: { conId: 265598, symbol: "AAPL", secType: "STK" as never, exchange: "SMART", currency: "USD" } }], { get: (k) => rows.get(k), put: () => undefined });
    expect(await resolver.resolve("spot", "AAPL270115C00200000")).toMatchObject({ conId: 1001, strike: "200" });
    expect(again.calls("reqContractDetails")).toHaveLength(0);
    expect(await resolver.resolve("spot", "AAPL")).toMatchObject({ assetClass: "stock", conId: 265598 });
    expect(again.calls("reqContractDetails")).toHaveLength(1);
  });
});
