import { createHash } from "node:crypto";
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient, type StreamTicksResponse, type TickEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import { SymbolServiceClient } from "../../gen/ibprovider/v1/symbol_service.js";
import { AssetClass, OptionComputationKind, OptionRight, StreamStatusKind, type Tick } from "../../gen/ibprovider/v1/types.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 18 (multi-asset), end to end: the whole service on a simulated Gateway of its own (IB's market data
// lines limited to 20 there, so a snapshot that opened a 21st line would get IB's error 101), gRPC over a
// real socket. One client ("quant") has a quota of 20 IB lines.
const TOKEN = "quant-token-0123456789";
const LINES = 20;
let testApp: TestApp;
let md: MarketDataServiceClient;
let symbols: SymbolServiceClient;
const auth = new Metadata();
auth.set("authorization", `Bearer ${TOKEN}`);

beforeAll(async () => {
  testApp = await startTestApp({
    clients: { clients: [{ name: "quant", tokenSha256: createHash("sha256").update(TOKEN).digest("hex"), quotas: { ibLines: LINES } }] },
    provider: { connectors: [{ connectorType: "ib", markets: [{ marketType: "spot", symbols: [{ name: "AAPL" }, { name: "btc-usdt" }] }] }] },
    simulator: { seed: 11, limits: { marketDataLines: LINES } },
  });
  md = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
  symbols = new SymbolServiceClient(testApp.grpcAddress, credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  md?.close();
  symbols?.close();
  await testApp?.stop();
});

type Unary<Req, Res> = (req: Req, md: Metadata, options: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;
function call<Req, Res>(fn: Unary<Req, Res>, client: object, req: Req, timeoutMs = 20_000): Promise<Res> {
  return new Promise((resolve, reject) => fn.call(client, req, auth, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))));
}

const spot = { connectorType: "ib", marketType: "spot" };
const futures = { connectorType: "ib", marketType: "futures" };

