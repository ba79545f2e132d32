import {
  StreamCandlesResponse,
  StreamOrderBookResponse,
  StreamTicksResponse,
  StreamTradesResponse,
  type CandleEvent,
  type GetCandlesRequest,
  type GetCandlesResponse,
  type GetOrderBookRequest,
  type GetOrderBookResponse,
  type GetTradesRequest,
  type GetTradesResponse,
  type OrderBookEvent,
  type StreamCandlesRequest,
  type StreamOrderBookRequest,
  type StreamTicksRequest,
  type StreamTradesRequest,
  type TickEvent,
  type TradeEvent as ProtoTradeEvent,
} from "../../../gen/ibprovider/v1/market_data_service.js";
import { TradeSide, type Candle as ProtoCandle, type OrderBookUpdate, type PriceLevel, type Tick, type Trade } from "../../../gen/ibprovider/v1/types.js";
import type { BookMirror } from "../../domain/bookMirror.js";
import { inferTradeSide, type Candle, type TradePrint } from "../../domain/marketData.js";
import type { Interval } from "../../domain/intervals.js";
import { toWire, type Decimal } from "../../domain/decimal.js";
import type { Level1 } from "../../domain/marketData.js";
import type { MarketType } from "../../domain/marketType.js";
import { DEFAULT_BOOK_ROWS, MAX_BOOK_DEPTH, type BookUpdate, type CandleQuery, type ConsumerOptions, type FeedCursor, type TradeEvent } from "../../ib/ibAdapter.js";
import type { ResolvedInstrument } from "../../ib/contracts/contractResolver.js";
import { invalidArgument, notFound } from "../apiError.js";
import { toInstrument } from "./symbolService.js";
import { candleWindow } from "./candleWindow.js";
import type { CallContext } from "../callContext.js";
import { dataTypeToProto } from "../feedProto.js";
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from "../../stream/streamSettings.js";
import type { BinaryWriter } from "@bufbuild/protobuf/wire";
import { encodeStream, numberedRendering, type EncodedMessage } from "../streamEncoding.js";
import { isValidTimestamp, timestampFromMs, timestampToMs } from "../protoTime.js";
import { IbError } from "../../ib/ibErrors.js";
import { checkInstrument, checkInterval } from "../requestValidation.js";

/** What the market data service needs from the adapter. */
export interface MarketDataSource {
  streamTicks(marketType: MarketType, symbol: string, options: ConsumerOptions<Level1>): Promise<FeedCursor<Level1>>;
  streamTrades(marketType: MarketType, symbol: string, options: ConsumerOptions<TradeEvent>): Promise<FeedCursor<TradeEvent>>;
  streamOrderBook(marketType: MarketType, symbol: string, rows: number, options: ConsumerOptions<BookUpdate>): Promise<FeedCursor<BookUpdate>>;
  orderBookSnapshot(marketType: MarketType, symbol: string, rows: number, timeoutMs?: number, signal?: AbortSignal): Promise<{ book: BookMirror; timeMs: number; consistent: boolean }>;
  candles(marketType: MarketType, symbol: string, query: CandleQuery): Promise<{ instrument: ResolvedInstrument; candles: Candle[] }>;
  streamCandles(marketType: MarketType, symbol: string, interval: Interval, options: ConsumerOptions<Candle>): Promise<FeedCursor<Candle>>;
  recentTrades(marketType: MarketType, symbol: string, query: { fromMs: number | undefined; toMs: number; limit: number; signal?: AbortSignal }): Promise<TradePrint[]>;
}

const DEFAULT_TRADES_LIMIT = 100;

function checkDepth(depth: number): number {
  if (depth === 0) return DEFAULT_BOOK_ROWS;
  if (depth > MAX_BOOK_DEPTH) throw invalidArgument("depth", `at most ${MAX_BOOK_DEPTH} levels per side (got ${depth})`, "DEPTH_TOO_LARGE");
  return depth;
}

/** MarketDataService: live streams are the adapter's shared feeds, one response per batch of events. */
export class MarketDataService {
  constructor(
    private readonly source: MarketDataSource,
    private readonly settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
  ) {}

  private consumerOptions<T>(ctx: CallContext, accepts?: (value: T) => boolean): ConsumerOptions<T> {
    const { maxQueued, heartbeatMs, staleAfterMs } = this.settings;
    // A consumer too far behind a trades/candles feed is usually not reading at all: end its call now.
    return { signal: ctx.signal, maxQueued, heartbeatMs, staleAfterMs, onOverflow: (error) => ctx.fail(error), ...(accepts === undefined ? {} : { accepts }) };
  }

