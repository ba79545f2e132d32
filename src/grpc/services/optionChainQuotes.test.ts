import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { OptionRight } from "../../../gen/ibprovider/v1/types.js";
import { dec } from "../../domain/decimal.js";
import type { ResolvedInstrument } from "../../ib/contracts/contractResolver.js";
import { createLogger } from "../../log/logger.js";
import { ApiError } from "../apiError.js";
import type { CallContext } from "../callContext.js";
import type { QuoteSource } from "./discoverySource.js";
import { quoteOptionChain } from "./optionChainQuotes.js";

const ESH7 = { symbol: "ESH7", secType: "FUT", assetClass: "future", conId: 620202703, localSymbol: "ESH7", exchange: "CME", legs: [], requestContract: { conId: 620202703, symbol: "ES", secType: "FUT" } } as unknown as ResolvedInstrument;
const strikes = ["5950", "6000", "6050"];

/** IB's chain of ESH7: the quarterly class ES and a weekly class EW3 expiring earlier. */
function source(): QuoteSource & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    resolve: async () => ESH7,
    optionChain: async () => ({
      underlying: ESH7,
      rows: [
        { exchange: "CME", tradingClass: "ES", multiplier: "50", expirations: ["20270319"], strikes },
        { exchange: "CME", tradingClass: "EW3", multiplier: "50", expirations: ["20270115"], strikes },
      ],
      fetchedAtMs: 0,
    }),
    optionQuotes: async (_m, symbols) => {
      asked.push(symbols);
      return { quotes: symbols.map((symbol) => ({ symbol, instrument: { ...ESH7, expiry: "20270319", strike: "6000", right: "call" as const }, level1: { timeMs: 0, dataType: "live" as const, last: dec(6000) } })), missing: [], maxLinesOpen: 1 };
    },
  };
}

const ctx = { method: "GetOptionChainQuotes", signal: new AbortController().signal, metadata: new Metadata(), peer: "", client: "test", log: createLogger("silent"), fail: () => undefined } as CallContext;
const request = { connectorType: "ib", marketType: "futures", underlying: "ESH7", expirations: ["20270115"], tradingClass: "", strikesAround: 0, strikeMin: "5950", strikeMax: "6050", right: OptionRight.OPTION_RIGHT_UNSPECIFIED, maxLines: 0, symbols: [] };

describe("chain snapshots of options on futures", () => {
  it("refuses another class than the root's instead of quoting the root's options under its expiries", async () => {
    const s = source();
    const err = await quoteOptionChain(s, { ...request, tradingClass: "EW3" }, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ reason: "INVALID_SELECTION", fieldViolations: [{ field: "trading_class" }] });
    // Only the underlying's price was asked: no ES option was quoted as if it were an EW3 one.
    expect(s.asked).toEqual([["ESH7"]]);
  });

  it("quotes the root's class by default", async () => {
    const s = source();
    const answer = await quoteOptionChain(s, { ...request, expirations: ["20270319"] }, ctx);
    expect(s.asked[1]).toEqual(["ESH7C5950", "ESH7P5950", "ESH7C6000", "ESH7P6000", "ESH7C6050", "ESH7P6050"]);
    expect(answer.quotes).toHaveLength(6);
  });

  it("refuses named options of another underlying than the one whose price it answers with", async () => {
    for (const [marketType, underlying, symbols, ok] of [
      ["futures", "ESH7", ["ESM7C6000"], false],
      ["futures", "ESH7", ["NQH7C20000"], false],
      ["futures", "ES", ["ESM7C6000"], true],
      ["spot", "AAPL", ["SPXW270115C06000000"], false],
      ["spot", "SPX", ["SPXW270115C06000000"], true],
    ] as const) {
      const outcome = await quoteOptionChain(source(), { ...request, marketType, underlying, expirations: [], strikeMin: "", strikeMax: "", symbols: [...symbols] }, ctx).then(
        () => "quoted",
        (e: unknown) => e,
      );
      if (ok) expect(outcome, `${underlying} ${symbols[0]}`).toBe("quoted");
      else expect(outcome, `${underlying} ${symbols[0]}`).toMatchObject({ reason: "INVALID_SELECTION", fieldViolations: [{ field: "symbols[0]" }] });
    }
  });

  it("names strikes_around when the strikes around the price make the selection too large, strike_max when the bounds do", async () => {
    const wide = async (over: Partial<typeof request>) => {
      const s = source();
      const chain = await s.optionChain("futures", "ESH7");
      const many = Array.from({ length: 250 }, (_, i) => String(5000 + i * 5));
      s.optionChain = async () => ({ ...chain, rows: [{ ...chain.rows[0]!, expirations: ["20270319", "20270331"], strikes: many }] });
      return quoteOptionChain(s, { ...request, expirations: ["20270319", "20270331"], ...over }, ctx).catch((e: unknown) => e);
    };
    expect(await wide({ strikeMin: "", strikeMax: "", strikesAround: 200 })).toMatchObject({ reason: "TOO_MANY_OPTIONS", fieldViolations: [{ field: "strikes_around" }] });
    expect(await wide({ strikeMin: "5000", strikeMax: "6500" })).toMatchObject({ reason: "TOO_MANY_OPTIONS", fieldViolations: [{ field: "strike_max" }] });
  });
});
