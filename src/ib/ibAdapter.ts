import type { ProviderConfig } from "../config/providerConfig.js";
import type { MarketType } from "../domain/marketType.js";
import type { Interval } from "../domain/intervals.js";
import { textCandleOf, type Candle, type Level1, type TextCandle, type TradePrint } from "../domain/marketData.js";
import type { FeedConsumer } from "../stream/feedCursor.js";
import type { ConsumerOptions } from "../stream/consumerOptions.js";
import type { FeedSource } from "../stream/feedSource.js";
import { GatewayConnection, type GatewayConnectionOptions } from "./connection/gatewayConnection.js";
import type { GatewayStatus } from "./connection/gatewayStatus.js";
import { RequestRouter } from "./connection/requestRouter.js";
import { ContractResolver, type PersistedContracts, type ResolvedInstrument } from "./contracts/contractResolver.js";
import { requireOfferedForSymbol } from "./contracts/classOffers.js";
import { instrumentKey } from "./contracts/resolvedInstrument.js";
import { AccountFeeds } from "./feeds/accountFeeds.js";
import type { AccountState, AccountUpdate } from "./feeds/accountFeed.js";
import { candleSource } from "./feeds/candleFeed.js";
import { depthSource, type BookUpdate } from "./feeds/depthFeed.js";
import { requireConnected, type FeedContext } from "./feeds/feedContext.js";
import { FeedRegistry, type FeedRecording, type FeedDescriptor } from "./feeds/feedRegistry.js";
import { ClientLines, NO_CLIENT_LINE_RULES, SERVICE_LINES, type ClientLineRules, type LineConsumerOptions } from "./feeds/clientLines.js";
import { level1Source } from "./feeds/level1Feed.js";
import { tapData } from "./feeds/tapData.js";
import { DEFAULT_LINE_LIMITS, LINE_KINDS, LineBudget, type LineKind, type LineLimits } from "./feeds/lineBudget.js";
import { readOrderBookSnapshot, type OrderBookSnapshot } from "./feeds/orderBookSnapshot.js";
import type { SubscriptionSnapshot } from "./feeds/subscriptionSnapshot.js";
import { tradesSource, type TradeEvent } from "./feeds/tradesFeed.js";
import { tradeHistoryFor } from "./history/outageTrades.js";
import { HistoricalScheduler, type HistoricalSchedulerStats } from "./history/historicalScheduler.js";
import type { HistoricalPacingRules } from "./history/pacingRules.js";
import { HistoryService, type CandleQuery } from "./history/historyService.js";
import { CandleCache, type CandleCacheStats } from "./history/candleCache.js";
import { runBackfill, type BackfillEvent, type BackfillOptions, type BackfillRequest } from "./history/backfill.js";
import type { CandleStore } from "../store/candleStore.js";
import type { StoreSettings } from "../store/storeSettings.js";
import { IbError } from "./ibErrors.js";
import { GatewayOrders } from "./orders/gatewayOrders.js";
import { OrderDesk, type OrderDeskEvent, type OrderDeskOptions } from "./orders/orderDesk.js";
import { OrderFeeds } from "./orders/orderFeed.js";
import { SymbolSearch, type SymbolMatch } from "./discovery/symbolSearch.js";
import { OptionChains, type OptionChain } from "./discovery/optionChains.js";
import { futuresExpiries, type FutureContract } from "./discovery/futuresExpiries.js";
import { optionQuotes, type OptionQuotes, type OptionQuotesOptions } from "./discovery/optionQuotes.js";

export type { BookUpdate } from "./feeds/depthFeed.js";
export type { TradeEvent } from "./feeds/tradesFeed.js";
export type { AccountState, AccountUpdate, PortfolioItem, AccountValues, AccountPnl } from "./feeds/accountFeed.js";
export type { CandleQuery } from "./history/historyService.js";
export type { BackfillEvent, BackfillOptions, BackfillRequest } from "./history/backfill.js";
export type { OrderBookSnapshot } from "./feeds/orderBookSnapshot.js";
export { LineQuotaError, SERVICE_LINES, type ClientLineRules, type LineConsumerOptions } from "./feeds/clientLines.js";
export { MAX_HISTORICAL_TICKS } from "./history/historicalTicks.js";
export type { SymbolMatch } from "./discovery/symbolSearch.js";
export type { OptionChain, OptionChainRow } from "./discovery/optionChains.js";
export type { FutureContract } from "./discovery/futuresExpiries.js";
export type { OptionQuotes, OptionQuotesOptions } from "./discovery/optionQuotes.js";

