import { setMaxListeners } from "node:events";
import type { ProviderConfig } from "../config/providerConfig.js";
import type { MarketType } from "../domain/marketType.js";
import { BookMirror } from "../domain/bookMirror.js";
import type { Level1 } from "../domain/marketData.js";
import { accountSource, type AccountState, type AccountUpdate } from "./feeds/accountFeed.js";
import { candleSource } from "./feeds/candleFeed.js";
import { depthSource, type BookUpdate } from "./feeds/depthFeed.js";
import { tradesSource, type TradeEvent } from "./feeds/tradesFeed.js";
import { IbError } from "./ibErrors.js";
import { intervalBounds } from "../domain/calendar.js";
import type { Interval } from "../domain/intervals.js";
import { candleFromBar, type Bar, type Candle, type TradePrint } from "../domain/marketData.js";
import { fetchHistoricalBars } from "./history/historicalData.js";
import { fetchRecentTrades, MAX_HISTORICAL_TICKS } from "./history/historicalTicks.js";
import { HistoricalScheduler, type HistoricalPacingRules } from "./history/historicalScheduler.js";
import { planHistory } from "./history/historyPlan.js";
import { ContractResolver, type ResolvedInstrument } from "./contracts/contractResolver.js";
import type { FeedContext } from "./feeds/feedContext.js";
import { FeedRegistry } from "./feeds/feedRegistry.js";
import { level1Source } from "./feeds/level1Feed.js";
import { DEFAULT_LINE_LIMITS, LineBudget, type LineLimits } from "./feeds/lineBudget.js";
import { requireConnected } from "./feeds/feedContext.js";
import type { ConsumerOptions } from "../stream/sharedFeed.js";
import type { FeedCursor } from "../stream/feedCursor.js";
import { GatewayConnection, type GatewayConnectionOptions } from "./connection/gatewayConnection.js";
import type { GatewayStatus } from "./connection/gatewayStatus.js";
import { RequestRouter } from "./connection/requestRouter.js";
import type { SubscriptionSnapshot } from "./feeds/subscriptionSnapshot.js";

export type { ConsumerOptions } from "../stream/sharedFeed.js";
export type { FeedEvent, FeedStatus, FeedStatusKind } from "../stream/feedEvents.js";
export type { FeedCursor, ShedKind } from "../stream/feedCursor.js";
export { ConsumerTooSlowError } from "../stream/feedCursor.js";
export type { BookUpdate } from "./feeds/depthFeed.js";
export type { TradeEvent } from "./feeds/tradesFeed.js";
export type { AccountState, AccountUpdate, PortfolioItem, AccountValues, AccountPnl } from "./feeds/accountFeed.js";

/** Rows per side of a depth subscription: IB sends at most what is asked, the limit is ours. */
export const MAX_BOOK_DEPTH = 50;
/** How long GetOrderBook waits for IB's initial burst of rows when a book does not fill. */
const INITIAL_BOOK_MS = 250;
/** Rows of configured (active) order book subscriptions and of requests that do not say. */
export const DEFAULT_BOOK_ROWS = 10;

export type MarketDataTypeSetting = "live" | "frozen" | "delayed" | "delayed-frozen";
const IB_MARKET_DATA_TYPE: Record<MarketDataTypeSetting, number> = { live: 1, frozen: 2, delayed: 3, "delayed-frozen": 4 };

export interface IbAdapterOptions extends GatewayConnectionOptions {
  provider: ProviderConfig;
  requestTimeoutMs?: number;
  marketDataType?: MarketDataTypeSetting;
  limits?: LineLimits;
  now?: () => number;
  /** IB's historical pacing rules (tests scale them down together with the simulator's). */
  historicalPacing?: Partial<HistoricalPacingRules>;
  /** Most history requests one GetCandles may need (longer windows are refused, naming a coarser interval). */
  maxHistoryChunks?: number;
}

export interface CandleQuery {
  interval: Interval;
  fromMs: number;
  toMs: number;
  /** Stocks: regular trading hours only (IB useRTH). */
  regularHoursOnly: boolean;
  signal?: AbortSignal;
}

