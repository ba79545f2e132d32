import { StreamAccountRequest } from "../../gen/ibprovider/v1/account_service.js";
import { StreamCandlesRequest, StreamOrderBookRequest, StreamTicksRequest, StreamTradesRequest } from "../../gen/ibprovider/v1/market_data_service.js";
import type { ReplayStart } from "../stream/replayCursor.js";
import { checkInstrument, checkMarketType } from "./requests/instrumentFields.js";
import { replayStartOf } from "./requests/replayFields.js";
import type { StreamRendering } from "./streamEncoding.js";
import { accountRendering, bookRendering, candleRendering, tickRendering, tradeRendering } from "./streamRenderings.js";

/** A stream request read for serving it elsewhere than its handler (an edge): how it renders, where it starts. */
export interface StreamRequest {
  rendering: StreamRendering<unknown, unknown>;
  start: ReplayStart | undefined;
  /** The feed records its state as snapshots (the book, the account): a replay from a time starts at one. */
  snapshots?: true;
  /** A replay from a time is served from history, not the feed's recording (candles). */
  fromHistory?: true;
}

type Reader = (bytes: Uint8Array, nowMs: number) => StreamRequest;

const any = <T, E>(r: StreamRendering<T, E>) => r as unknown as StreamRendering<unknown, unknown>;

/** Each feed stream's request → its rendering, as its handler (marketDataService.ts, accountService.ts) chooses it. */
const READERS: Readonly<Record<string, Reader>> = {
  "/ibprovider.v1.MarketDataService/StreamTicks": (bytes, nowMs) => {
    const request = StreamTicksRequest.decode(bytes);
    return { rendering: any(tickRendering(checkInstrument(request).symbol)), start: replayStartOf(request, nowMs) };
  },
  "/ibprovider.v1.MarketDataService/StreamTrades": (bytes, nowMs) => {
    const request = StreamTradesRequest.decode(bytes);
    return { rendering: any(tradeRendering(checkInstrument(request).symbol)), start: replayStartOf(request, nowMs) };
  },
  "/ibprovider.v1.MarketDataService/StreamOrderBook": (bytes, nowMs) => {
    const request = StreamOrderBookRequest.decode(bytes);
    return { rendering: any(bookRendering(checkInstrument(request).symbol)), start: replayStartOf(request, nowMs), snapshots: true };
  },
  "/ibprovider.v1.MarketDataService/StreamCandles": (bytes, nowMs) => {
    const request = StreamCandlesRequest.decode(bytes);
    return { rendering: any(candleRendering(checkInstrument(request).symbol, request.completeOnly)), start: replayStartOf(request, nowMs), fromHistory: true };
  },
  "/ibprovider.v1.AccountService/StreamAccount": (bytes, nowMs) => {
    const request = StreamAccountRequest.decode(bytes);
    return { rendering: any(accountRendering(checkMarketType(request.marketType))), start: replayStartOf(request, nowMs), snapshots: true };
  },
};

/**
 * The request of a feed stream (`path`), read as its handler reads it; undefined for a method that is not a
 * feed's (health Watch). Throws the handler's own validation error on a request it would refuse.
 */
export function readStreamRequest(path: string, bytes: Uint8Array, nowMs: number): StreamRequest | undefined {
  return READERS[path]?.(bytes, nowMs);
}

/** Whether `path` is a feed stream's (one an edge serves from the bus). */
export function isFeedStream(path: string): boolean {
  return Object.hasOwn(READERS, path);
}