/** The first `count` ticks of a stream (and its statuses), then cancels it. */
function collectTicks(stream: ClientReadableStream<StreamTicksResponse>, count: number, timeoutMs = 10_000): Promise<{ ticks: Tick[]; statuses: TickEvent[] }> {
  const ticks: Tick[] = [];
  const statuses: TickEvent[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`${ticks.length} of ${count} ticks within ${timeoutMs} ms; statuses: ${statuses.map((s) => (s.event?.$case === "status" ? s.event.value.message : "")).join(" | ")}`));
    }, timeoutMs);
    stream.on("data", (r: StreamTicksResponse) => {
      for (const e of r.events) {
        if (e.event?.$case === "tick") ticks.push(e.event.value);
        else if (e.event?.$case === "status") statuses.push(e);
      }
      if (ticks.length >= count) {
        clearTimeout(timer);
        stream.cancel();
        resolve({ ticks, statuses });
      }
    });
    stream.on("error", (err: ServiceError) => {
      if (err.code === status.CANCELLED) return;
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Waits for a tick carrying a model computation with a delta. */
function modelTick(symbol: string, timeoutMs = 10_000): Promise<Tick> {
  const stream = md.streamTicks({ ...spot, symbol }, auth);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`no model computation for ${symbol} within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on("data", (r: StreamTicksResponse) => {
      for (const e of r.events) {
        if (e.event?.$case !== "tick") continue;
        const model = e.event.value.optionComputations.find((c) => c.kind === OptionComputationKind.OPTION_COMPUTATION_KIND_MODEL);
        if (model !== undefined && model.delta !== "" && e.event.value.bid !== "" && e.event.value.ask !== "") {
          clearTimeout(timer);
          stream.cancel();
          resolve(e.event.value);
          return;
        }
      }
    });
    stream.on("error", (err: ServiceError) => {
      if (err.code === status.CANCELLED) return;
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** ISIN check digit: letters as two digits (A = 10), then Luhn from the right. */
function isinCheckDigit(body: string): number {
  const digits = [...body].map((c) => (/\d/.test(c) ? c : String(c.charCodeAt(0) - 55))).join("");
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let v = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) v *= 2;
    sum += Math.floor(v / 10) + (v % 10);
  }
  return (10 - (sum % 10)) % 10;
}

function reasonOf(err: unknown): { code: status; reason: string | undefined; ibCode: string | undefined } {
  const e = err as ServiceError;
  const info = readRichStatus(e)?.errorInfo;
  return { code: e.code, reason: info?.reason, ibCode: info?.metadata.ibCode };
}

describe("discovery", () => {
  it("finds AAPL by a ticker prefix and by part of its name, with the symbol to use and its derivatives", async () => {
    for (const query of ["AAP", "apple"]) {
      const { matches } = await call(symbols.searchSymbols, symbols, { connectorType: "ib", query });
      const aapl = matches.find((m) => m.ibSymbol === "AAPL");
      expect(aapl, query).toMatchObject({ symbol: "AAPL", marketType: "spot", assetClass: AssetClass.ASSET_CLASS_STOCK, secType: "STK", currency: "USD" });
      expect(aapl!.derivativeSecTypes).toContain("OPT");
    }
  });

  it("refuses a search query with control characters before IB sees it (a NUL would split IB's message)", async () => {
    for (const query of ["AP\u0000PL", "apple\ninc"]) {
      const err = await call(symbols.searchSymbols, symbols, { connectorType: "ib", query }).catch((e: unknown) => e);
      expect(reasonOf(err), JSON.stringify(query)).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "INVALID_QUERY" });
    }
  });

  it("lists AAPL's option chain: expiries and strikes ascending, per exchange", async () => {
    const chain = await call(symbols.getOptionChain, symbols, { ...spot, underlying: "AAPL", exchange: "", tradingClass: "" });
    expect(chain.underlying).toMatchObject({ name: "AAPL", assetClass: AssetClass.ASSET_CLASS_STOCK });
    const smart = chain.rows.find((r) => r.exchange === "SMART" && r.tradingClass === "AAPL")!;
    expect(smart.multiplier).toBe("100");
    expect(smart.expirations.length).toBeGreaterThanOrEqual(4);
    expect([...smart.expirations].sort()).toEqual(smart.expirations);
    const strikes = smart.strikes.map(Number);
    expect([...strikes].sort((a, b) => a - b)).toEqual(strikes);
    const filtered = await call(symbols.getOptionChain, symbols, { ...spot, underlying: "AAPL", exchange: "SMART", tradingClass: "" });
    expect(filtered.rows.every((r) => r.exchange === "SMART")).toBe(true);
  });

  it("lists ES's futures nearest first with the front one flagged, and serves a month other than the front", async () => {
    const { contracts } = await call(symbols.listFutures, symbols, { connectorType: "ib", root: "ES" });
    expect(contracts.length).toBeGreaterThanOrEqual(3);
    expect(contracts[0]!.front).toBe(true);
    expect(contracts.filter((c) => c.front)).toHaveLength(1);
    const next = contracts[1]!;
    const { symbol } = await call(symbols.getSymbol, symbols, { ...futures, symbol: next.symbol });
    expect(symbol).toMatchObject({ assetClass: AssetClass.ASSET_CLASS_FUTURE, localSymbol: next.localSymbol, conId: next.conId, expiry: next.lastTradeDate });
    const front = await call(symbols.getSymbol, symbols, { ...futures, symbol: "ES" });
    expect(front.symbol!.conId).toBe(contracts[0]!.conId);
    const { ticks } = await collectTicks(md.streamTicks({ ...futures, symbol: next.symbol }, auth), 2);
    expect(ticks[0]!.symbol).toBe(next.symbol);
    const candles = await call(md.getCandles, md, { ...futures, symbol: next.symbol, interval: "h1", days: 2 });
    expect(candles.candles.length).toBeGreaterThan(0);
  });

  it("lists configured symbols by the canonical text their events carry", async () => {
    for (const resolve of [false, true]) {
      const { symbols: listed } = await call(symbols.listSymbols, symbols, { ...spot, resolve });
      expect(listed.map((s) => s.name)).toEqual(["AAPL", "BTCUSDT"]);
    }
    const { ticks } = await collectTicks(md.streamTicks({ ...spot, symbol: "btc-usdt" }, auth), 1);
    expect(ticks[0]!.symbol).toBe("BTCUSDT");
  });

  it("refuses a month as ListFutures' root with INVALID_SYMBOL on the field root, before asking IB", async () => {
    for (const root of ["ESH7", "ES-202703", "ESH7C6000"]) {
      const err = await call(symbols.listFutures, symbols, { connectorType: "ib", root }).catch((e: unknown) => e);
      expect(reasonOf(err), root).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "INVALID_SYMBOL" });
      expect(readRichStatus(err as ServiceError)?.badRequest?.fieldViolations[0]?.field).toBe("root");
    }
    const { contracts } = await call(symbols.listFutures, symbols, { connectorType: "ib", root: "es" });
    expect(contracts[0]!.symbol).toMatch(/^ES[FGHJKMNQUVXZ]\d$/);
  });
});

describe("options", () => {
  let expiry: string;
  let atm: string;
  const occ = (right: "C" | "P", strike: string) => `AAPL${expiry.slice(2)}${right}${String(Math.round(Number(strike) * 1000)).padStart(8, "0")}`;

  beforeAll(async () => {
    const chain = await call(symbols.getOptionChain, symbols, { ...spot, underlying: "AAPL", exchange: "SMART", tradingClass: "AAPL" });
    expiry = chain.rows[0]!.expirations[1]!; // not the nearest: a week or more left, so greeks are not degenerate
    const quotes = await call(md.getOptionChainQuotes, md, { ...spot, underlying: "AAPL", expirations: [expiry], tradingClass: "", strikesAround: 1, strikeMin: "", strikeMax: "", right: OptionRight.OPTION_RIGHT_CALL, maxLines: 0, symbols: [] });
    atm = quotes.quotes[0]!.strike;
  }, 30_000);

  it("resolves an OCC symbol and the same option in structured form to one instrument", async () => {
    const bySymbol = await call(symbols.getSymbol, symbols, { ...spot, symbol: occ("C", atm) });
    expect(bySymbol.symbol).toMatchObject({ name: occ("C", atm), assetClass: AssetClass.ASSET_CLASS_OPTION, secType: "OPT", underlying: "AAPL", expiry, strike: atm, right: OptionRight.OPTION_RIGHT_CALL, multiplier: "100" });
    const structured = await call(symbols.getSymbol, symbols, {
      ...spot,
      symbol: "",
      instrument: { assetClass: AssetClass.ASSET_CLASS_OPTION, symbol: "aapl", expiry, strike: atm, right: OptionRight.OPTION_RIGHT_CALL, localSymbol: "", tradingClass: "", cusip: "", isin: "", legs: [] },
    });
    expect(structured.symbol).toMatchObject({ name: occ("C", atm), conId: bySymbol.symbol!.conId });
  });

  it("streams an option's greeks: a call's delta in (0, 1), a put's in (-1, 0), and call - put = S - K discounted", async () => {
    const [call_, put] = await Promise.all([modelTick(occ("C", atm)), modelTick(occ("P", atm))]);
    const model = (t: Tick) => t.optionComputations.find((c) => c.kind === OptionComputationKind.OPTION_COMPUTATION_KIND_MODEL)!;
    const c = model(call_);
    const p = model(put);
    expect(Number(c.delta)).toBeGreaterThan(0);
    expect(Number(c.delta)).toBeLessThan(1);
    expect(Number(p.delta)).toBeGreaterThan(-1);
    expect(Number(p.delta)).toBeLessThan(0);
    for (const m of [c, p]) {
      expect(Number(m.impliedVolatility)).toBeGreaterThan(0);
      expect(Number(m.gamma)).toBeGreaterThan(0);
      expect(Number(m.vega)).toBeGreaterThan(0);
      expect(Number(m.underlyingPrice)).toBeGreaterThan(0);
    }
    // Parity of the model prices: C - P = S - K·e^(-rT) ≥ S - K, and the discount is small (rates ≤ 10 %, T ≤ 2 months).
    const s = Number(c.underlyingPrice);
    const k = Number(atm);
    const diff = Number(c.optionPrice) - Number(p.optionPrice);
    expect(diff).toBeGreaterThanOrEqual(s - k - 0.02);
    expect(diff).toBeLessThanOrEqual(s - k * Math.exp(-0.1 * (2 / 12)) + 0.02 + Math.abs(s - Number(p.underlyingPrice)));
  });

  it("quotes 60 strikes of a chain with a quota of 20 lines: never more than 20 open, every strike quoted", async () => {
    const chain = await call(symbols.getOptionChain, symbols, { ...spot, underlying: "SPY", exchange: "SMART", tradingClass: "SPY" });
    const spyExpiry = chain.rows[0]!.expirations[1]!;
    const res = await call(md.getOptionChainQuotes, md, { ...spot, underlying: "SPY", expirations: [spyExpiry], tradingClass: "", strikesAround: 60, strikeMin: "", strikeMax: "", right: OptionRight.OPTION_RIGHT_CALL, maxLines: 0, symbols: [] }, 60_000);
    expect(res.missing).toEqual([]);
    expect(res.quotes).toHaveLength(60);
    expect(res.maxLinesOpen).toBeGreaterThan(1);
    expect(res.maxLinesOpen).toBeLessThanOrEqual(LINES);
    expect(Number(res.underlyingPrice)).toBeGreaterThan(0);
    for (const q of res.quotes) {
      expect(q.right).toBe(OptionRight.OPTION_RIGHT_CALL);
      expect(q.tick!.optionComputations.length).toBeGreaterThan(0);
    }
    // Calls are worth less the higher the strike (each quote at its own instant: allow the spread).
    const mids = res.quotes.map((q) => (Number(q.tick!.bid) + Number(q.tick!.ask)) / 2);
    expect(mids[0]!).toBeGreaterThan(mids[mids.length - 1]!);
    // Every line was given back.
    expect(testApp.app.adapter.lines.heldBy("quant", "marketDataLines")).toBe(0);
  });

  it("quotes a combo from its legs: a call spread's bid and ask bracket the legs' mids' difference", async () => {
    const higher = String(Number(atm) + 10);
    const combo = `COMBO:${occ("C", atm)},-${occ("C", higher)}`;
    const [{ ticks }, low, high] = await Promise.all([collectTicks(md.streamTicks({ ...spot, symbol: combo }, auth), 3), modelTick(occ("C", atm)), modelTick(occ("C", higher))]);
    const t = ticks.find((x) => x.bid !== "" && x.ask !== "")!;
    expect(t.symbol).toBe(combo);
    const legs = (Number(low.bid) + Number(low.ask)) / 2 - (Number(high.bid) + Number(high.ask)) / 2;
    expect(Number(t.bid)).toBeLessThanOrEqual(Number(t.ask));
    expect(Math.abs((Number(t.bid) + Number(t.ask)) / 2 - legs)).toBeLessThan(Math.max(0.5, Number(t.ask) - Number(t.bid)) + 0.5);
  });

  it("answers an option that is not listed with NOT_FOUND and IB's code 200", async () => {
    const err = await call(symbols.getSymbol, symbols, { ...spot, symbol: occ("C", "9990") }).catch((e: unknown) => e);
    expect(reasonOf(err)).toMatchObject({ code: status.NOT_FOUND, reason: "SYMBOL_NOT_FOUND", ibCode: "200" });
  });
});

describe("indices, bonds and funds", () => {
  it("streams SPX as values without bid, ask or sizes, says so, and refuses trades of an index with the reason", async () => {
    // One tick: outside US trading hours an index's value does not move (as IB's), so a second may never come.
    const { ticks, statuses } = await collectTicks(md.streamTicks({ ...spot, symbol: "SPX" }, auth), 1);
    const advisory = statuses.find((s) => s.event?.$case === "status" && s.event.value.kind === StreamStatusKind.STREAM_STATUS_KIND_ADVISORY);
    expect(advisory?.event?.$case === "status" && advisory.event.value.message).toContain("index");
    for (const t of ticks) expect({ bid: t.bid, ask: t.ask, bidSize: t.bidSize, askSize: t.askSize, lastSize: t.lastSize }).toEqual({ bid: "", ask: "", bidSize: "", askSize: "", lastSize: "" });
    expect(ticks.some((t) => t.last !== "")).toBe(true);
    const trades = md.streamTrades({ ...spot, symbol: "SPX" }, auth);
    const err = await new Promise<ServiceError>((resolve) => trades.on("error", resolve));
    expect(reasonOf(err)).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "NOT_OFFERED_FOR_ASSET_CLASS" });
    expect(err.details).toContain("index");
  });

  it("resolves the simulated Treasury note by CUSIP and by ISIN, and the fund VFIAX", async () => {
    const chain = await call(symbols.searchSymbols, symbols, { connectorType: "ib", query: "VFIAX" });
    expect(chain.matches[0]).toMatchObject({ symbol: "VFIAX", assetClass: AssetClass.ASSET_CLASS_FUND });
    const fund = await call(symbols.getSymbol, symbols, { ...spot, symbol: "VFIAX" });
    expect(fund.symbol).toMatchObject({ assetClass: AssetClass.ASSET_CLASS_FUND, secType: "FUND" });
    // The simulator's note: CUSIP 91282CLW + its check digit (docs/simulator.md).
    const bond = (await call(symbols.searchSymbols, symbols, { connectorType: "ib", query: "91282CLW" })).matches.find((m) => m.secType === "BOND")!;
    expect(bond).toMatchObject({ assetClass: AssetClass.ASSET_CLASS_BOND, marketType: "spot" });
    const BOND_CUSIP = bond.symbol;
    const BOND_ISIN = `US${BOND_CUSIP}${isinCheckDigit(`US${BOND_CUSIP}`)}`;
    const byCusip = await call(symbols.getSymbol, symbols, { ...spot, symbol: BOND_CUSIP });
    expect(byCusip.symbol).toMatchObject({ assetClass: AssetClass.ASSET_CLASS_BOND, secType: "BOND", cusip: BOND_CUSIP });
    const byIsin = await call(symbols.getSymbol, symbols, { ...spot, symbol: BOND_ISIN });
    expect(byIsin.symbol!.conId).toBe(byCusip.symbol!.conId);
  });
});