/**
 * The IB adapter's public face: one Gateway connection, instruments resolved and cached, and shared
 * subscriptions delivered as async iterables of typed events. Callers see Decimal values, statuses and
 * IbError kinds, never TWS message ids, request ids or IB codes.
 */
export class IbAdapter {
  readonly connection: GatewayConnection;
  private readonly router: RequestRouter;
  private readonly contracts: ContractResolver;
  private readonly feeds: FeedRegistry;
  private readonly ctx: FeedContext;
  private readonly accountStates = new Map<string, { state: () => AccountState; ready: Promise<void> }>();
  private readonly history: HistoricalScheduler;
  private readonly maxHistoryChunks: number;
  private readonly requestTimeoutMs: number;

  constructor(options: IbAdapterOptions) {
    const now = options.now ?? Date.now;
    this.connection = new GatewayConnection(options);
    const api = this.connection.api;
    this.router = new RequestRouter(api, options.log);
    const overrides = new Map<string, NonNullable<ProviderConfig["ib"]>["markets"][number]["symbols"][number]["ib"]>();
    for (const market of options.provider.ib?.markets ?? []) {
      for (const s of market.symbols) if (s.ib !== undefined) overrides.set(`${market.marketType}/${s.name.toUpperCase()}`, s.ib);
    }
    this.contracts = new ContractResolver({
      router: this.router,
      send: (reqId, contract) => api.reqContractDetails(reqId, contract),
      override: (marketType, symbol) => overrides.get(`${marketType}/${symbol.toUpperCase()}`),
      timeoutMs: options.requestTimeoutMs,
      now,
      isConnected: () => this.connection.isReady,
    });
    this.ctx = {
      api,
      router: this.router,
      budget: new LineBudget(options.limits ?? DEFAULT_LINE_LIMITS),
      now,
      log: options.log,
      isConnected: () => this.connection.isReady,
    };
    this.feeds = new FeedRegistry(this.connection, now);
    this.connection.on("lost", () => this.router.failPending(new IbError("unavailable", "the Gateway connection was lost before IB answered; retry")));
    this.history = new HistoricalScheduler({
      rules: options.historicalPacing,
      sendDelayMs: () => this.connection.outboundBacklogMs,
      onPacingRetry: (key, attempt) => options.log.warn({ contract: key.contractKey, attempt }, "IB reported a historical pacing violation; retrying after back-off"),
    });
    this.maxHistoryChunks = options.maxHistoryChunks ?? 60;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    const marketDataType = IB_MARKET_DATA_TYPE[options.marketDataType ?? "delayed"];
    // Must precede the feeds' own 'ready' handling: the Gateway resets the type to live on every connect.
    this.connection.prependListener("ready", ({ reconnected }) => {
      api.reqMarketDataType(marketDataType);
      // Futures roll and contract details may change across the Gateway's daily restart.
      if (reconnected) this.contracts.clear();
    });
  }

  start(): Promise<void> {
    return this.connection.start();
  }

  stop(): void {
    this.feeds.closeAll();
    // Queued history requests would otherwise wait out their pacing timers after the service stopped.
    this.history.cancelQueued("the service is stopping");
    this.router.failPending(new IbError("unavailable", "the service is stopping"));
    this.connection.stop();
  }

  get status(): GatewayStatus {
    return this.connection.status;
  }

  subscriptions(): SubscriptionSnapshot[] {
    return this.feeds.snapshots();
  }

  /** Resolves a Barfinex symbol in a market to its IB instrument (IbError "not-found" when IB has none). */
  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument> {
    return this.contracts.resolve(marketType, symbol);
  }

  /**
   * L1 ticks. One IB market data line per instrument however many consumers: symbols that resolve to the
   * same contract (BTCUSDT, BTC) share it too.
   */
  async streamTicks(marketType: MarketType, symbol: string, options: ConsumerOptions): Promise<FeedCursor<Level1>> {
    const instrument = await this.resolve(marketType, symbol);
    return this.level1Feed(instrument, marketType).subscribe(options);
  }

  private level1Feed(instrument: ResolvedInstrument, marketType: MarketType) {
    return this.feeds.acquire({ key: `tick/${instrument.conId}`, kind: "tick", marketType, symbol: instrument.symbol }, () => level1Source(this.ctx, instrument));
  }

