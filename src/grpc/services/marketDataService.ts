import type { StreamTicksRequest, StreamTicksResponse } from "../../../gen/ibprovider/v1/market_data_service.js";
import type { Tick } from "../../../gen/ibprovider/v1/types.js";
import { toWire } from "../../domain/decimal.js";
import type { Level1 } from "../../domain/marketData.js";
import type { MarketType } from "../../config/providerConfig.js";
import type { ConsumerOptions, SubscriberQueue } from "../../ib/ibAdapter.js";
import type { CallContext } from "../callContext.js";
import { dataTypeToProto, eventToProto } from "../feedProto.js";
import { timestampFromMs } from "../protoTime.js";
import { checkInstrument } from "../requestValidation.js";

/** What the market data service needs from the adapter. */
export interface MarketDataSource {
  streamTicks(marketType: MarketType, symbol: string, options: ConsumerOptions): Promise<SubscriberQueue<Level1>>;
}

export interface StreamSettings {
  heartbeatMs: number;
  staleAfterMs: number;
  maxQueued: number;
}

export const DEFAULT_STREAM_SETTINGS: StreamSettings = { heartbeatMs: 5_000, staleAfterMs: 30_000, maxQueued: 10_000 };

/** MarketDataService: live streams are the adapter's shared feeds, one response per batch of events. */
export class MarketDataService {
  constructor(
    private readonly source: MarketDataSource,
    private readonly settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
  ) {}

  private consumerOptions(ctx: CallContext): ConsumerOptions {
    return { signal: ctx.signal, ...this.settings };
  }

  async *streamTicks(request: StreamTicksRequest, ctx: CallContext): AsyncGenerator<StreamTicksResponse> {
    const { marketType, symbol } = checkInstrument(request);
    const queue = await this.source.streamTicks(marketType, symbol, this.consumerOptions(ctx));
    for await (const batch of queue) {
      yield { events: batch.map((e) => eventToProto(e, "tick", (l1) => tickToProto(l1, request.symbol))) };
    }
  }
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
