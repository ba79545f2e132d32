import {
  type GetCandlesRequest,
  type GetOptionChainQuotesRequest,
  type GetOptionChainQuotesResponse,
  type GetOrderBookRequest,
  type GetOrderBookResponse,
  type GetTradesRequest,
  type GetTradesResponse,
  type StreamCandlesRequest,
  type StreamOrderBookRequest,
  type StreamTicksRequest,
  type StreamTradesRequest,
} from "../../../gen/ibprovider/v1/market_data_service.js";
import type { Candle, Level1, TextCandle, TradePrint } from "../../domain/marketData.js";
import type { Interval } from "../../domain/intervals.js";
import type { MarketType } from "../../domain/marketType.js";
import type { BookUpdate, CandleQuery, LineConsumerOptions, OrderBookSnapshot, TradeEvent } from "../../ib/ibAdapter.js";
import type { ResolvedInstrument } from "../../ib/contracts/contractResolver.js";
import { IbError } from "../../ib/ibErrors.js";
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from "../../stream/streamSettings.js";
import { invalidArgument, notFound } from "../apiError.js";
import type { QuoteSource } from "./discoverySource.js";
import { quoteOptionChain } from "./optionChainQuotes.js";
import type { CallContext } from "../callContext.js";
import { deadlineMsOf } from "../callDeadline.js";
import { toInstrument } from "../mapping/instrument.js";
import { encodeCandlesResponse } from "../mapping/candlesResponse.js";
import { levelToProto, tradeToProto } from "../mapping/marketData.js";
import { timestampFromMs } from "../mapping/protoTime.js";
import { checkInstrument, checkInterval } from "../requests/instrumentFields.js";
import { checkDepth, checkTradesLimit } from "../requests/sizeFields.js";
import { candleWindow, tradesWindow } from "../requests/timeWindow.js";
import { encodeStream, type EncodedMessage } from "../streamEncoding.js";
import { bookRendering, candleRendering, tickRendering, tradeRendering } from "../streamRenderings.js";
import { replayStartOf } from "../requests/replayFields.js";
import { candlesFromHistory } from "../candlesFromHistory.js";
import type { ReplayStart } from "../../stream/replayCursor.js";
import type { FeedConsumer } from "../../stream/feedCursor.js";

/** What the market data service needs from the adapter. */
export interface MarketDataSource extends QuoteSource {
  streamTicks(marketType: MarketType, symbol: string, options: LineConsumerOptions<Level1>): Promise<FeedConsumer<Level1>>;
  streamTrades(marketType: MarketType, symbol: string, options: LineConsumerOptions<TradeEvent>): Promise<FeedConsumer<TradeEvent>>;
  streamOrderBook(marketType: MarketType, symbol: string, rows: number, options: LineConsumerOptions<BookUpdate>): Promise<FeedConsumer<BookUpdate>>;
  orderBookSnapshot(marketType: MarketType, symbol: string, rows: number, timeoutMs?: number, signal?: AbortSignal, client?: string): Promise<OrderBookSnapshot>;
  candlePages(marketType: MarketType, symbol: string, query: CandleQuery): Promise<{ instrument: ResolvedInstrument; pages: AsyncIterable<TextCandle[]> }>;
  streamCandles(marketType: MarketType, symbol: string, interval: Interval, options: LineConsumerOptions<Candle>): Promise<FeedConsumer<Candle>>;
  recentTrades(marketType: MarketType, symbol: string, query: { fromMs: number | undefined; toMs: number; limit: number; signal?: AbortSignal; client?: string; deadlineMs?: number }): Promise<TradePrint[]>;
}

/** MarketDataService: live streams are the adapter's shared feeds, one response per batch of events. */
export class MarketDataService {
  constructor(
    private readonly source: MarketDataSource,
    private readonly settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
  ) {}

  private consumerOptions<T>(ctx: CallContext, start: ReplayStart | undefined, accepts?: (value: T) => boolean): LineConsumerOptions<T> {
    const { maxQueued, heartbeatMs, staleAfterMs } = this.settings;
    // A consumer too far behind a trades/candles feed is usually not reading at all: end its call now.
    // Its IB lines are charged to the caller's client (per-client caps and fair shares).
    return {
      signal: ctx.signal,
      client: ctx.client,
      maxQueued,
      heartbeatMs,
      staleAfterMs,
      onOverflow: (error) => ctx.fail(error),
      ...(accepts === undefined ? {} : { accepts }),
      // An edge's lease holds the feed and serves the start itself, from the bus (the request was checked here).
      ...(ctx.lease !== undefined ? { hold: ctx.lease.joined } : start === undefined ? {} : { start }),
    };
  }