  /**
   * Historical candles, ascending, for [fromMs, toMs): split into as many IB requests as IB's duration
   * limits need, paced by the historical scheduler (waiting, never failing with 162), merged and
   * de-duplicated. The last candle is incomplete when its interval has not ended yet.
   */
  async candles(marketType: MarketType, symbol: string, query: CandleQuery): Promise<{ instrument: ResolvedInstrument; candles: Candle[] }> {
    const instrument = await this.resolve(marketType, symbol);
    const nowMs = this.ctx.now();
    const timeZone = instrument.timeZoneId || "UTC";
    const useRTH = query.regularHoursOnly && instrument.secType === "STK";
    const bars = await this.historyBars(instrument, query.interval, query.fromMs, query.toMs, useRTH, query.signal);
    const byStart = new Map<number, Candle>();
    const windowStart = intervalBounds(query.fromMs, query.interval, timeZone).startMs;
    for (const bar of bars) {
      if (bar.startMs < windowStart || bar.startMs >= query.toMs) continue;
      // IB labels bars by their start; fixed-length bars end one interval later (IB aligns 2h/4h bars to
      // the exchange day, not to UTC), calendar bars (month) at the next calendar boundary.
      const endMs = query.interval.seconds !== undefined ? bar.startMs + query.interval.seconds * 1000 : intervalBounds(bar.startMs, query.interval, timeZone).endMs;
      byStart.set(bar.startMs, candleFromBar(bar, query.interval.name, endMs <= nowMs));
    }
    return { instrument, candles: [...byStart.values()].sort((a, b) => a.startMs - b.startMs) };
  }

  /**
   * Live candles: updates of the forming candle and one complete candle per interval. One IB real-time
   * bar subscription (a market data line) per (instrument, interval).
   */
  async streamCandles(marketType: MarketType, symbol: string, interval: Interval, options: ConsumerOptions): Promise<FeedCursor<Candle>> {
    return (await this.candleFeed(marketType, symbol, interval)).subscribe(options);
  }

  private async candleFeed(marketType: MarketType, symbol: string, interval: Interval) {
    const instrument = await this.resolve(marketType, symbol);
    const useRTH = instrument.secType === "STK";
    const history = {
      bars: (fromMs: number, toMs: number, signal?: AbortSignal) => this.historyBars(instrument, interval, fromMs, toMs, useRTH, signal),
      paced: (send: () => void, signal: AbortSignal) => {
        // Every real-time bar request is its own (never "identical"); the per-contract and global rules apply.
        const key = { contractKey: `${instrument.conId}@${instrument.exchange}`, whatToShow: "TRADES", identityKey: `realtime-bars/${this.router.allocateId()}` };
        return this.history.schedule({ key, signal, run: async () => send() });
      },
    };
    return this.feeds.acquire({ key: `candle/${instrument.conId}/${interval.name}`, kind: "candle", marketType, symbol: instrument.symbol, interval: interval.name }, () =>
      candleSource(this.ctx, instrument, interval, history, useRTH),
    );
  }

