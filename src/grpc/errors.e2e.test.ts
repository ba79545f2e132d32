import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Timestamp } from "../../gen/google/protobuf/timestamp.js";
import {
  MarketDataServiceClient,
  type GetCandlesRequest,
  type GetCandlesResponse,
  type GetOrderBookResponse,
  type GetTradesRequest,
  type GetTradesResponse,
  type StreamOrderBookResponse,
} from "../../gen/ibprovider/v1/market_data_service.js";
import { SymbolServiceClient, type GetSymbolResponse, type ListSymbolsResponse } from "../../gen/ibprovider/v1/symbol_service.js";
import { AccountServiceClient, type GetAccountResponse } from "../../gen/ibprovider/v1/account_service.js";
import type { RunningApp } from "../app.js";
import type { SimulatorHandle } from "../simulator/index.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { ERROR_DOMAIN } from "./apiError.js";
import { readRichStatus } from "./statusDetails.js";

/*
 * Every error reason a client can get, end to end: generated TypeScript clients ↔ the real gRPC server ↔ the
 * IB adapter ↔ a simulated IB Gateway speaking the TWS protocol, all over loopback sockets. Each error is
 * checked as a client sees it: the gRPC status code, the google.rpc.Status in grpc-status-details-bin with
 * one ErrorInfo (stable reason, domain, IB code in metadata when IB sent one), BadRequest naming the field
 * for bad input, and the server still serving afterwards.
 *
 * One app, pointed (IB_GATEWAY_URL) at a simulator this file starts, so that it can be made stricter than
 * IB and be taken down:
 *  - entitlements: IBM has no market data permission (SAP has none built in; TSLA is delayed-only);
 *  - IB's per-contract historical pacing window measured 30 s instead of IB's documented 2 s (with 6
 *    requests allowed in it instead of 5), so the adapter's scheduler, which paces for a shorter window, can
 *    be answered with 162 "pacing violation";
 *  - IB_MARKET_DATA_TYPE=live, so that a delayed-only symbol is refused (10089) instead of served delayed.
 * The app's own pacing windows (AppConfig.historicalPacing) are shorter than IB's where a test would wait
 * them out (per contract, identical requests, the back-off before a retry): the same rules in seconds.
 * UNIMPLEMENTED and UNAUTHENTICATED are covered in server.test.ts.
 *
 * Historical requests: the simulator (like IB) remembers them per contract for its 30 s pacing window, so
 * each test asks history of its own contract (pacing: ETHUSDT; deadline: BTCUSDT; then SPY, MSFT; AAPL and
 * IBM once each), and no two are identical (IB's 15 s rule would hold the second).
 */

const TOKEN = "errors-e2e-token";
/** The app's warnings and errors, kept to check what reached IB (e.g. pacing retries, per contract). */
const logLines: string[] = [];
const log = pino({ level: "warn" }, { write: (line: string) => void logLines.push(line) });
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);

/** The simulator's per-contract pacing window (IB: 2 s; the adapter paces for PACING's 1 s + 200 ms margin). */
const SIM_SAME_CONTRACT_WINDOW_MS = 30_000;
/**
 * The app's pacing: IB's windows / 10 (15 s identical → 1.5 s, 10 s back-off → 1 s), the per-contract one
 * / 2 (2 s → 1 s, margin 1 s → 200 ms) so that what it holds stays held well past a 300 ms deadline.
 */
const PACING = { sameContractWindowMs: 1_000, safetyMarginMs: 200, identicalWindowMs: 1_500, pacingBackoffMs: 1_000 };
/** When the adapter sends what it held for IB's per-contract window. */
const HELD_MS = PACING.sameContractWindowMs + PACING.safetyMarginMs;

let testApp: TestApp;
let simulator: SimulatorHandle;
let app: RunningApp;
let marketData: MarketDataServiceClient;
let symbols: SymbolServiceClient;
let accounts: AccountServiceClient;

interface Outcome {
  error: unknown;
  elapsedMs: number;
}
/** Started right after the app: it needs IB's pacing back-off to elapse, so it runs while the other tests do. */
let pacingProbe: Promise<Outcome>;

