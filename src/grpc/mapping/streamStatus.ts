import { MarketDataType, StreamStatusKind, type Heartbeat, type StreamStatus } from "../../../gen/ibprovider/v1/types.js";
import type { MarketDataType as DomainDataType } from "../../domain/marketData.js";
import type { FeedEvent, FeedStatus, FeedStatusKind } from "../../stream/feedEvents.js";
import { durationFromMs, timestampFromMs } from "./protoTime.js";

/** Feed events (stream core) → the status/heartbeat halves of every stream's event oneof (proto). */

const STATUS_KINDS: Record<FeedStatusKind, StreamStatusKind> = {
  subscribed: StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED,
  live: StreamStatusKind.STREAM_STATUS_KIND_LIVE,
  delayed: StreamStatusKind.STREAM_STATUS_KIND_DELAYED,
  frozen: StreamStatusKind.STREAM_STATUS_KIND_FROZEN,
  stale: StreamStatusKind.STREAM_STATUS_KIND_STALE,
  gap: StreamStatusKind.STREAM_STATUS_KIND_GAP,
  reconnecting: StreamStatusKind.STREAM_STATUS_KIND_RECONNECTING,
  "competing-session": StreamStatusKind.STREAM_STATUS_KIND_COMPETING_SESSION,
  "limit-exceeded": StreamStatusKind.STREAM_STATUS_KIND_LIMIT_EXCEEDED,
  "book-reset": StreamStatusKind.STREAM_STATUS_KIND_BOOK_RESET,
  advisory: StreamStatusKind.STREAM_STATUS_KIND_ADVISORY,
  waiting: StreamStatusKind.STREAM_STATUS_KIND_WAITING,
  "replay-complete": StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE,
};

export function statusToProto(status: FeedStatus): StreamStatus {
  return {
    kind: STATUS_KINDS[status.kind],
    time: timestampFromMs(status.atMs),
    message: status.message,
    ibCode: status.ibCode ?? 0,
    sinceLastData: status.sinceLastDataMs === undefined ? undefined : durationFromMs(status.sinceLastDataMs),
    until: status.untilMs === undefined ? undefined : timestampFromMs(status.untilMs),
    epoch: String(status.epoch ?? 0),
  };
}

export function heartbeatToProto(event: Extract<FeedEvent<unknown>, { type: "heartbeat" }>): Heartbeat {
  return { time: timestampFromMs(event.atMs), lastDataTime: event.lastDataMs === undefined ? undefined : timestampFromMs(event.lastDataMs) };
}

const DATA_TYPES: Record<DomainDataType, MarketDataType> = {
  live: MarketDataType.MARKET_DATA_TYPE_LIVE,
  frozen: MarketDataType.MARKET_DATA_TYPE_FROZEN,
  delayed: MarketDataType.MARKET_DATA_TYPE_DELAYED,
  "delayed-frozen": MarketDataType.MARKET_DATA_TYPE_DELAYED_FROZEN,
};

export function dataTypeToProto(t: DomainDataType): MarketDataType {
  return DATA_TYPES[t];
}

/** The status/heartbeat half of every stream's event oneof. */
export function controlEventToProto(
  event: Extract<FeedEvent<unknown>, { type: "status" | "heartbeat" }>,
): { event: { $case: "status"; value: StreamStatus } } | { event: { $case: "heartbeat"; value: Heartbeat } } {
  return event.type === "status"
    ? { event: { $case: "status", value: statusToProto(event.status) } }
    : { event: { $case: "heartbeat", value: heartbeatToProto(event) } };
}
