import { StreamAccountResponse, type AccountEvent } from "../../gen/ibprovider/v1/account_service.js";
import {
  StreamCandlesResponse,
  StreamOrderBookResponse,
  StreamTicksResponse,
  StreamTradesResponse,
  type CandleEvent,
  type OrderBookEvent,
  type TickEvent,
  type TradeEvent as ProtoTradeEvent,
} from "../../gen/ibprovider/v1/market_data_service.js";
import type { Candle, Level1 } from "../domain/marketData.js";
import type { MarketType } from "../domain/marketType.js";
import { StreamOrdersResponse, type OrderEvent } from "../../gen/ibprovider/v1/order_service.js";
import type { AccountUpdate, BookUpdate, TradeEvent } from "../ib/ibAdapter.js";
import type { OrderDeskEvent } from "../ib/orders/orderDesk.js";
import type { SubscriptionKind } from "../ib/feeds/subscriptionSnapshot.js";
import type { FeedCodec } from "../stream/feedRecorder.js";
import { executionToProto, orderToProto, tradingStatusToProto } from "./mapping/orders.js";
import { assetsOf, inMarket, pnlToProto, positionToProto, summaryOf } from "./mapping/account.js";
import { bookUpdateToProto, candleToProto, tickToProto, tradeToProto, withBackfilledFlag, writeTickEvent } from "./mapping/marketData.js";
import { encodeEach, numberedRendering, type StreamRendering } from "./streamEncoding.js";

/**
 * How each kind of stream renders its feed's events for a client (the symbol as it asked) — and for the
 * feed's journal, which records them as the stream sends them, so that a replay sends recorded bytes as
 * they are.
 */

export function tickRendering(symbol: string): StreamRendering<Level1, TickEvent> {
  return numberedRendering<Level1, TickEvent>({
    kind: "tick",
    symbol,
    codec: StreamTicksResponse,
    toEvent: (l1) => ({ $case: "tick", value: tickToProto(l1, symbol) }),
    writeData: (l1, seq, writer) => writeTickEvent(l1, symbol, seq, writer),
  });
}

export function tradeRendering(symbol: string): StreamRendering<TradeEvent, ProtoTradeEvent> {
  return withBackfilledFlag(numberedRendering<TradeEvent, ProtoTradeEvent>({ kind: "trade", symbol, codec: StreamTradesResponse, toEvent: (t) => ({ $case: "trade", value: tradeToProto(t, symbol) }) }));
}

export function bookRendering(symbol: string): StreamRendering<BookUpdate, OrderBookEvent> {
  return numberedRendering<BookUpdate, OrderBookEvent>({ kind: "book", symbol, codec: StreamOrderBookResponse, toEvent: (u) => ({ $case: "update", value: bookUpdateToProto(u, symbol) }) });
}

/** `completeOnly` filters replayed candles here; live ones are filtered by the feed cursor (`accepts`). */
export function candleRendering(symbol: string, completeOnly = false): StreamRendering<Candle, CandleEvent> {
  return withBackfilledFlag(
    numberedRendering<Candle, CandleEvent>({
      kind: "candle",
      symbol,
      codec: StreamCandlesResponse,
      toEvent: (c) => ({ $case: "candle", value: candleToProto(c, symbol) }),
      ...(completeOnly ? { accepts: (e: CandleEvent) => e.event?.$case !== "candle" || e.event.value.isComplete } : {}),
    }),
  );
}

/**
 * The account stream: one encoding for every market (the data does not depend on it); positions of other
 * markets are skipped live by the cursor (`accepts`) and, when replayed, here. No market: the journal's.
 */
export function accountRendering(marketType?: MarketType): StreamRendering<AccountUpdate, AccountEvent> {
  const { recorded } = numberedRendering<AccountUpdate, AccountEvent>({
    kind: "account",
    symbol: "",
    codec: StreamAccountResponse,
    toEvent: () => undefined,
    ...(marketType === undefined ? {} : { accepts: (e: AccountEvent) => e.event?.$case !== "position" || inMarket(e.event.value.secType, marketType) }),
  });
  return {
    encode: (events, writer) => StreamAccountResponse.encode({ events }, writer),
    key: "account",
    data: (u, seq) => accountEvents(u).map((event) => ({ event, sequence: String(seq) })),
    control: (event) => ({ ...event, sequence: "0" }),
    recorded,
  };
}

/** One account update as the events of an account stream. */
function accountEvents(u: AccountUpdate): NonNullable<AccountEvent["event"]>[] {
  if (u.type === "values") return [{ $case: "summary", value: summaryOf(u.values) }, ...assetsOf(u.values).map((value) => ({ $case: "asset" as const, value }))];
  if (u.type === "position") return [{ $case: "position", value: positionToProto(u.item) }];
  return [{ $case: "pnl", value: pnlToProto(u.pnl) }];
}

/**
 * The order stream (StreamOrders): one rendering for every client (the data is the account's). An event
 * learned by reconciling with IB after a reconnect carries `reconciled`.
 */
export function orderRendering(): StreamRendering<OrderDeskEvent, OrderEvent> {
  const { recorded } = numberedRendering<OrderDeskEvent, OrderEvent>({ kind: "orders", symbol: "", codec: StreamOrdersResponse, toEvent: () => undefined });
  return {
    encode: (events, writer) => StreamOrdersResponse.encode({ events }, writer),
    key: "orders",
    data: (e, seq) => [{ event: orderEventOf(e), sequence: String(seq), reconciled: e.type !== "trading" && e.reconciled }],
    control: (event) => ({ ...event, sequence: "0", reconciled: false }),
    recorded,
  };
}

function orderEventOf(e: OrderDeskEvent): NonNullable<OrderEvent["event"]> {
  if (e.type === "order") return { $case: "order", value: orderToProto(e.order, e.commission) };
  if (e.type === "execution") return { $case: "execution", value: executionToProto(e.execution, e.order) };
  return { $case: "tradingStatus", value: tradingStatusToProto(e.state) };
}

const RENDERINGS: Record<SubscriptionKind, (symbol: string) => StreamRendering<never, unknown>> = {
  tick: tickRendering,
  trade: tradeRendering,
  orderBook: bookRendering,
  candle: (symbol) => candleRendering(symbol),
  account: () => accountRendering(),
  orders: () => orderRendering(),
};

/** The journal codec of a kind of feed: each event encoded as that kind's stream sends it for the recorded symbol. */
export function recordingCodec<T>(kind: SubscriptionKind): FeedCodec<T> {
  const bySymbol = new Map<string, StreamRendering<T, unknown>>();
  return (events, symbol) => {
    let rendering = bySymbol.get(symbol);
    if (rendering === undefined) {
      rendering = RENDERINGS[kind](symbol) as unknown as StreamRendering<T, unknown>;
      bySymbol.set(symbol, rendering);
    }
    return encodeEach(events, rendering);
  };
}
