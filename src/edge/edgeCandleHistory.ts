import { status } from "@grpc/grpc-js";
import { GetCandlesRequest, GetCandlesResponse, StreamCandlesRequest, StreamCandlesResponse } from "../../gen/ibprovider/v1/market_data_service.js";
import type { Candle } from "../../gen/ibprovider/v1/types.js";
import type { LeaseEnd } from "../bus/busLeases.js";
import type { BusCall, CallReply } from "../bus/busRpc.js";
import { timestampFromMs, timestampToMs } from "../grpc/mapping/protoTime.js";

const GET_CANDLES = "/ibprovider.v1.MarketDataService/GetCandles";

export type CandleHistory = { ok: true; candles: Candle[] } | { ok: false; end: LeaseEnd };

/**
 * StreamCandles from a time at an edge: the complete candles of history from `atMs` to `toMs`, asked of the
 * provider as GetCandles with the client's own headers — the store first, IB for what it lacks, within the
 * client's quotas and IB's pacing, exactly as the provider's handler reads them for its own stream (all
 * hours, as the live feed). A window without candles is an empty history (the stream goes on live), not the
 * NOT_FOUND GetCandles answers; any other failure ends the stream with the provider's status and reason.
 */
export async function candleHistoryAtEdge(
  stream: BusCall,
  call: (call: BusCall, cancelled?: AbortSignal) => Promise<CallReply>,
  window: { atMs: number; toMs: number },
  cancelled: AbortSignal,
): Promise<CandleHistory> {
  const asked = StreamCandlesRequest.decode(stream.body);
  const request: GetCandlesRequest = {
    connectorType: asked.connectorType,
    marketType: asked.marketType,
    symbol: asked.symbol,
    interval: asked.interval,
    from: timestampFromMs(window.atMs),
    to: timestampFromMs(window.toMs),
    regularHoursOnly: false,
    ...(asked.instrument === undefined ? {} : { instrument: asked.instrument }),
  };
  const reply = await call({ method: GET_CANDLES, headers: stream.headers, body: GetCandlesRequest.encode(request).finish() }, cancelled);
  if (!reply.ok) return reply.code === status.NOT_FOUND ? { ok: true, candles: [] } : { ok: false, end: reply };
  return { ok: true, candles: GetCandlesResponse.decode(reply.body).candles.filter((c) => c.isComplete) };
}

/** The start of the candle a candle stream's framed `events` entry carries (undefined: a status or heartbeat). */
export function candleStartOf(entry: Uint8Array): number | undefined {
  const event = StreamCandlesResponse.decode(entry).events[0]?.event;
  return event?.$case === "candle" && event.value.time !== undefined ? timestampToMs(event.value.time) : undefined;
}
