import type { BinaryWriter } from "@bufbuild/protobuf/wire";
import { OptionComputationKind, TradeSide, type Candle as ProtoCandle, type OptionComputation as ProtoOptionComputation, type OrderBookUpdate, type PriceLevel, type Tick, type Trade } from "../../../gen/ibprovider/v1/types.js";
import { toWire, type Decimal } from "../../domain/decimal.js";
import { inferTradeSide, textCandleOf, type Candle, type Level1, type OptionComputation, type TextCandle } from "../../domain/marketData.js";
import type { BookUpdate, TradeEvent } from "../../ib/ibAdapter.js";
import { dataTypeToProto } from "./streamStatus.js";
import { timestampFromMs } from "./protoTime.js";
import type { StreamRendering } from "../streamEncoding.js";

/** Market data (domain and adapter types) → proto messages. */

export function levelToProto(l: { price: Decimal; size: Decimal; marketMaker?: string }): PriceLevel {
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

/**
 * The rendering with CandleEvent.backfilled / TradeEvent.backfilled set on every event: true for data
 * fetched from IB's history after a Gateway outage, false otherwise. Set explicitly: ts-proto writes the
 * field (2 bytes) whenever it is not `false`, absent included.
 */
export function withBackfilledFlag<T extends { backfilled?: true }, E extends { backfilled: boolean }>(rendering: StreamRendering<T, E>): StreamRendering<T, E> {
  return {
    ...rendering,
    data: (value, seq) => rendering.data(value, seq).map((e) => ({ ...e, backfilled: value.backfilled === true })),
    control: (event) => ({ ...rendering.control(event), backfilled: false }),
  };
}

/** A stored or historical candle: its text goes to the wire as it is. */
export function textCandleToProto(c: TextCandle, symbol: string): ProtoCandle {
  return {
    symbol,
    interval: c.interval,
    time: timestampFromMs(c.startMs),
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    volume: c.volume,
    vwap: c.vwap,
    tradeCount: String(c.tradeCount),
    isComplete: c.complete,
  };
}

/** A live candle: its decimals through toWire, then as a stored one. */
export function candleToProto(c: Candle, symbol: string): ProtoCandle {
  return textCandleToProto(textCandleOf(c), symbol);
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
  if (l1.optionComputations !== undefined) for (const c of l1.optionComputations) writeOptionComputation(w, c);
  w.join();
  if (seq !== 0) w.uint32(32).uint64(seq);
}

function writeDecimal(w: BinaryWriter, tag: number, d: Decimal | undefined): void {
  const text = toWire(d);
  if (text !== "") w.uint32(tag).string(text);
}

const COMPUTATION_KINDS = { bid: OptionComputationKind.OPTION_COMPUTATION_KIND_BID, ask: OptionComputationKind.OPTION_COMPUTATION_KIND_ASK, last: OptionComputationKind.OPTION_COMPUTATION_KIND_LAST, model: OptionComputationKind.OPTION_COMPUTATION_KIND_MODEL } as const;

/** Tick.option_computations (field 11), as ts-proto writes it. */
function writeOptionComputation(w: BinaryWriter, c: OptionComputation): void {
  w.uint32(90).fork();
  w.uint32(8).int32(COMPUTATION_KINDS[c.kind]);
  if (c.priceBased) w.uint32(16).bool(true);
  writeDecimal(w, 26, c.impliedVolatility);
  writeDecimal(w, 34, c.delta);
  writeDecimal(w, 42, c.gamma);
  writeDecimal(w, 50, c.vega);
  writeDecimal(w, 58, c.theta);
  writeDecimal(w, 66, c.optionPrice);
  writeDecimal(w, 74, c.underlyingPrice);
  writeDecimal(w, 82, c.pvDividend);
  w.join();
}

export function optionComputationToProto(c: OptionComputation): ProtoOptionComputation {
  return {
    kind: COMPUTATION_KINDS[c.kind],
    priceBased: c.priceBased,
    impliedVolatility: toWire(c.impliedVolatility),
    delta: toWire(c.delta),
    gamma: toWire(c.gamma),
    vega: toWire(c.vega),
    theta: toWire(c.theta),
    optionPrice: toWire(c.optionPrice),
    underlyingPrice: toWire(c.underlyingPrice),
    pvDividend: toWire(c.pvDividend),
  };
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
    optionComputations: (l1.optionComputations ?? []).map(optionComputationToProto),
  };
}