beforeAll(async () => {
  testApp = await startTestApp({
    token: TOKEN,
    log,
    simulator: { seed: 5, entitlements: { IBM: "none" }, limits: { historicalSameContractMs: SIM_SAME_CONTRACT_WINDOW_MS, historicalSameContractMax: 7 } },
    historicalPacing: PACING,
    env: { IB_MARKET_DATA_TYPE: "live" },
    // No configured (active) subscriptions: every IB line and history request in this file is a test's own.
    // SAP trades in EUR on IBIS; the built-in mapping would ask IB for a USD stock, so the config says which.
    provider: { provider: { connectors: [{ connectorType: "ib", enabled: true, markets: [{ marketType: "spot", symbols: [{ name: "AAPL" }, { name: "BTCUSDT" }, { name: "SAP", ib: { currency: "EUR", primaryExch: "IBIS" } }] }] }] } },
  });
  app = testApp.app;
  simulator = testApp.simulator!;
  marketData = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
  symbols = new SymbolServiceClient(testApp.grpcAddress, credentials.createInsecure());
  accounts = new AccountServiceClient(testApp.grpcAddress, credentials.createInsecure());
  // Connected before the first timed call: "at once" is about the service, not a channel's first connect.
  await Promise.all([marketData, symbols, accounts].map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 5_000, (e) => (e ? reject(e) : resolve())))));
  // min1 over 8 days of ETHUSDT is 9 IB requests: the adapter sends 5 and holds the rest for its per-contract
  // window (HELD_MS); the simulator, still inside its 30 s window, takes one more and answers the others
  // with 162 "pacing violation".
  // The adapter retries a paced-out request once after its back-off (and no sooner than its own identical-
  // request rule allows), gets 162 again, and only then gives up: ~3 s in all (~19 s at IB's windows).
  pacingProbe = outcomeOf(candles({ symbol: "ETHUSDT", interval: "min1", days: 8 }, 15_000));
});

afterAll(async () => {
  marketData?.close();
  symbols?.close();
  accounts?.close();
  await testApp?.stop();
});

// --- helpers ---------------------------------------------------------------------------------------------

type Callback<Res> = (err: ServiceError | null, res: Res) => void;

function unary<Res>(fn: (cb: Callback<Res>) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === "number";
}

function outcomeOf(call: Promise<unknown>): Promise<Outcome> {
  const started = Date.now();
  return call.then(
    () => ({ error: undefined, elapsedMs: Date.now() - started }),
    (error: unknown) => ({ error, elapsedMs: Date.now() - started }),
  );
}

/** The error a unary call ends with; the test fails when the call succeeds instead. */
async function failureOf(call: Promise<unknown>): Promise<ServiceError> {
  const { error } = await outcomeOf(call);
  if (error === undefined) throw new Error("expected the call to fail, but it succeeded");
  if (!isServiceError(error)) throw error;
  return error;
}