  getOptionChainQuotes(request: GetOptionChainQuotesRequest, ctx: CallContext): Promise<GetOptionChainQuotesResponse> {
    return quoteOptionChain(this.source, request, ctx);
  }

  async getCandles(request: GetCandlesRequest, ctx: CallContext): Promise<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const interval = checkInterval(request.interval);
    const nowMs = Date.now();
    const { fromMs, toMs } = candleWindow(request, interval, nowMs);
    const { instrument, pages } = await this.source
      .candlePages(marketType, symbol, { interval, fromMs, toMs, regularHoursOnly: request.regularHoursOnly ?? true, signal: ctx.signal, client: ctx.client, deadlineMs: deadlineMsOf(ctx.metadata) })
      .catch((err: unknown) => {
        // The window is what the client chose: name the field that set it.
        if (err instanceof IbError && err.fact === "history-too-long") throw invalidArgument(request.from !== undefined ? "from" : "days", err.message, "WINDOW_TOO_LONG");
        throw err;
      });
    const { bytes, candles } = await encodeCandlesResponse(pages, symbol, toInstrument(instrument, symbol, nowMs));
    // Barfinex answers 404 when a window holds no data; the REST bridge maps NOT_FOUND to it.
    if (candles === 0) throw notFound(`no ${interval.name} candles for ${symbol} between ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}`, "NO_DATA");
    return bytes;
  }

  async getTrades(request: GetTradesRequest, ctx: CallContext): Promise<GetTradesResponse> {
    const { marketType, symbol } = checkInstrument(request);
    const limit = checkTradesLimit(request.limit);
    const { fromMs, toMs } = tradesWindow(request, Date.now());
    const trades = await this.source.recentTrades(marketType, symbol, { fromMs, toMs, limit, signal: ctx.signal, client: ctx.client, deadlineMs: deadlineMsOf(ctx.metadata) });
    return {
      // Historical prints carry no quote (no side) and no service id: IB gives none for them.
      trades: trades.map((t) => tradeToProto({ trade: t, sequence: 0, quote: undefined }, symbol, "")),
    };
  }

  async *streamCandles(request: StreamCandlesRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const interval = checkInterval(request.interval);
    const start = replayStartOf(request, Date.now());
    // complete_only: Barfinex emits closed candles only; statuses and heartbeats still flow.
    const accepts = request.completeOnly ? (c: Candle) => c.complete : undefined;
    const rendering = candleRendering(symbol, request.completeOnly);
    if (start !== undefined && "atMs" in start && ctx.lease === undefined) {
      // From a time: the complete candles of history (the store, else IB), then the live feed from the forming one.
      const live = await this.source.streamCandles(marketType, symbol, interval, this.consumerOptions<Candle>(ctx, undefined, accepts));
      const history = (fromMs: number, toMs: number) =>
        this.source.candlePages(marketType, symbol, { interval, fromMs, toMs, regularHoursOnly: false, signal: ctx.signal, client: ctx.client, deadlineMs: deadlineMsOf(ctx.metadata) }).then((r) => r.pages);
      yield* encodeStream(candlesFromHistory({ atMs: start.atMs, symbol: symbol, history, live, now: Date.now }), rendering);
      return;
    }
    yield* encodeStream(await this.source.streamCandles(marketType, symbol, interval, this.consumerOptions<Candle>(ctx, start, accepts)), rendering);
  }

  async *streamTicks(request: StreamTicksRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const start = replayStartOf(request, Date.now());
    yield* encodeStream(await this.source.streamTicks(marketType, symbol, this.consumerOptions(ctx, start)), tickRendering(symbol));
  }

  async *streamTrades(request: StreamTradesRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const start = replayStartOf(request, Date.now());
    yield* encodeStream(await this.source.streamTrades(marketType, symbol, this.consumerOptions(ctx, start)), tradeRendering(symbol));
  }

  async *streamOrderBook(request: StreamOrderBookRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const depth = checkDepth(request.depth);
    const start = replayStartOf(request, Date.now());
    yield* encodeStream(await this.source.streamOrderBook(marketType, symbol, depth, this.consumerOptions(ctx, start)), bookRendering(symbol));
  }

  async getOrderBook(request: GetOrderBookRequest, ctx: CallContext): Promise<GetOrderBookResponse> {
    const { marketType, symbol } = checkInstrument(request);
    const depth = checkDepth(request.depth);
    const { book, timeMs, consistent } = await this.source.orderBookSnapshot(marketType, symbol, depth, undefined, ctx.signal, ctx.client);
    const levels = book.levels(depth);
    return {
      orderBook: {
        symbol: symbol,
        time: timestampFromMs(timeMs),
        bids: levels.bids.map(levelToProto),
        asks: levels.asks.map(levelToProto),
        sequence: String(book.sequence ?? 0),
        isConsistent: consistent,
      },
    };
  }
}