  /**
   * The most recent `limit` trades in [fromMs, toMs) (at most 1000: IB's per-request maximum), ascending.
   * One historical-ticks request, paced with the other historical requests.
   */
  async recentTrades(marketType: MarketType, symbol: string, query: { fromMs: number | undefined; toMs: number; limit: number; signal?: AbortSignal }): Promise<TradePrint[]> {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_HISTORICAL_TICKS) {
      throw new IbError("invalid", `limit must be 1-${MAX_HISTORICAL_TICKS} (got ${query.limit})`, undefined, "INVALID_LIMIT");
    }
    const instrument = withTrades(await this.resolve(marketType, symbol));
    const endMs = Math.min(query.toMs, this.ctx.now());
    const trades = await fetchRecentTrades(this.ctx, this.history, instrument, { endMs, count: query.limit, useRTH: false }, { timeoutMs: this.requestTimeoutMs, signal: query.signal });
    const inWindow = trades.filter((t) => (query.fromMs === undefined || t.timeMs >= query.fromMs) && t.timeMs < query.toMs);
    return inWindow.slice(-query.limit);
  }

  /** IB bars of the interval's size for [fromMs, toMs): planned into IB-sized requests, paced, unmerged. */
  private async historyBars(instrument: ResolvedInstrument, interval: Interval, fromMs: number, toMs: number, useRTH: boolean, signal?: AbortSignal): Promise<Bar[]> {
    const plan = planHistory({ interval, fromMs, toMs, secType: instrument.secType, nowMs: this.ctx.now(), timeZone: instrument.timeZoneId || "UTC", maxChunks: this.maxHistoryChunks });
    // One failed chunk fails the call: the others are withdrawn (queued ones never reach IB, running ones
    // are cancelled there) instead of spending the 60-per-10-minutes budget for nothing.
    const group = new AbortController();
    // Every chunk's request listens to it (up to maxHistoryChunks): not a listener leak.
    setMaxListeners(this.maxHistoryChunks * 2 + 10, group.signal);
    const onAbort = () => group.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const batches = await Promise.all(
        plan.chunks.map((chunk) =>
          fetchHistoricalBars(this.ctx, this.history, instrument, { barSize: plan.barSize, durationStr: chunk.durationStr, endDateTime: chunk.endDateTime, whatToShow: plan.whatToShow, useRTH }, {
            timeoutMs: this.requestTimeoutMs,
            signal: group.signal,
          }).catch((err: unknown) => {
            group.abort();
            throw err;
          }),
        ),
      );
      return batches.flat();
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** The account to serve: IB_ACCOUNT_ID or the only managed one; IB streams one account at a time. */
  private accountFor(accountId: string): string {
    const { activeAccount, managedAccounts } = this.connection.status;
    if (activeAccount === undefined) throw new IbError("unavailable", "not connected to the Gateway yet");
    if (accountId === "" || accountId === activeAccount) return activeAccount;
    if (!managedAccounts.includes(accountId)) throw new IbError("not-found", `account ${accountId} is not managed by this login`, undefined, "ACCOUNT_NOT_MANAGED");
    throw new IbError("invalid", `account ${accountId} is not the active account: IB streams account updates for one account at a time; set IB_ACCOUNT_ID to serve it`, undefined, "ACCOUNT_NOT_ACTIVE");
  }

  private accountFeed(account: string) {
    let downloaded!: () => void;
    const ready = new Promise<void>((resolve) => (downloaded = resolve));
    let source: ReturnType<typeof accountSource> | undefined;
    const feed = this.feeds.acquire({ key: `account/${account}`, kind: "account", marketType: "", symbol: "" }, () => {
      source = accountSource(this.ctx, account, () => downloaded());
      this.accountStates.set(account, { state: source.state, ready });
      return source;
    });
    // Account data is one cheap subscription: keep it running once asked for, like a configured one.
    if (!feed.isPinned) feed.pin(false);
    return { feed, entry: this.accountStates.get(account)! };
  }

  /** The active account's values, portfolio and PnL, after IB's initial download (bounded by a timeout). */
  async accountState(accountId = "", timeoutMs = 10_000): Promise<AccountState> {
    const account = this.accountFor(accountId);
    const { entry } = this.accountFeed(account);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IbError("timeout", `IB did not send the account download for ${account.slice(0, 2)}… within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([entry.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return entry.state();
  }

  /** Account updates (values per batch, positions, PnL) as IB sends them; joiners get the current state first. */
  streamAccount(accountId: string, options: ConsumerOptions): FeedCursor<AccountUpdate> {
    return this.accountFeed(this.accountFor(accountId)).feed.subscribe(options);
  }

  /** Tick-by-tick trade prints, one IB tick-by-tick slot per instrument. */
  async streamTrades(marketType: MarketType, symbol: string, options: ConsumerOptions): Promise<FeedCursor<TradeEvent>> {
    return (await this.tradesFeed(marketType, symbol)).subscribe(options);
  }

  private async tradesFeed(marketType: MarketType, symbol: string) {
    const instrument = withTrades(await this.resolve(marketType, symbol));
    const quote = () => this.feeds.peek<Level1>(`tick/${instrument.conId}`);
    return this.feeds.acquire({ key: `trade/${instrument.conId}`, kind: "trade", marketType, symbol: instrument.symbol }, () => tradesSource(this.ctx, instrument, quote));
  }

  /** L2 depth: a snapshot, then deltas with sequence numbers. One IB depth subscription per (instrument, rows). */
  async streamOrderBook(marketType: MarketType, symbol: string, rows: number, options: ConsumerOptions): Promise<FeedCursor<BookUpdate>> {
    return (await this.orderBookFeed(marketType, symbol, rows)).subscribe(options);
  }

  private async orderBookFeed(marketType: MarketType, symbol: string, rows: number) {
    if (!Number.isInteger(rows) || rows < 1 || rows > MAX_BOOK_DEPTH) throw new IbError("invalid", `depth must be 1-${MAX_BOOK_DEPTH} (got ${rows})`, undefined, "INVALID_DEPTH");
    const instrument = await this.resolve(marketType, symbol);
    return this.feeds.acquire({ key: `book/${instrument.conId}/${rows}`, kind: "orderBook", marketType, symbol: instrument.symbol }, () => depthSource(this.ctx, instrument, rows));
  }

  /**
   * Starts a subscription with no consumer and keeps it running (config.provider.json `active: true`):
   * consumers that come later join it, and it counts as one consumer in the runtime status.
   */
  async activate(kind: "trade" | "orderBook" | "candle", marketType: MarketType, symbol: string, interval?: Interval): Promise<void> {
    if (kind === "candle" && interval === undefined) throw new IbError("invalid", "a candle subscription needs an interval", undefined, "INVALID_INTERVAL");
    const feed =
      kind === "trade"
        ? await this.tradesFeed(marketType, symbol)
        : kind === "orderBook"
          ? await this.orderBookFeed(marketType, symbol, DEFAULT_BOOK_ROWS)
          : await this.candleFeed(marketType, symbol, interval!);
    feed.pin(true);
  }

  /**
   * A depth snapshot: from the running shared subscription when there is one (immediately), otherwise
   * from a short-lived one, once IB's initial burst of inserts has settled (bounded by `timeoutMs`).
   */
  async orderBookSnapshot(marketType: MarketType, symbol: string, rows: number, timeoutMs = 3_000, signal?: AbortSignal): Promise<{ book: BookMirror; timeMs: number; consistent: boolean }> {
    requireConnected(this.ctx, `an order book for ${symbol}`);
    const controller = new AbortController();
    signal?.addEventListener("abort", () => controller.abort(), { once: true });
    const queue = await this.streamOrderBook(marketType, symbol, rows, { signal: controller.signal, heartbeatMs: 50 });
    const book = new BookMirror();
    const deadline = this.ctx.now() + timeoutMs;
    let timeMs = this.ctx.now();
    let consistent = false;
    let firstDeltaAt: number | undefined;
    const full = () => {
      const { bids, asks } = book.levels(rows);
      return bids.length >= rows && asks.length >= rows;
    };
    try {
      for await (const batch of queue) {
        let joined = false;
        for (const e of batch) {
          if (e.type !== "data") continue;
          book.apply(e.value);
          timeMs = e.value.timeMs;
          consistent = e.value.consistent;
          if (e.value.snapshot && e.value.consistent) joined = true; // a running feed's current book
          else if (!e.value.snapshot) firstDeltaAt ??= this.ctx.now();
        }
        // Done when joining a running book, once a fresh one is full, or INITIAL_BOOK_MS after IB began
        // sending it (a thin market may never fill every row), or at the deadline.
        const now = this.ctx.now();
        if (joined || (consistent && full()) || (firstDeltaAt !== undefined && now - firstDeltaAt >= INITIAL_BOOK_MS) || now > deadline) break;
      }
    } finally {
      controller.abort();
    }
    return { book, timeMs, consistent: consistent && book.inSync };
  }
}

/** IB keeps no trade prints for forex (it answers 162 "No historical market data"): say so plainly. */
function withTrades(instrument: ResolvedInstrument): ResolvedInstrument {
  if (instrument.secType === "CASH") {
    throw new IbError("invalid", `IB reports no trades for forex pairs (${instrument.symbol}): use StreamTicks for quotes or GetCandles for midpoint bars`, undefined, "NO_TRADES_FOR_FOREX");
  }
  return instrument;
}