  async getCandles(request: GetCandlesRequest, ctx: CallContext): Promise<GetCandlesResponse> {
    const { marketType, symbol } = checkInstrument(request);
    const interval = checkInterval(request.interval);
    const nowMs = Date.now();
    const { fromMs, toMs } = candleWindow(request, interval, nowMs);
    const { instrument, candles } = await this.source
      .candles(marketType, symbol, { interval, fromMs, toMs, regularHoursOnly: request.regularHoursOnly ?? true, signal: ctx.signal })
      .catch((err: unknown) => {
        // The window is what the client chose: name the field that set it.
        if (err instanceof IbError && err.reason === "WINDOW_TOO_LONG") throw invalidArgument(request.from !== undefined ? "from" : "days", err.message, "WINDOW_TOO_LONG");
        throw err;
      });
    // Barfinex answers 404 when a window holds no data; the REST bridge maps NOT_FOUND to it.
    if (candles.length === 0) throw notFound(`no ${interval.name} candles for ${request.symbol} between ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}`, "NO_DATA");
    return { candles: candles.map((c) => candleToProto(c, request.symbol)), instrument: toInstrument(instrument, request.symbol, nowMs) };
  }

  async getTrades(request: GetTradesRequest, ctx: CallContext): Promise<GetTradesResponse> {
    const { marketType, symbol } = checkInstrument(request);
    const limit = request.limit === 0 ? DEFAULT_TRADES_LIMIT : request.limit;
    if (limit > 1000) throw invalidArgument("limit", `at most 1000 trades per call (IB's per-request maximum; got ${limit})`, "LIMIT_TOO_LARGE");
    const nowMs = Date.now();
    if (request.to !== undefined && !isValidTimestamp(request.to)) throw invalidArgument("to", "not a valid time (0001-01-01 to 9999-12-31)", "INVALID_TIME");
    if (request.from !== undefined && !isValidTimestamp(request.from)) throw invalidArgument("from", "not a valid time (0001-01-01 to 9999-12-31)", "INVALID_TIME");
    const toMs = request.to === undefined ? nowMs : timestampToMs(request.to);
    const fromMs = request.from === undefined ? undefined : timestampToMs(request.from);
    if (fromMs !== undefined && fromMs >= toMs) throw invalidArgument("from", "must be before to", "INVALID_TIME_RANGE");
    const trades = await this.source.recentTrades(marketType, symbol, { fromMs, toMs, limit, signal: ctx.signal });
    return {
      // Historical prints carry no quote (no side) and no service id: IB gives none for them.
      trades: trades.map((t) => tradeToProto({ trade: t, sequence: 0, quote: undefined }, request.symbol, "")),
    };
  }

  async *streamCandles(request: StreamCandlesRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const interval = checkInterval(request.interval);
    // complete_only: Barfinex emits closed candles only; statuses and heartbeats still flow.
    const cursor = await this.source.streamCandles(marketType, symbol, interval, this.consumerOptions<Candle>(ctx, request.completeOnly ? (c) => c.complete : undefined));
    const rendering = numberedRendering<Candle, CandleEvent>(
      `candle\0${request.symbol}`,
      (events, writer) => StreamCandlesResponse.encode({ events }, writer),
      (c) => ({ $case: "candle", value: candleToProto(c, request.symbol) }),
    );
    yield* encodeStream(cursor, rendering);
  }

  async *streamTicks(request: StreamTicksRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const cursor = await this.source.streamTicks(marketType, symbol, this.consumerOptions(ctx));
    const rendering = numberedRendering<Level1, TickEvent>(
      `tick\0${request.symbol}`,
      (events, writer) => StreamTicksResponse.encode({ events }, writer),
      (l1) => ({ $case: "tick", value: tickToProto(l1, request.symbol) }),
      (l1, seq, writer) => writeTickEvent(l1, request.symbol, seq, writer),
    );
    yield* encodeStream(cursor, rendering);
  }

  async *streamTrades(request: StreamTradesRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const cursor = await this.source.streamTrades(marketType, symbol, this.consumerOptions(ctx));
    const rendering = numberedRendering<TradeEvent, ProtoTradeEvent>(
      `trade\0${request.symbol}`,
      (events, writer) => StreamTradesResponse.encode({ events }, writer),
      (t) => ({ $case: "trade", value: tradeToProto(t, request.symbol) }),
    );
    yield* encodeStream(cursor, rendering);
  }

  async *streamOrderBook(request: StreamOrderBookRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const { marketType, symbol } = checkInstrument(request);
    const depth = checkDepth(request.depth);
    const cursor = await this.source.streamOrderBook(marketType, symbol, depth, this.consumerOptions(ctx));
    const rendering = numberedRendering<BookUpdate, OrderBookEvent>(
      `book\0${request.symbol}`,
      (events, writer) => StreamOrderBookResponse.encode({ events }, writer),
      (u) => ({ $case: "update", value: bookUpdateToProto(u, request.symbol) }),
    );
    yield* encodeStream(cursor, rendering);
  }