/** Rows of configured (active) order book subscriptions. */
export const DEFAULT_BOOK_ROWS = 10;

export type MarketDataTypeSetting = "live" | "frozen" | "delayed" | "delayed-frozen";
const IB_MARKET_DATA_TYPE: Record<MarketDataTypeSetting, number> = { live: 1, frozen: 2, delayed: 3, "delayed-frozen": 4 };

export interface IbAdapterOptions extends GatewayConnectionOptions {
  provider: ProviderConfig;
  requestTimeoutMs?: number;
  marketDataType?: MarketDataTypeSetting;
  limits?: LineLimits;
  /** Who shares IB's lines: per-client caps, fair shares and their reserve (default: IB's limits only). */
  clientLines?: ClientLineRules;
  now?: () => number;
  /** IB's historical pacing rules (tests scale them down together with the simulator's). */
  historicalPacing?: Partial<HistoricalPacingRules>;
  /** Most history requests one GetCandles may need (longer windows are refused: "history-too-long"). */
  maxHistoryChunks?: number;
  /** Historical requests (cost units) per pacing window each client's calls may cause; absent or 0 = no cap beyond its fair share. */
  historyRequestQuotas?: ReadonlyMap<string, number>;
  /** The market-data store: candle windows are served from it first and what IB returns is kept there. */
  store?: { candles: CandleStore; settings: StoreSettings; contracts?: PersistedContracts };
  /** Records every shared feed's events (replay, resume); none: streams cannot start in the past. */
  recording?: FeedRecording;
}

/** A configured `active: true` subscription the adapter keeps running with no consumer. */
export type ConfiguredFeed = { kind: "trade" | "orderBook"; marketType: MarketType; symbol: string } | { kind: "candle"; marketType: MarketType; symbol: string; interval: Interval };

/**
 * The IB adapter's public face: one Gateway connection, instruments resolved and cached, history, and
 * shared subscriptions delivered as feed cursors of typed events. Callers see Decimal values, statuses
 * and IbError kinds and facts, never TWS message ids, request ids or IB codes. The work is done by the
 * modules of connection/, contracts/, history/ and feeds/; this class wires them.
 */
export class IbAdapter {
  readonly connection: GatewayConnection;
  private readonly router: RequestRouter;
  private readonly contracts: ContractResolver;
  private readonly feeds: FeedRegistry;
  private readonly ctx: FeedContext;
  private readonly scheduler: HistoricalScheduler;
  private readonly history: HistoryService;
  /** Candle windows in pages: the store first when there is one, else IB. */
  private readonly candleHistory: { candlePages(instrument: ResolvedInstrument, query: CandleQuery): Promise<AsyncIterable<TextCandle[]>> };
  private readonly candleCache: CandleCache | undefined;
  private readonly store: IbAdapterOptions["store"];
  private readonly now: () => number;
  private readonly accounts: AccountFeeds;
  private orderFeeds: OrderFeeds | undefined;
  private readonly symbolSearch: SymbolSearch;
  private readonly optionChains: OptionChains;
  private readonly log: IbAdapterOptions["log"];
  /** IB's lines as the clients hold them (tests read it to see lines given back). */
  readonly lines: ClientLines;

