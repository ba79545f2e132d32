import { EventName, type Contract, type ContractDetails } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { RecordedGateway } from "../testing/recordedGateway.js";
import { futuresExpiries } from "./futuresExpiries.js";
import { OptionChains } from "./optionChains.js";
import { SymbolSearch } from "./symbolSearch.js";

// Recorded-message seam (src/ib/testing/recordedGateway.ts): symbolSamples, securityDefinitionOptionParameter
// and futures contract details as @stoqey/ib emits them, until the simulator answers them.

function instrument(over: Partial<ResolvedInstrument>): ResolvedInstrument {
  return { symbol: "AAPL", secType: "STK", assetClass: "stock", conId: 265598, exchange: "SMART", baseAsset: "AAPL", legs: [], requestContract: { conId: 265598, symbol: "AAPL" }, ...over } as ResolvedInstrument;
}

describe("symbol search", () => {
  it("sends IB's matching-symbols requests one at a time, spaced apart, and answers a repeated pattern from its 60 s cache", async () => {
    const gateway = new RecordedGateway();
    let nowMs = 1_000_000;
    const ctx = gateway.context(undefined, () => nowMs);
    const sentAt: number[] = [];
    gateway.answer("reqMatchingSymbols", (reqId: number, pattern: string) => {
      sentAt.push(performance.now());
      setImmediate(() => gateway.emit(EventName.symbolSamples, reqId, [{ contract: { conId: 1, symbol: pattern, secType: "STK", primaryExch: "NASDAQ", currency: "USD", description: `${pattern} INC` }, derivativeSecTypes: ["OPT", "WAR"] }]));
    });
    const search = new SymbolSearch(ctx, { spacingMs: 120 });
    const answers = await Promise.all([search.search("app"), search.search("MSF"), search.search("APP"), search.search("NVD")]);
    expect(answers[0]).toEqual([{ conId: 1, symbol: "APP", secType: "STK", assetClass: "stock", primaryExchange: "NASDAQ", currency: "USD", derivativeSecTypes: ["OPT", "WAR"], description: "APP INC" }]);
    // "app" and "APP" are one pattern: three requests, each at least the spacing after the one before.
    expect(gateway.calls("reqMatchingSymbols").map((a) => a[1])).toEqual(["APP", "MSF", "NVD"]);
    for (let i = 1; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(115);
    await search.search("APP");
    expect(gateway.calls("reqMatchingSymbols")).toHaveLength(3);
    nowMs += 60_000;
    await search.search("APP");
    expect(gateway.calls("reqMatchingSymbols")).toHaveLength(4);
  });

  it("a cancelled search rejects for its caller only", async () => {
    const gateway = new RecordedGateway();
    gateway.answer("reqMatchingSymbols", (reqId: number) => setImmediate(() => gateway.emit(EventName.symbolSamples, reqId, [])));
    const search = new SymbolSearch(gateway.context(), { spacingMs: 0 });
    const c = new AbortController();
    const first = search.search("X", c.signal);
    const second = search.search("X");
    c.abort();
    await expect(first).rejects.toMatchObject({ kind: "cancelled" });
    await expect(second).resolves.toEqual([]);
  });
});

describe("symbol search as a user types", () => {
  it("never sends a queued pattern whose callers all cancelled: the pattern typed last is asked next", async () => {
    const gateway = new RecordedGateway();
    let firstSent!: () => void;
    const sent = new Promise<void>((resolve) => (firstSent = resolve));
    gateway.answer("reqMatchingSymbols", (reqId: number) => {
      firstSent();
      setImmediate(() => gateway.emit(EventName.symbolSamples, reqId, []));
    });
    const search = new SymbolSearch(gateway.context(), { spacingMs: 50 });
    const typed = ["A", "AP", "APP", "APPL"].map((p) => ({ c: new AbortController(), p }));
    const superseded = typed.map(({ c, p }) => search.search(p, c.signal));
    await sent;
    for (const { c } of typed) c.abort();
    const last = search.search("APPLE", new AbortController().signal);
    for (const s of superseded) await expect(s).rejects.toMatchObject({ kind: "cancelled" });
    await expect(last).resolves.toEqual([]);
    expect(gateway.calls("reqMatchingSymbols").map((a) => a[1])).toEqual(["A", "APPLE"]);
    // A pattern whose queued request was dropped is asked afresh by the next caller.
    await expect(search.search("AP")).resolves.toEqual([]);
    expect(gateway.calls("reqMatchingSymbols").map((a) => a[1])).toEqual(["A", "APPLE", "AP"]);
  });
});

describe("option chains", () => {
  function chainsOn(gateway: RecordedGateway, underlying: ResolvedInstrument, nowMs: { value: number }) {
    const ctx = gateway.context(undefined, () => nowMs.value);
    const resolved: string[] = [];
    gateway.answer("reqSecDefOptParams", (reqId: number) =>
      setImmediate(() => {
        gateway.emit(EventName.securityDefinitionOptionParameter, reqId, "SMART", underlying.conId, underlying.symbol, "100", ["20270115", "20261218"], [210, 200, 202.5]);
        gateway.emit(EventName.securityDefinitionOptionParameter, reqId, "CBOE", underlying.conId, underlying.symbol, "100", ["20261218"], [200]);
        gateway.emit(EventName.securityDefinitionOptionParameterEnd, reqId);
      }),
    );
    const chains = new OptionChains(ctx, {
      resolve: async (_m, s) => {
        resolved.push(s);
        return underlying;
      },
    });
    return { chains, resolved };
  }

  it("lists each exchange's expirations and strikes in ascending order, one request shared and cached for 15 minutes", async () => {
    const gateway = new RecordedGateway();
    const now = { value: 5_000_000 };
    const { chains } = chainsOn(gateway, instrument({}), now);
    const [a, b] = await Promise.all([chains.chain("spot", "AAPL"), chains.chain("spot", "aapl")]);
    expect(a).toBe(b);
    expect(gateway.calls("reqSecDefOptParams")).toEqual([[expect.any(Number), "AAPL", "", "STK", 265598]]);
    expect(a.rows[0]).toEqual({ exchange: "SMART", tradingClass: "AAPL", multiplier: "100", expirations: ["20261218", "20270115"], strikes: ["200", "202.5", "210"] });
    expect(a.rows).toHaveLength(2);
    now.value += 14 * 60_000;
    await chains.chain("spot", "AAPL");
    expect(gateway.calls("reqSecDefOptParams")).toHaveLength(1);
    now.value += 60_000;
    await chains.chain("spot", "AAPL");
    expect(gateway.calls("reqSecDefOptParams")).toHaveLength(2);
  });

  it("forgets chains once they expire, whether or not they are asked again", async () => {
    const gateway = new RecordedGateway();
    const now = { value: 5_000_000 };
    const { chains } = chainsOn(gateway, instrument({}), now);
    await Promise.all(["AAPL", "MSFT", "NVDA"].map((s) => chains.chain("spot", s)));
    expect(chains.size).toBe(3);
    now.value += 15 * 60_000;
    await chains.chain("spot", "SPY");
    expect(chains.size).toBe(1);
  });

  it("asks for a future's options with the future's exchange", async () => {
    const gateway = new RecordedGateway();
    const es = instrument({ symbol: "ES", secType: "FUT", assetClass: "future", conId: 620731015, exchange: "CME", requestContract: { conId: 620731015, symbol: "ES" } });
    await chainsOn(gateway, es, { value: 0 }).chains.chain("futures", "ES");
    expect(gateway.calls("reqSecDefOptParams")[0]!.slice(1)).toEqual(["ES", "CME", "FUT", 620731015]);
  });

  it("refuses an option, bond or combo as an underlying before any IB request, and names an underlying without options", async () => {
    const gateway = new RecordedGateway();
    const { chains, resolved } = chainsOn(gateway, instrument({}), { value: 0 });
    for (const s of ["AAPL270115C00200000", "912828Z78", "COMBO:AAPL,-MSFT"]) {
      await expect(chains.chain("spot", s)).rejects.toMatchObject({ kind: "invalid", fact: "not-offered-for-class" });
    }
    expect(resolved).toEqual([]);
    expect(gateway.sent).toEqual([]);
    const empty = new RecordedGateway();
    empty.answer("reqSecDefOptParams", (reqId: number) => setImmediate(() => empty.emit(EventName.securityDefinitionOptionParameterEnd, reqId)));
    const none = new OptionChains(empty.context(), { resolve: async () => instrument({ symbol: "XYZ" }) });
    await expect(none.chain("spot", "XYZ")).rejects.toMatchObject({ kind: "not-found", message: expect.stringContaining("XYZ") });
  });
});

describe("futures expiries", () => {
  it("lists the unexpired months ascending with our symbols, the front month marked", async () => {
    const month = (conId: number, local: string, last: string): ContractDetails => ({ contract: { conId, symbol: "ES", secType: "FUT" as never, localSymbol: local, lastTradeDateOrContractMonth: last, multiplier: 50, exchange: "CME" } });
    let asked: Contract | undefined;
    const details = async (c: Contract) => {
      asked = c;
      return [month(3, "ESM7", "20270618"), month(1, "ESZ6", "20261218"), month(0, "ESU6", "20260918"), month(2, "ESH7", "20270319")];
    };
    const list = await futuresExpiries("es", details, Date.UTC(2026, 11, 3));
    expect(asked).toMatchObject({ symbol: "ES", secType: "FUT", exchange: "CME" });
    expect(list.map((f) => [f.symbol, f.lastTradeDate, f.front])).toEqual([
      ["ESZ6", "20261218", true],
      ["ESH7", "20270319", false],
      ["ESM7", "20270618", false],
    ]);
    expect(list[0]).toMatchObject({ localSymbol: "ESZ6", conId: 1, multiplier: "50", exchange: "CME" });
    await expect(futuresExpiries("ESZ6", details, 0)).rejects.toMatchObject({ kind: "invalid" });
  });
});
