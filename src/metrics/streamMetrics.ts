import { conflatedMessages, droppedMessages } from "./metrics.js";

/** The `kind` label of stream metrics: the SubscriptionKind names, plus grpc.health.v1 Watch streams. */
export type StreamKind = "candle" | "trade" | "orderBook" | "tick" | "account" | "orders" | "health";

const KIND_BY_RPC: Record<string, StreamKind> = {
  StreamCandles: "candle",
  StreamTrades: "trade",
  StreamOrderBook: "orderBook",
  StreamTicks: "tick",
  StreamAccount: "account",
  StreamOrders: "orders",
  Watch: "health",
};

/** "ibprovider.v1.MarketDataService.StreamTicks" (or "/pkg.Service/StreamTicks") → "tick"; undefined for others. */
export function streamKindOfMethod(method: string): StreamKind | undefined {
  return KIND_BY_RPC[method.split(/[./]/).pop() ?? ""];
}

/**
 * Counts what a consumer's queue shed to stay bounded (FeedCursor's onShed): "overflow" drops the
 * events (the stream then ends), "conflated"/"snapshot" replace them with the newest state.
 */
export function recordShed(kind: StreamKind, shed: "conflated" | "snapshot" | "overflow", events: number): void {
  if (shed === "overflow") droppedMessages.inc({ kind }, events);
  else conflatedMessages.inc({ kind }, events);
}