/** The error a server stream ends with (data before it is ignored), within `timeoutMs`. */
function streamFailureOf(stream: ClientReadableStream<unknown>, timeoutMs = 5_000): Promise<ServiceError> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`the stream did not fail within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on("data", () => undefined);
    stream.on("error", (e: ServiceError) => {
      clearTimeout(timer);
      resolve(e);
    });
    stream.on("end", () => {
      clearTimeout(timer);
      reject(new Error("the stream ended without an error"));
    });
  });
}

interface ExpectedError {
  code: status;
  reason: string;
  /** IB's message code in ErrorInfo metadata; absent means the metadata must not carry one. */
  ibCode?: string;
  /** The request field the error names (message, ErrorInfo metadata and the one BadRequest violation). */
  field?: string;
}

function expectApiError(err: ServiceError, expected: ExpectedError): void {
  expect(status[err.code], err.details).toBe(status[expected.code]);
  const rich = readRichStatus(err);
  expect(rich, "a google.rpc.Status in grpc-status-details-bin").toBeDefined();
  expect(rich!.status.code).toBe(expected.code);
  expect(rich!.status.message).toBe(err.details);
  expect(rich!.errorInfo, err.details).toMatchObject({ reason: expected.reason, domain: ERROR_DOMAIN });
  const metadata = rich!.errorInfo!.metadata;
  if (expected.ibCode === undefined) expect(metadata).not.toHaveProperty("ibCode");
  else expect(metadata).toMatchObject({ ibCode: expected.ibCode });
  if (expected.field === undefined) {
    expect(rich!.badRequest).toBeUndefined();
  } else {
    expect(err.details).toContain(expected.field);
    expect(metadata).toMatchObject({ field: expected.field });
    expect(rich!.badRequest?.fieldViolations.map((v) => v.field)).toEqual([expected.field]);
    expect(rich!.badRequest?.fieldViolations[0]?.description).not.toBe("");
  }
}

const deadlineIn = (ms: number) => ({ deadline: Date.now() + ms });
const timestamp = (ms: number): Timestamp => ({ seconds: String(Math.floor(ms / 1000)), nanos: 0 });
const HOUR_MS = 3_600_000;

function candles(over: Partial<GetCandlesRequest>, deadlineMs = 10_000): Promise<GetCandlesResponse> {
  const request: GetCandlesRequest = { connectorType: "ib", marketType: "spot", symbol: "AAPL", interval: "h1", from: undefined, to: undefined, days: undefined, regularHoursOnly: undefined, ...over };
  return unary((cb) => marketData.getCandles(request, md, deadlineIn(deadlineMs), cb));
}

function trades(over: Partial<GetTradesRequest>): Promise<GetTradesResponse> {
  const request: GetTradesRequest = { connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", from: undefined, to: undefined, limit: 10, ...over };
  return unary((cb) => marketData.getTrades(request, md, deadlineIn(10_000), cb));
}

function getSymbol(symbol: string, over: { connectorType?: string; marketType?: string } = {}): Promise<GetSymbolResponse> {
  return unary((cb) => symbols.getSymbol({ connectorType: "ib", marketType: "spot", symbol, ...over }, md, deadlineIn(10_000), cb));
}

const instrument = (symbol: string) => ({ connectorType: "ib", marketType: "spot", symbol });

/** A call that needs IB (a contract lookup the first time) answers normally. */
async function expectServing(symbol: string): Promise<void> {
  expect((await getSymbol(symbol)).symbol?.conId).toMatch(/^[1-9]\d*$/);
}

/** Contracts (conId@exchange) the adapter logged a 162 pacing violation for, one entry per retry. */
function pacingRetries(): string[] {
  return logLines
    .map((line) => JSON.parse(line) as { msg?: string; contract?: string })
    .filter((entry) => entry.msg?.includes("historical pacing violation") === true)
    .map((entry) => entry.contract ?? "");
}

// --- the tests -------------------------------------------------------------------------------------------

/**
 * "At once": refused by the service's own checks, not after a wait for IB (whose answers time out after
 * 30 s). Generous: a loaded 2-core CI machine takes seconds for any call (2.1 s measured once).
 */
const AT_ONCE_MS = 5_000;

describe("INVALID_ARGUMENT: bad input is refused at once, naming the field", () => {
  const nowMs = Date.now();
  const cases: { name: string; field: string; reason: string; fail: () => Promise<ServiceError> }[] = [
    { name: "GetCandles with an unknown interval", field: "interval", reason: "UNKNOWN_INTERVAL", fail: () => failureOf(candles({ interval: "h3" })) },
    { name: "GetCandles with no interval", field: "interval", reason: "UNKNOWN_INTERVAL", fail: () => failureOf(candles({ interval: "" })) },
    {
      name: "StreamCandles with an unknown interval",
      field: "interval",
      reason: "UNKNOWN_INTERVAL",
      fail: () => streamFailureOf(marketData.streamCandles({ ...instrument("AAPL"), interval: "fortnight", completeOnly: false }, md)),
    },
    { name: "GetSymbol with an empty symbol", field: "symbol", reason: "INVALID_SYMBOL", fail: () => failureOf(getSymbol("")) },
    { name: "GetCandles with an invalid symbol", field: "symbol", reason: "INVALID_SYMBOL", fail: () => failureOf(candles({ symbol: "AAPL;DROP" })) },
    { name: "StreamTicks with an empty symbol", field: "symbol", reason: "INVALID_SYMBOL", fail: () => streamFailureOf(marketData.streamTicks(instrument(""), md)) },
    {
      name: "GetCandles with from after to",
      field: "from",
      reason: "INVALID_TIME_RANGE",
      fail: () => failureOf(candles({ from: timestamp(nowMs - HOUR_MS), to: timestamp(nowMs - 2 * HOUR_MS) })),
    },
    {
      name: "GetTrades with from after to",
      field: "from",
      reason: "INVALID_TIME_RANGE",
      fail: () => failureOf(trades({ from: timestamp(nowMs - HOUR_MS), to: timestamp(nowMs - 2 * HOUR_MS) })),
    },
    {
      name: "GetCandles starting in the future",
      field: "from",
      reason: "INVALID_TIME_RANGE",
      fail: () => failureOf(candles({ from: timestamp(nowMs + HOUR_MS), to: timestamp(nowMs + 2 * HOUR_MS) })),
    },
    { name: "GetSymbol for another connector", field: "connector_type", reason: "UNKNOWN_CONNECTOR", fail: () => failureOf(getSymbol("AAPL", { connectorType: "binance" })) },
    {
      name: "StreamTrades with no connector",
      field: "connector_type",
      reason: "UNKNOWN_CONNECTOR",
      fail: () => streamFailureOf(marketData.streamTrades({ connectorType: "", marketType: "spot", symbol: "AAPL" }, md)),
    },
    { name: "GetCandles with an unknown market type", field: "market_type", reason: "UNKNOWN_MARKET_TYPE", fail: () => failureOf(candles({ marketType: "options" })) },
    {
      name: "ListSymbols with an unknown market type",
      field: "market_type",
      reason: "UNKNOWN_MARKET_TYPE",
      fail: () => failureOf(unary<ListSymbolsResponse>((cb) => symbols.listSymbols({ connectorType: "ib", marketType: "swap", resolve: false }, md, deadlineIn(5_000), cb))),
    },
    {
      name: "GetOrderBook deeper than 50 levels",
      field: "depth",
      reason: "DEPTH_TOO_LARGE",
      fail: () => failureOf(unary<GetOrderBookResponse>((cb) => marketData.getOrderBook({ ...instrument("AAPL"), depth: 51 }, md, deadlineIn(5_000), cb))),
    },
    {
      name: "StreamOrderBook deeper than 50 levels",
      field: "depth",
      reason: "DEPTH_TOO_LARGE",
      fail: () => streamFailureOf(marketData.streamOrderBook({ ...instrument("AAPL"), depth: 500 }, md)),
    },
    { name: "GetTrades over 1000 trades", field: "limit", reason: "LIMIT_TOO_LARGE", fail: () => failureOf(trades({ limit: 1001 })) },
  ];

  it.each(cases)("$name → INVALID_ARGUMENT $reason naming $field", async ({ field, reason, fail }) => {
    const started = Date.now();
    const err = await fail();
    expectApiError(err, { code: status.INVALID_ARGUMENT, reason, field });
    expect(Date.now() - started).toBeLessThan(AT_ONCE_MS);
  });

  it("GetCandles over more IB requests than the service makes for one call → INVALID_ARGUMENT WINDOW_TOO_LONG naming the field, saying what to change", async () => {
    // 100 days of min1 is 101 IB requests; one call may use at most 60 (IB allows 60 per 10 minutes).
    const err = await failureOf(candles({ interval: "min1", from: timestamp(nowMs - 100 * 86_400_000) }));
    expectApiError(err, { code: status.INVALID_ARGUMENT, reason: "WINDOW_TOO_LONG", field: "from" });
    expect(err.details).toMatch(/shorten the window or use a larger interval/);
    const byDays = await failureOf(candles({ interval: "min1", days: 100 }));
    expectApiError(byDays, { code: status.INVALID_ARGUMENT, reason: "WINDOW_TOO_LONG", field: "days" });
  });

  it.each([4_000_000_000, 100_000])("GetCandles with days %d → INVALID_ARGUMENT DAYS_OUT_OF_RANGE naming days", async (days) => {
    const err = await failureOf(candles({ interval: "day", days }));
    expectApiError(err, { code: status.INVALID_ARGUMENT, reason: "DAYS_OUT_OF_RANGE", field: "days" });
  });

  // google.protobuf.Timestamp is valid from 0001-01-01 to 9999-12-31; a `from` far before it once made the
  // service plan billions of IB requests and run out of memory.
  it.each([
    { field: "to", ts: { seconds: "9000000000000000", nanos: 0 } },
    { field: "from", ts: { seconds: "-9000000000000000", nanos: 0 } },
  ])("GetCandles with $field outside the Timestamp range → INVALID_ARGUMENT INVALID_TIME naming $field", async ({ field, ts }) => {
    const err = await failureOf(candles({ [field]: ts }));
    expectApiError(err, { code: status.INVALID_ARGUMENT, reason: "INVALID_TIME", field });
  });

  it("GetCandles from the year 0001 in min1 is refused at once (WINDOW_TOO_LONG) without planning the requests", async () => {
    const started = Date.now();
    const err = await failureOf(candles({ interval: "min1", from: { seconds: "-62135596800", nanos: 0 } }));
    expectApiError(err, { code: status.INVALID_ARGUMENT, reason: "WINDOW_TOO_LONG", field: "from" });
    expect(Date.now() - started).toBeLessThan(AT_ONCE_MS);
  });

  it("keeps serving after a burst of bad requests", async () => {
    await expectServing("AAPL");
  });
});

describe("NOT_FOUND: a symbol IB does not know", () => {
  it("GetSymbol, GetCandles and StreamTicks answer SYMBOL_NOT_FOUND with IB's code 200", async () => {
    expectApiError(await failureOf(getSymbol("NOSUCHSYM")), { code: status.NOT_FOUND, reason: "SYMBOL_NOT_FOUND", ibCode: "200" });
    expectApiError(await failureOf(candles({ symbol: "NOSUCHSYM" })), { code: status.NOT_FOUND, reason: "SYMBOL_NOT_FOUND", ibCode: "200" });
    expectApiError(await streamFailureOf(marketData.streamTicks(instrument("NOSUCHSYM"), md)), { code: status.NOT_FOUND, reason: "SYMBOL_NOT_FOUND", ibCode: "200" });
    await expectServing("AAPL");
  });

  it("GetAccount for an account this login does not manage answers NOT_FOUND ACCOUNT_NOT_MANAGED", async () => {
    const err = await failureOf(unary<GetAccountResponse>((cb) => accounts.getAccount({ connectorType: "ib", marketType: "spot", accountId: "U0000000" }, md, deadlineIn(5_000), cb)));
    expectApiError(err, { code: status.NOT_FOUND, reason: "ACCOUNT_NOT_MANAGED" });
  });

  it("GetCandles for a window with no bars answers NO_DATA", async () => {
    // AAPL's regular hours on a Sunday: IB answers 162 "HMDS query returned no data" (an empty window).
    const sunday = new Date();
    sunday.setUTCDate(sunday.getUTCDate() - 7 - sunday.getUTCDay());
    sunday.setUTCHours(15, 0, 0, 0);
    const err = await failureOf(candles({ symbol: "AAPL", interval: "min5", from: timestamp(sunday.getTime()), to: timestamp(sunday.getTime() + HOUR_MS), regularHoursOnly: true }));
    expectApiError(err, { code: status.NOT_FOUND, reason: "NO_DATA" });
  });
});

describe("PERMISSION_DENIED: market data the account is not entitled to", () => {
  it("StreamTicks on SAP (no permission) ends MARKET_DATA_SUBSCRIPTION_REQUIRED with IB's 354", async () => {
    const err = await streamFailureOf(marketData.streamTicks(instrument("SAP"), md));
    expectApiError(err, { code: status.PERMISSION_DENIED, reason: "MARKET_DATA_SUBSCRIPTION_REQUIRED", ibCode: "354" });
  });

  it("StreamTicks on TSLA (delayed-only) with live data requested ends MARKET_DATA_SUBSCRIPTION_REQUIRED with IB's 10089", async () => {
    const err = await streamFailureOf(marketData.streamTicks(instrument("TSLA"), md));
    expectApiError(err, { code: status.PERMISSION_DENIED, reason: "MARKET_DATA_SUBSCRIPTION_REQUIRED", ibCode: "10089" });
  });

  it("a symbol without permission (simulator entitlements option) is refused for depth (354) and history (162), and nothing stays subscribed", async () => {
    const depth = await streamFailureOf(marketData.streamOrderBook({ ...instrument("IBM"), depth: 5 }, md));
    expectApiError(depth, { code: status.PERMISSION_DENIED, reason: "MARKET_DATA_SUBSCRIPTION_REQUIRED", ibCode: "354" });
    // IB reports missing permissions for history as 162 "No market data permissions for …".
    const history = await failureOf(candles({ symbol: "IBM", interval: "h1", days: 2 }));
    expectApiError(history, { code: status.PERMISSION_DENIED, reason: "MARKET_DATA_SUBSCRIPTION_REQUIRED", ibCode: "162" });
    await until(() => app.adapter.subscriptions().length === 0, { what: "the refused subscriptions to be released" });
  });
});

describe("trades of a forex pair", () => {
  it("GetTrades and StreamTrades of a forex pair (IB keeps no trades for it) answer INVALID_ARGUMENT NO_TRADES_FOR_FOREX, saying what to use", async () => {
    const err = await failureOf(trades({ symbol: "EURUSD" }));
    expectApiError(err, { code: status.INVALID_ARGUMENT, reason: "NO_TRADES_FOR_FOREX" });
    expect(err.details).toMatch(/StreamTicks/);
    const streamed = await streamFailureOf(marketData.streamTrades(instrument("EURUSD"), md));
    expectApiError(streamed, { code: status.INVALID_ARGUMENT, reason: "NO_TRADES_FOR_FOREX" });
    await expectServing("AAPL");
  });
});

describe("RESOURCE_EXHAUSTED IB_LIMIT_REACHED: IB's 3 market depth subscriptions", () => {
  it("refuses a 4th concurrent StreamOrderBook before asking IB, while the first three keep streaming", async () => {
    const open = ["AAPL", "MSFT", "SPY"].map((symbol) => {
      const stream: ClientReadableStream<StreamOrderBookResponse> = marketData.streamOrderBook({ ...instrument(symbol), depth: 5 }, md);
      const state = { symbol, stream, updates: 0, error: undefined as ServiceError | undefined };
      stream.on("data", (res: StreamOrderBookResponse) => {
        state.updates += res.events.filter((e) => e.event?.$case === "update").length;
      });
      stream.on("error", (e: ServiceError) => (state.error = e));
      return state;
    });
    try {
      await until(() => open.every((s) => s.updates >= 2), { what: "the three books to stream" });
      expect(app.adapter.subscriptions().filter((s) => s.kind === "orderBook")).toHaveLength(3);

      const started = Date.now();
      const refused = await streamFailureOf(marketData.streamOrderBook({ ...instrument("NVDA"), depth: 5 }, md));
      // No ibCode: the adapter counts IB's lines and refuses before IB would answer 309.
      expectApiError(refused, { code: status.RESOURCE_EXHAUSTED, reason: "IB_LIMIT_REACHED" });
      expect(refused.details).toMatch(/3 IB market depth subscriptions/);
      expect(Date.now() - started).toBeLessThan(2_000);
      // A one-shot book needs a depth line too.
      const snapshot = await failureOf(unary<GetOrderBookResponse>((cb) => marketData.getOrderBook({ ...instrument("NVDA"), depth: 5 }, md, deadlineIn(5_000), cb)));
      expectApiError(snapshot, { code: status.RESOURCE_EXHAUSTED, reason: "IB_LIMIT_REACHED" });

      const before = open.map((s) => s.updates);
      await until(() => open.every((s, i) => s.updates > before[i]!), { what: "the three books to keep streaming" });
      for (const s of open) expect(s.error, s.symbol).toBeUndefined();
    } finally {
      for (const s of open) s.stream.cancel();
    }
    // Cancelling gives the lines back (and the refused one never took one): the 4th symbol now has a book.
    await until(() => app.adapter.subscriptions().every((s) => s.kind !== "orderBook"), { what: "the depth lines to be released" });
    const book = await unary<GetOrderBookResponse>((cb) => marketData.getOrderBook({ ...instrument("NVDA"), depth: 5 }, md, deadlineIn(5_000), cb));
    expect(book.orderBook?.bids.length).toBeGreaterThan(0);
  });
});

describe("DEADLINE_EXCEEDED: deadlines are honoured", () => {
  it("a GetCandles whose paced IB requests outlast a 300 ms deadline fails DEADLINE_EXCEEDED at the deadline, drops its queued requests, and the next call works", async () => {
    // min1 over 10 days of BTCUSDT is 11 IB requests: 5 go at once, the others wait for IB's per-contract
    // pacing window (HELD_MS), so the call cannot finish within 300 ms.
    const sentToIb = () => simulator.stats.historicalRequests.get("BTC") ?? 0;
    const sentBefore = sentToIb();
    const started = Date.now();
    const err = await failureOf(candles({ symbol: "BTCUSDT", interval: "min1", days: 10 }, 300));
    const elapsed = Date.now() - started;
    expect(status[err.code], err.details).toBe(status[status.DEADLINE_EXCEEDED]);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    // A runaway bound (a loaded 2-core run stalled this process's event loop past 1.1 s): that the held
    // requests were dropped, not waited for, is proven below by what reached IB.
    expect(elapsed).toBeLessThan(300 + 2_700);
    const next = await candles({ symbol: "SPY", interval: "h1", days: 5 });
    expect(next.candles.length).toBeGreaterThan(0);

    // Had the server kept the 6 held requests after the deadline, they would go to IB once the per-contract
    // window lets them, ahead of any later request for the same contract (the scheduler keeps them in order):
    // so when a later one is answered, IB has seen all that would ever reach it: the first 5 and that one.
    const later = await candles({ symbol: "BTCUSDT", interval: "h1", days: 1 });
    expect(later.candles.length).toBeGreaterThan(0);
    expect(sentToIb() - sentBefore).toBe(5 + 1);
    const btc = (await getSymbol("BTCUSDT")).symbol!;
    expect(pacingRetries()).not.toContain(`${btc.conId}@${btc.exchange}`);
  });
});

describe("RESOURCE_EXHAUSTED PACING_LIMIT: IB refuses historical requests as a pacing violation", () => {
  it("surfaces IB's 162 pacing violation as PACING_LIMIT once the adapter's one retry after back-off is refused too", async () => {
    const { error, elapsedMs } = await pacingProbe;
    if (!isServiceError(error)) throw error ?? new Error("the paced-out GetCandles succeeded");
    expectApiError(error, { code: status.RESOURCE_EXHAUSTED, reason: "PACING_LIMIT", ibCode: "162" });
    expect(error.details).toMatch(/pacing violation/i);
    // Not at the first 162 (≈HELD_MS in): after the retry that IB refused as well.
    expect(elapsedMs).toBeGreaterThan(HELD_MS + PACING.pacingBackoffMs);
    const eth = (await getSymbol("ETHUSDT")).symbol!;
    const retries = pacingRetries();
    expect(retries.length).toBeGreaterThan(0);
    expect(new Set(retries)).toEqual(new Set([`${eth.conId}@${eth.exchange}`]));
    await expectServing("AMZN");
  });
});

describe("UNAVAILABLE GATEWAY_UNAVAILABLE: the Gateway is down", () => {
  it("answers within 2 s (not a hang) while the Gateway restarts, and serves again once it is back", async () => {
    const restarted = simulator.faults.restart(1_500);
    try {
      await until(() => app.adapter.status.state !== "connected", { timeoutMs: 2_000, what: "the adapter to notice the Gateway is gone" });
      const checks: [string, () => Promise<ServiceError>][] = [
        ["GetSymbol of an unresolved symbol", () => failureOf(getSymbol("GOOGL"))],
        ["GetCandles of an unresolved symbol", () => failureOf(candles({ symbol: "META", interval: "h1", days: 2 }))],
        ["GetCandles of a resolved symbol", () => failureOf(candles({ symbol: "AAPL", interval: "h1", days: 3 }))],
        ["StreamTicks", () => streamFailureOf(marketData.streamTicks(instrument("KO"), md))],
      ];
      for (const [what, check] of checks) {
        const started = Date.now();
        const err = await check();
        expect(Date.now() - started, what).toBeLessThan(2_000);
        expectApiError(err, { code: status.UNAVAILABLE, reason: "GATEWAY_UNAVAILABLE" });
      }
    } finally {
      await restarted;
    }
    await until(() => app.adapter.status.state === "connected", { timeoutMs: 10_000, what: "the adapter to reconnect" });
    await expectServing("GOOGL");
    const back = await candles({ symbol: "MSFT", interval: "h1", days: 5 });
    expect(back.candles.length).toBeGreaterThan(0);
  });
});