  constructor(options: IbAdapterOptions) {
    const now = options.now ?? Date.now;
    this.log = options.log;
    this.now = now;
    this.store = options.store;
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
      persisted: options.store?.contracts,
    });
    const limits = options.limits ?? DEFAULT_LINE_LIMITS;
    this.lines = new ClientLines(limits, options.clientLines ?? NO_CLIENT_LINE_RULES);
    this.ctx = {
      api,
      router: this.router,
      budget: new LineBudget(limits),
      now,
      log: options.log,
      isConnected: () => this.connection.isReady,
    };
    this.feeds = new FeedRegistry(this.connection, now, this.lines, options.recording);
    this.connection.on("lost", () => this.router.failPending(new IbError("unavailable", "the Gateway connection was lost before IB answered; retry")));
    this.scheduler = new HistoricalScheduler({
      rules: options.historicalPacing,
      sendDelayMs: () => this.connection.outboundBacklogMs,
      quotaOf: (client) => options.historyRequestQuotas?.get(client) ?? 0,
      onPacingRetry: (key, attempt) => options.log.warn({ contract: key.contractKey, attempt }, "IB reported a historical pacing violation; retrying after back-off"),
    });
    // Before the feeds reopen (their 'ready' and 'ibConnectivity' handlers come first otherwise): their
    // real-time bar and seed requests then wait for the restored connection to settle.
    this.connection.prependListener("ready", ({ reconnected }) => {
      if (reconnected) this.scheduler.connectionRestored();
    });
    this.connection.prependListener("ibConnectivity", ({ up, dataLost }) => {
      if (up && dataLost) this.scheduler.connectionRestored();
    });
    const maxChunks = options.maxHistoryChunks ?? 60;
    this.history = new HistoryService(this.ctx, this.scheduler, { maxChunks, requestTimeoutMs: options.requestTimeoutMs ?? 30_000 });
    this.candleCache = options.store === undefined ? undefined : new CandleCache(this.history, options.store.candles, options.store.settings, now, maxChunks);
    const fromIb = async (instrument: ResolvedInstrument, query: CandleQuery) => {
      const candles = (await this.history.candles(instrument, query)).map(textCandleOf);
      return (async function* () {
        if (candles.length > 0) yield candles;
      })();
    };
    const cache = this.candleCache;
    // The store keys series by conId: a combo has none (IB gives a BAG no conId), so its history is IB's each time.
    this.candleHistory = { candlePages: (instrument, query) => (cache !== undefined && instrument.conId !== 0 ? cache.candlePages(instrument, query) : fromIb(instrument, query)) };
    this.accounts = new AccountFeeds(this.ctx, this.feeds, () => this.connection.status);
    this.symbolSearch = new SymbolSearch(this.ctx, { timeoutMs: options.requestTimeoutMs });
    this.optionChains = new OptionChains(this.ctx, { resolve: this.resolve.bind(this), timeoutMs: options.requestTimeoutMs });
    const marketDataType = IB_MARKET_DATA_TYPE[options.marketDataType ?? "delayed"];
    // Must precede the feeds' own 'ready' handling: the Gateway resets the type to live on every connect.
    this.connection.prependListener("ready", ({ reconnected }) => {
      api.reqMarketDataType(marketDataType);
      // Futures roll and contract details may change across the Gateway's daily restart.
      if (reconnected) this.contracts.clear();
    });
    // The configured symbols are resolved in the background at every connect, so symbol lists show their
    // contracts by default (from the store's copy when it is fresh: no IB request then).
    const configured = (options.provider.ib?.markets ?? []).flatMap((m) => m.symbols.map((s) => [m.marketType, s.name] as const));
    this.connection.on("ready", () => {
      for (const [marketType, name] of configured) {
        this.resolve(marketType, name).catch((err: unknown) => options.log.debug({ symbol: name, marketType, reason: err instanceof Error ? err.message : String(err) }, "a configured symbol did not resolve"));
      }
    });
  }

  start(): Promise<void> {
    return this.connection.start();
  }

  stop(): void {
    this.feeds.closeAll();
    // Queued history requests would otherwise wait out their pacing timers after the service stopped.
    this.scheduler.cancelQueued("the service is stopping");
    this.router.failPending(new IbError("unavailable", "the service is stopping"));
    this.connection.stop();
  }

  get status(): GatewayStatus {
    return this.connection.status;
  }

  subscriptions(): SubscriptionSnapshot[] {
    return this.feeds.snapshots();
  }

  /** IB's historical pacing as the adapter spends it: queued requests, the budget used, a settling hold. */
  historicalPacing(): HistoricalSchedulerStats & { budget: number; userReserve: number; windowMs: number } {
    const { globalMax, userReserve, globalWindowMs } = this.scheduler.rules;
    return { ...this.scheduler.stats(), budget: globalMax, userReserve, windowMs: globalWindowMs };
  }

  /** IB's line limits and what the service's IB requests hold of them now, per kind of line. */
  ibLines(): Record<LineKind, { inUse: number; limit: number }> {
    const { budget } = this.ctx;
    return Object.fromEntries(LINE_KINDS.map((kind) => [kind, { inUse: budget.inUse(kind), limit: budget.limit(kind) }])) as Record<LineKind, { inUse: number; limit: number }>;
  }

  /** What the history cache served from the store and from IB (undefined without a store). */
  candleCacheStats(): CandleCacheStats | undefined {
    return this.candleCache?.stats;
  }

  /**
   * The login's order desk (orders/orderDesk.ts): placing, cancelling and reconciling orders on this
   * connection, with the rails given and the order store. One per adapter.
   */
  orderDesk(options: Omit<OrderDeskOptions, "gateway" | "connection" | "log">): OrderDesk {
    const gateway = new GatewayOrders(this.connection.api, this.router, this.log, this.connection.status.clientId);
    const desk = new OrderDesk({ ...options, gateway, connection: this.connection, log: this.log.child({ component: "orders" }) });
    this.orderFeeds = new OrderFeeds(desk, this.feeds, this.connection);
    return desk;
  }

  /** The account's order events (StreamOrders), once the order desk is made; the account is the desk's (checked by the caller). */
  streamOrders(account: string, options: ConsumerOptions<OrderDeskEvent>): FeedConsumer<OrderDeskEvent> {
    if (this.orderFeeds === undefined) throw new IbError("unavailable", "this service places no orders (no order desk): there are no order events");
    return this.orderFeeds.stream(account, options);
  }

  /** A symbol's instrument as known without asking IB (resolved before, here or by an earlier run), or undefined. */
  knownInstrument(marketType: MarketType, symbol: string): ResolvedInstrument | undefined {
    return this.contracts.known(marketType, symbol);
  }

  /** Resolves a Barfinex symbol in a market to its IB instrument (IbError "not-found" when IB has none). */
  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument> {
    return this.contracts.resolve(marketType, symbol);
  }

  /** IB's symbol search (reqMatchingSymbols): one request per second at most, answers cached for 60 s. */
  searchSymbols(pattern: string, signal?: AbortSignal): Promise<SymbolMatch[]> {
    return this.symbolSearch.search(pattern, signal);
  }

  /** Expirations and strikes per exchange and trading class of a stock/ETF, index or future (cached 15 min). */
  optionChain(marketType: MarketType, underlyingSymbol: string): Promise<OptionChain> {
    return this.optionChains.chain(marketType, underlyingSymbol);
  }

  /** The unexpired months of a futures root, ascending; `front` marks the one the plain root resolves to. */
  futuresExpiries(root: string): Promise<FutureContract[]> {
    return futuresExpiries(root, (c) => this.contracts.contractDetails(c), this.now());
  }

  /** A chain snapshot: a quote (and an option's model computation) of each symbol, within the free lines (discovery/optionQuotes.ts). */
  optionQuotes(marketType: MarketType, symbols: string[], options: OptionQuotesOptions = {}): Promise<OptionQuotes> {
    return optionQuotes(
      {
        ctx: this.ctx,
        resolve: this.resolve.bind(this),
        openQuote: (instrument) => this.feeds.peek<Level1>(`tick/${instrumentKey(instrument)}`),
        charge: (key) => this.lines.charge(options.client ?? SERVICE_LINES, "marketDataLines", key),
      },
      marketType,
      symbols,
      options,
    );
  }

  /**
   * L1 ticks. One IB market data line per instrument however many consumers: symbols that resolve to the
   * same contract (BTCUSDT, BTC) share it too.
   */
  async streamTicks(marketType: MarketType, symbol: string, options: LineConsumerOptions<Level1>): Promise<FeedConsumer<Level1>> {
    const instrument = await this.resolve(marketType, symbol);
    return this.feeds.consume({ key: `tick/${instrumentKey(instrument)}`, kind: "tick", marketType, symbol: instrument.symbol }, () => level1Source(this.ctx, instrument), options);
  }

  /**
   * Historical candles, ascending, for [fromMs, toMs), as wire text (bulk history: no Decimal per value):
   * from the store first when there is one (CandleCache), else IB (HistoryService.candles).
   */
  async candles(marketType: MarketType, symbol: string, query: CandleQuery): Promise<{ instrument: ResolvedInstrument; candles: TextCandle[] }> {
    const { instrument, pages } = await this.candlePages(marketType, symbol, query);
    const candles: TextCandle[] = [];
    for await (const page of pages) for (const c of page) candles.push(c);
    return { instrument, candles };
  }

  /** The same candles in pages, read from the store as they are taken (long windows: GetCandles). */
  async candlePages(marketType: MarketType, symbol: string, query: CandleQuery): Promise<{ instrument: ResolvedInstrument; pages: AsyncIterable<TextCandle[]> }> {
    const instrument = await this.resolve(marketType, symbol);
    return { instrument, pages: await this.candleHistory.candlePages(instrument, query) };
  }

  /**
   * Bulk history into the store (history/backfill.ts): each symbol's missing ranges in IB-sized requests
   * through the candle path above, a few at a time; progress events, then a summary.
   */
  backfill(request: BackfillRequest, options?: BackfillOptions): AsyncGenerator<BackfillEvent, void, undefined> {
    if (this.store === undefined) throw new IbError("invalid", "this service runs without a store (STORE_PATH): nothing to backfill into");
    const source = { resolve: this.resolve.bind(this), candles: this.candles.bind(this), historicalPacing: this.historicalPacing.bind(this), store: this.store.candles, settings: this.store.settings, now: this.now };
    return runBackfill(source, request, options);
  }

  /**
   * Live candles: updates of the forming candle and one complete candle per interval. One IB real-time
   * bar subscription (a market data line) per (instrument, interval).
   */
  async streamCandles(marketType: MarketType, symbol: string, interval: Interval, options: LineConsumerOptions<Candle>): Promise<FeedConsumer<Candle>> {
    const feed = await this.candleFeed(marketType, symbol, interval);
    return this.feeds.consume(feed.descriptor, feed.source, options);
  }

  private async candleFeed(marketType: MarketType, symbol: string, interval: Interval): Promise<FeedPlan<Candle>> {
    const instrument = await this.resolve(marketType, symbol);
    const useRTH = instrument.secType === "STK";
    return {
      descriptor: { key: `candle/${instrumentKey(instrument)}/${interval.name}`, kind: "candle", marketType, symbol: instrument.symbol, interval: interval.name },
      source: () => {
        const source = candleSource(this.ctx, instrument, interval, this.history.forCandleFeed(instrument, interval, useRTH, () => this.router.allocateId()), useRTH);
        const record = instrument.conId === 0 ? undefined : this.candleCache?.closedCandleWriter(instrument, interval, useRTH);
        return record === undefined ? source : tapData(source, record);
      },
    };
  }

  /** The most recent `limit` trades (1 to IB's 1000) in [fromMs, toMs), ascending. */
  async recentTrades(marketType: MarketType, symbol: string, query: { fromMs: number | undefined; toMs: number; limit: number; signal?: AbortSignal; client?: string; deadlineMs?: number }): Promise<TradePrint[]> {
    requireOfferedForSymbol(marketType, symbol, "trades");
    return this.history.recentTrades(withTrades(await this.resolve(marketType, symbol)), query);
  }

  /** The active account's values, portfolio and PnL, after IB's initial download (bounded by a timeout). */
  accountState(accountId = "", timeoutMs = 10_000): Promise<AccountState> {
    return this.accounts.state(accountId, timeoutMs);
  }

  /** Account updates (values per batch, positions, PnL) as IB sends them; joiners get the current state first. */
  streamAccount(accountId: string, options: ConsumerOptions<AccountUpdate>): FeedConsumer<AccountUpdate> {
    return this.accounts.stream(accountId, options);
  }

  /** Tick-by-tick trade prints, one IB tick-by-tick slot per instrument. */
  async streamTrades(marketType: MarketType, symbol: string, options: LineConsumerOptions<TradeEvent>): Promise<FeedConsumer<TradeEvent>> {
    const feed = await this.tradesFeed(marketType, symbol);
    return this.feeds.consume(feed.descriptor, feed.source, options);
  }

  private async tradesFeed(marketType: MarketType, symbol: string): Promise<FeedPlan<TradeEvent>> {
    requireOfferedForSymbol(marketType, symbol, "trades");
    requireOfferedForSymbol(marketType, symbol, "liveTrades");
    const instrument = withTrades(await this.resolve(marketType, symbol));
    const quote = () => this.feeds.peek<Level1>(`tick/${instrumentKey(instrument)}`);
    return { descriptor: { key: `trade/${instrumentKey(instrument)}`, kind: "trade", marketType, symbol: instrument.symbol }, source: () => tradesSource(this.ctx, instrument, quote, tradeHistoryFor(this.ctx, this.scheduler, instrument)) };
  }

  /** L2 depth of `rows` rows per side: a snapshot, then deltas with sequence numbers. One IB depth subscription per (instrument, rows). */
  async streamOrderBook(marketType: MarketType, symbol: string, rows: number, options: LineConsumerOptions<BookUpdate>): Promise<FeedConsumer<BookUpdate>> {
    const feed = await this.orderBookFeed(marketType, symbol, rows);
    return this.feeds.consume(feed.descriptor, feed.source, options);
  }

  private async orderBookFeed(marketType: MarketType, symbol: string, rows: number): Promise<FeedPlan<BookUpdate>> {
    requireOfferedForSymbol(marketType, symbol, "depth");
    const instrument = await this.resolve(marketType, symbol);
    return { descriptor: { key: `book/${instrumentKey(instrument)}/${rows}`, kind: "orderBook", marketType, symbol: instrument.symbol }, source: () => depthSource(this.ctx, instrument, rows) };
  }

  /**
   * Starts a subscription with no consumer and keeps it running (config.provider.json `active: true`):
   * consumers that come later join it, and it counts as one consumer in the runtime status. Its line is
   * charged to SERVICE_LINES: within IB's limit, exempt from the clients' fair shares (the operator's choice).
   */
  async activate(configured: ConfiguredFeed): Promise<void> {
    const { marketType, symbol } = configured;
    const feed: FeedPlan<unknown> =
      configured.kind === "candle"
        ? await this.candleFeed(marketType, symbol, configured.interval)
        : configured.kind === "trade"
          ? await this.tradesFeed(marketType, symbol)
          : await this.orderBookFeed(marketType, symbol, DEFAULT_BOOK_ROWS);
    this.feeds.pin(feed.descriptor, feed.source);
  }

  /**
   * A depth snapshot: from the running shared subscription when there is one (immediately), otherwise
   * from a short-lived one, once IB's initial burst of inserts has settled (bounded by `timeoutMs`).
   */
  async orderBookSnapshot(marketType: MarketType, symbol: string, rows: number, timeoutMs = 3_000, signal?: AbortSignal, client?: string): Promise<OrderBookSnapshot> {
    requireConnected(this.ctx, `an order book for ${symbol}`);
    const controller = new AbortController();
    signal?.addEventListener("abort", () => controller.abort(), { once: true });
    try {
      const cursor = await this.streamOrderBook(marketType, symbol, rows, { signal: controller.signal, heartbeatMs: 50, ...(client === undefined ? {} : { client }) });
      return await readOrderBookSnapshot(cursor, rows, timeoutMs, this.ctx.now);
    } finally {
      controller.abort();
    }
  }
}

/** A shared feed to consume or pin: its key and kind, and how to open it at IB (called once, when it is new). */
interface FeedPlan<T> {
  descriptor: FeedDescriptor;
  source: () => FeedSource<T>;
}

/** IB keeps no trade prints for forex (it answers 162 "No historical market data"): say so plainly. */
function withTrades(instrument: ResolvedInstrument): ResolvedInstrument {
  if (instrument.secType === "CASH") {
    throw new IbError("invalid", `IB reports no trades for forex pairs (${instrument.symbol}): use StreamTicks for quotes or GetCandles for midpoint bars`, undefined, "no-trades");
  }
  return instrument;
}