  async getOrderBook(request: GetOrderBookRequest, ctx: CallContext): Promise<GetOrderBookResponse> {
    const { marketType, symbol } = checkInstrument(request);
    const depth = checkDepth(request.depth);
    const { book, timeMs, consistent } = await this.source.orderBookSnapshot(marketType, symbol, depth, undefined, ctx.signal);
    const levels = book.levels(depth);
    return {
      orderBook: {
        symbol: request.symbol,
        time: timestampFromMs(timeMs),
        bids: levels.bids.map(levelToProto),
        asks: levels.asks.map(levelToProto),
        sequence: String(book.sequence ?? 0),
        isConsistent: consistent,
      },
    };
  }
}

function levelToProto(l: { price: Decimal; size: Decimal; marketMaker?: string }): PriceLevel {
  return { price: toWire(l.price), volume: toWire(l.size), marketMaker: l.marketMaker ?? "" };
}

export function bookUpdateToProto(u: BookUpdate, symbol: string): OrderBookUpdate {
  return {
    symbol,
    time: timestampFromMs(u.timeMs),
    sequence: String(u.sequence),
    isSnapshot: u.snapshot,
    bids: u.bids.map(levelToProto),
    asks: u.asks.map(levelToProto),
    isConsistent: u.consistent,
  };
}

const SIDES = { buy: TradeSide.TRADE_SIDE_BUY, sell: TradeSide.TRADE_SIDE_SELL } as const;

export function tradeToProto(e: TradeEvent, symbol: string, tradeId = String(e.sequence)): Trade {
  const side = inferTradeSide(e.trade, e.quote);
  return {
    symbol,
    time: timestampFromMs(e.trade.timeMs),
    price: toWire(e.trade.price),
    volume: toWire(e.trade.size),
    side: side === undefined ? TradeSide.TRADE_SIDE_UNSPECIFIED : SIDES[side],
    exchange: e.trade.exchange,
    conditions: e.trade.conditions.join(","),
    tradeId,
  };
}

export function candleToProto(c: Candle, symbol: string): ProtoCandle {
  return {
    symbol,
    interval: c.interval,
    time: timestampFromMs(c.startMs),
    open: toWire(c.open),
    high: toWire(c.high),
    low: toWire(c.low),
    close: toWire(c.close),
    volume: toWire(c.volume),
    vwap: toWire(c.vwap),
    tradeCount: String(c.tradeCount),
    isComplete: c.complete,
  };
}

/**
 * TickEvent{tick: tickToProto(l1, symbol), sequence: seq}, written straight into `writer`: byte for byte
 * what ts-proto writes (field order, defaults left out; a test compares the two), without building the
 * Tick, its Timestamp and the event objects, or a sequence string to parse back — this runs per tick per
 * shared encoding, the service's hottest path.
 */
export function writeTickEvent(l1: Level1, symbol: string, seq: number, w: BinaryWriter): void {
  w.uint32(10).fork(); // TickEvent.tick
  if (symbol !== "") w.uint32(10).string(symbol);
  const seconds = Math.floor(l1.timeMs / 1000);
  const nanos = Math.round((l1.timeMs - seconds * 1000) * 1e6);
  w.uint32(18).fork(); // Tick.time
  if (seconds !== 0) w.uint32(8).int64(seconds);
  if (nanos !== 0) w.uint32(16).int32(nanos);
  w.join();
  writeDecimal(w, 26, l1.bid);
  writeDecimal(w, 34, l1.bidSize);
  writeDecimal(w, 42, l1.ask);
  writeDecimal(w, 50, l1.askSize);
  writeDecimal(w, 58, l1.last);
  writeDecimal(w, 66, l1.lastSize);
  writeDecimal(w, 74, l1.volume);
  const dataType = dataTypeToProto(l1.dataType);
  if (dataType !== 0) w.uint32(80).int32(dataType);
  w.join();
  if (seq !== 0) w.uint32(32).uint64(seq);
}

function writeDecimal(w: BinaryWriter, tag: number, d: Decimal | undefined): void {
  const text = toWire(d);
  if (text !== "") w.uint32(tag).string(text);
}

export function tickToProto(l1: Level1, symbol: string): Tick {
  return {
    symbol,
    time: timestampFromMs(l1.timeMs),
    bid: toWire(l1.bid),
    bidSize: toWire(l1.bidSize),
    ask: toWire(l1.ask),
    askSize: toWire(l1.askSize),
    last: toWire(l1.last),
    lastSize: toWire(l1.lastSize),
    volume: toWire(l1.volume),
    marketDataType: dataTypeToProto(l1.dataType),
  };
}
