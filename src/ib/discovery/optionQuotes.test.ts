import { EventName, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { IbError } from "../ibErrors.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { RecordedGateway } from "../testing/recordedGateway.js";
import { optionQuotes } from "./optionQuotes.js";

// Recorded-message seam (src/ib/testing/recordedGateway.ts): IB answering reqMktData for options, with
// quotes and model computations, a 354 for some, silence for others.

const option = (symbol: string, conId: number): ResolvedInstrument =>
  ({ symbol, secType: "OPT", assetClass: "option", conId, legs: [], requestContract: { conId, secType: "OPT" } }) as unknown as ResolvedInstrument;

/** A chain of `n` options; `behaviour(i)` says how IB answers option i. */
function market(n: number, behaviour: (i: number) => "quote" | "no-model" | "354" | "silent" | "unknown", limit: number) {
  const gateway = new RecordedGateway();
  const ctx = gateway.context({ marketDataLines: limit, depth: 3, tickByTick: 3 });
  const symbols = Array.from({ length: n }, (_, i) => `AAPL2701${String(15).padStart(2, "0")}C${String(100_000 + i * 1000).padStart(8, "0")}`);
  const bySymbol = new Map(symbols.map((s, i) => [s, i]));
  let peak = 0;
  gateway.answer("reqMktData", (reqId: number, contract: Contract) => {
    peak = Math.max(peak, ctx.budget.inUse("marketDataLines"));
    const how = behaviour(contract.conId! - 1);
    setImmediate(() => {
      if (how === "354") return gateway.error(reqId, 354, "Requested market data is not subscribed.");
      if (how === "silent") return;
      gateway.emit(EventName.tickPrice, reqId, 1, 2.5);
      gateway.emit(EventName.tickPrice, reqId, 2, 2.6);
      if (how === "quote") gateway.emit(EventName.tickOptionComputation, reqId, 13, 0, 0.3, 0.5, 2.55, 0, 0.02, 0.1, -0.03, 200);
    });
  });
  const resolve = async (_m: string, symbol: string) => {
    const i = bySymbol.get(symbol)!;
    if (behaviour(i) === "unknown") throw new IbError("not-found", `no IB contract for ${symbol}`, 200);
    return option(symbol, i + 1);
  };
  return { gateway, ctx, symbols, resolve, peak: () => peak };
}

describe("option quotes (chain snapshot)", () => {
  it("quotes 60 options through 20 lines, 5 of them held by another feed: never more than the 15 free at once, every line given back", async () => {
    const m = market(60, () => "quote", 20);
    for (let i = 0; i < 5; i++) m.ctx.budget.take("marketDataLines");
    const result = await optionQuotes({ ctx: m.ctx, resolve: m.resolve }, "spot", m.symbols, { timeoutMs: 2_000 });
    expect(result.quotes).toHaveLength(60);
    expect(result.missing).toEqual([]);
    expect(m.peak()).toBeLessThanOrEqual(20);
    expect(result.maxLinesOpen).toBe(15);
    expect(m.gateway.calls("reqMktData")).toHaveLength(60);
    // Plain streaming requests (not snapshot=true), each cancelled once its quote was complete.
    expect(m.gateway.calls("reqMktData").every((a) => a[3] === false)).toBe(true);
    expect(m.gateway.calls("cancelMktData")).toHaveLength(60);
    expect(m.ctx.budget.inUse("marketDataLines")).toBe(5);
    // In the order asked, each with its model computation.
    expect(result.quotes.map((q) => q.symbol)).toEqual(m.symbols);
    expect(result.quotes[0]!.level1).toMatchObject({ bid: expect.anything(), ask: expect.anything(), optionComputations: [{ kind: "model" }] });
  });

  it("holds no more than maxLines at once when fewer are asked for than are free", async () => {
    const m = market(12, () => "quote", 100);
    const result = await optionQuotes({ ctx: m.ctx, resolve: m.resolve }, "spot", m.symbols, { maxLines: 4 });
    expect(result.quotes).toHaveLength(12);
    expect(result.maxLinesOpen).toBe(4);
    expect(m.peak()).toBeLessThanOrEqual(4);
  });

  it("reports the symbols it could not quote with the reason, and quotes the others", async () => {
    const how = (i: number) => (["quote", "354", "silent", "unknown", "no-model"] as const)[i % 5]!;
    const m = market(10, how, 3);
    const result = await optionQuotes({ ctx: m.ctx, resolve: m.resolve }, "spot", m.symbols, { timeoutMs: 150 });
    const reasons = new Map(result.missing.map((x) => [x.symbol, x.reason]));
    expect(result.quotes.map((q) => q.symbol)).toEqual(m.symbols.filter((_, i) => how(i) === "quote" || how(i) === "no-model"));
    // A two-sided quote with no model computation in time is still a quote (without computations).
    expect(result.quotes.find((q) => q.symbol === m.symbols[4])!.level1.optionComputations).toBeUndefined();
    expect(reasons.get(m.symbols[1]!)).toMatch(/not subscribed/);
    expect(reasons.get(m.symbols[2]!)).toMatch(/no quote from IB within 150 ms/);
    expect(reasons.get(m.symbols[3]!)).toMatch(/no IB contract/);
    expect(result.missing).toHaveLength(6);
    expect(result.maxLinesOpen).toBeLessThanOrEqual(3);
    expect(m.ctx.budget.inUse("marketDataLines")).toBe(0);
  });

  it("uses an open L1 feed's state instead of a new line", async () => {
    const m = market(3, () => "quote", 10);
    const level1 = { timeMs: 1, dataType: "live" as const, last: undefined, bid: { toString: () => "1" }, ask: { toString: () => "2" }, optionComputations: [{ kind: "model" as const, priceBased: false }] };
    const result = await optionQuotes({ ctx: m.ctx, resolve: m.resolve, openQuote: (i) => (i.conId === 2 ? (level1 as never) : undefined) }, "spot", m.symbols);
    expect(result.quotes).toHaveLength(3);
    expect(m.gateway.calls("reqMktData")).toHaveLength(2);
  });

  it("a cancelled call cancels every line it holds", async () => {
    const m = market(30, () => "silent", 10);
    const c = new AbortController();
    const pending = optionQuotes({ ctx: m.ctx, resolve: m.resolve }, "spot", m.symbols, { signal: c.signal, timeoutMs: 60_000 });
    await new Promise<void>((resolve) => m.gateway.answer("reqMktData", () => m.ctx.budget.inUse("marketDataLines") === 10 && resolve()));
    c.abort();
    await expect(pending).rejects.toMatchObject({ kind: "cancelled" });
    expect(m.gateway.calls("cancelMktData")).toHaveLength(10);
    expect(m.ctx.budget.inUse("marketDataLines")).toBe(0);
  });

  it("opens no more lines once the Gateway is gone, and says so for every option it could not quote", async () => {
    const m = market(10, () => "silent", 2);
    let connected = true;
    const ctx = { ...m.ctx, isConnected: () => connected };
    let opened!: () => void;
    const twoOpen = new Promise<void>((resolve) => (opened = resolve));
    m.gateway.answer("reqMktData", () => m.ctx.budget.inUse("marketDataLines") === 2 && opened());
    const pending = optionQuotes({ ctx, resolve: m.resolve }, "spot", m.symbols, { timeoutMs: 100 });
    await twoOpen;
    connected = false;
    const result = await pending;
    expect(m.gateway.calls("reqMktData")).toHaveLength(2);
    expect(result.missing).toHaveLength(10);
    expect(result.missing.every((x) => /connection to the Gateway was lost/.test(x.reason))).toBe(true);
    expect(m.ctx.budget.inUse("marketDataLines")).toBe(0);
  });

  it("a call cancelled before it starts resolves nothing", async () => {
    const m = market(30, () => "quote", 10);
    let resolved = 0;
    const c = new AbortController();
    c.abort();
    const pending = optionQuotes({ ctx: m.ctx, resolve: (mt, s) => (resolved++, m.resolve(mt, s)) }, "spot", m.symbols, { signal: c.signal });
    await expect(pending).rejects.toMatchObject({ kind: "cancelled" });
    expect(resolved).toBe(0);
    expect(m.gateway.sent).toEqual([]);
  });

  it("charges each line to the caller's client and waits for its own lines when the client's share is used up", async () => {
    const m = market(8, () => "quote", 50);
    let held = 0;
    let peakHeld = 0;
    const charge = () => {
      if (held >= 2) throw new IbError("limit", "client quota");
      held++;
      peakHeld = Math.max(peakHeld, held);
      return () => held--;
    };
    const result = await optionQuotes({ ctx: m.ctx, resolve: m.resolve, charge }, "spot", m.symbols);
    expect(result.quotes).toHaveLength(8);
    expect(peakHeld).toBe(2);
    expect(held).toBe(0);
  });
});
