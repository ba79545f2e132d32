import { setMaxListeners } from "node:events";
import { barEndMs, intervalBounds } from "../../domain/calendar.js";
import type { Interval } from "../../domain/intervals.js";
import { candleFromBar, type Bar, type Candle, type TradePrint } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { instrumentKey } from "../contracts/resolvedInstrument.js";
import type { CandleHistory, CandleHistoryWait } from "../feeds/candleFeed.js";
import type { FeedContext } from "../feeds/feedContext.js";
import { fetchHistoricalBars } from "./historicalData.js";
import type { HistoricalPriority, HistoricalScheduler, HistoricalWait } from "./historicalScheduler.js";
import { fetchHistoricalTrades } from "./historicalTicks.js";
import { planHistory } from "./historyPlan.js";
import { CandleSeeds } from "./candleSeeds.js";
import { startUserHistoryCall, type HistoryCaller } from "./userHistoryCall.js";
import { pacingCost } from "./pacingRules.js";
import { parseInterval } from "../../domain/intervals.js";

/** The bars intraday seeds are summed from, and the longest interval seeded that way (IB's 4-hour bars). */
const MINUTE = parseInterval("min1")!;
const MAX_COALESCED_SECONDS = 4 * 3600;

export interface CandleQuery extends HistoryCaller {
  interval: Interval;
  fromMs: number;
  toMs: number;
  /** Stocks: regular trading hours only (IB useRTH). */
  regularHoursOnly: boolean;
  signal?: AbortSignal;
}

export interface HistoryServiceOptions {
  /** Most history requests one call may need (longer windows are refused: "history-too-long"). */
  maxChunks: number;
  requestTimeoutMs: number;
}

/**
 * IB's history as the adapter serves it: candle windows split into as many IB requests as IB's duration
 * limits need, paced by the historical scheduler (waiting, never failing with 162), merged and
 * de-duplicated; recent trade prints; and the history side of live candle feeds (seeding, healing, the
 * pacing of real-time bar requests).
 */
export class HistoryService {
  private readonly seeds = new CandleSeeds();

  constructor(
    private readonly ctx: FeedContext,
    private readonly scheduler: HistoricalScheduler,
    private readonly options: HistoryServiceOptions,
  ) {}

  /** Candles of [fromMs, toMs), ascending; the last is incomplete when its interval has not ended yet. */
  async candles(instrument: ResolvedInstrument, query: CandleQuery): Promise<Candle[]> {
    const nowMs = this.ctx.now();
    const timeZone = instrument.timeZoneId || "UTC";
    const useRTH = query.regularHoursOnly && instrument.secType === "STK";
    const bars = await this.bars(instrument, query.interval, query.fromMs, query.toMs, useRTH, query.signal, "user", undefined, query);
    const byStart = new Map<number, Candle>();
    const windowStart = intervalBounds(query.fromMs, query.interval, timeZone).startMs;
    for (const bar of bars) {
      if (bar.startMs < windowStart || bar.startMs >= query.toMs) continue;
      const endMs = barEndMs(bar.startMs, query.interval, timeZone);
      byStart.set(bar.startMs, candleFromBar(bar, query.interval.name, endMs <= nowMs));
    }
    return [...byStart.values()].sort((a, b) => a.startMs - b.startMs);
  }

  /**
   * The history a live candle feed of this instrument and interval seeds and heals from. Its requests are
   * internal: they go after user calls, leave IB's budget a reserve for them, and wait for a settled
   * connection after reconnects (HistoricalScheduler).
   */
  forCandleFeed(instrument: ResolvedInstrument, interval: Interval, useRTH: boolean, allocateId: () => number): CandleHistory {
    const describe = (onWait: ((wait: CandleHistoryWait | undefined) => void) | undefined, what: string) =>
      onWait === undefined ? undefined : (wait: HistoricalWait | undefined) => onWait(wait === undefined ? undefined : { ...wait, message: this.describeWait(wait, what) });
    return {
      bars: (fromMs, toMs, signal, onWait) => this.bars(instrument, interval, fromMs, toMs, useRTH, signal, "internal", describe(onWait, `${interval.name} history for ${instrument.symbol}`)),
      seed: (fromMs, toMs, signal, onWait) => {
        const what = `the ${interval.name} candle in progress for ${instrument.symbol}`;
        if (interval.seconds === undefined || interval.seconds > MAX_COALESCED_SECONDS) {
          return this.bars(instrument, interval, fromMs, toMs, useRTH, signal, "internal", describe(onWait, what));
        }
        // Intraday: one request of minutes for every interval of the instrument opening together.
        const key = `${instrumentKey(instrument)}@${instrument.exchange}/${useRTH ? "rth" : "all"}`;
        const fetchMinutes = (from: number, to: number, batchSignal: AbortSignal, batchWait: (wait: HistoricalWait | undefined) => void) =>
          this.bars(instrument, MINUTE, from, to, useRTH, batchSignal, "internal", batchWait);
        return this.seeds.seed(key, fromMs, toMs, fetchMinutes, { signal, onWait: describe(onWait, what) });
      },
      paced: (send, signal, onWait) => {
        // Every real-time bar request is its own (never "identical"); the per-contract and global rules apply.
        const key = { contractKey: `${instrumentKey(instrument)}@${instrument.exchange}`, whatToShow: "TRADES", identityKey: `realtime-bars/${allocateId()}` };
        return this.scheduler.schedule({ key, kind: "realtime_bars", signal, priority: "internal", onWait: describe(onWait, `real-time bars for ${instrument.symbol}`), run: async () => send() });
      },
    };
  }

  private describeWait(wait: HistoricalWait, what: string): string {
    const { globalMax, globalWindowMs, userReserve } = this.scheduler.rules;
    const until = new Date(wait.untilMs).toISOString();
    return wait.reason === "settling"
      ? `waiting until ${until} for the Gateway connection to settle after reconnecting before requesting ${what} (IB counts these against its historical pacing budget; a request on a connection that drops again would spend it for nothing)`
      : `waiting until about ${until} for IB's historical pacing budget before requesting ${what} (${globalMax} requests per ${Math.round(globalWindowMs / 1000)} s, ${userReserve} of them kept for user calls)`;
  }

  /** The most recent `limit` trades (1 to IB's 1000 per request) in [fromMs, toMs), ascending: one paced request. */
  async recentTrades(instrument: ResolvedInstrument, query: { fromMs: number | undefined; toMs: number; limit: number; signal?: AbortSignal } & HistoryCaller): Promise<TradePrint[]> {
    const endMs = Math.min(query.toMs, this.ctx.now());
    const call = startUserHistoryCall(this.scheduler, this.ctx.log, { client: query.client, deadlineMs: query.deadlineMs, what: `recent trades for ${instrument.symbol}`, requests: 1, cost: 1, now: this.ctx.now });
    const trades = await fetchHistoricalTrades(this.ctx, this.scheduler, instrument, { anchor: { endMs }, count: query.limit, useRTH: false }, { priority: "user", timeoutMs: this.options.requestTimeoutMs, signal: query.signal, client: query.client, onWait: call.onWait(0) });
    const inWindow = trades.filter((t) => (query.fromMs === undefined || t.timeMs >= query.fromMs) && t.timeMs < query.toMs);
    return inWindow.slice(-query.limit);
  }

  /** IB bars of the interval's size for [fromMs, toMs): planned into IB-sized requests, paced, unmerged. */
  private async bars(
    instrument: ResolvedInstrument,
    interval: Interval,
    fromMs: number,
    toMs: number,
    useRTH: boolean,
    signal?: AbortSignal,
    priority: HistoricalPriority = "user",
    onWait?: (wait: HistoricalWait | undefined) => void,
    caller?: HistoryCaller,
  ): Promise<Bar[]> {
    const { maxChunks, requestTimeoutMs } = this.options;
    const plan = planHistory({ interval, fromMs, toMs, secType: instrument.secType, nowMs: this.ctx.now(), timeZone: instrument.timeZoneId || "UTC", maxChunks });
    // A user call is admitted as a whole (its client's quota, the caller's deadline) and logs its waits.
    const call =
      priority === "user"
        ? startUserHistoryCall(this.scheduler, this.ctx.log, { client: caller?.client, deadlineMs: caller?.deadlineMs, what: `${interval.name} history for ${instrument.symbol}`, requests: plan.chunks.length, cost: plan.chunks.length * pacingCost(plan.whatToShow), now: this.ctx.now })
        : undefined;
    // One failed chunk fails the call: the others are withdrawn (queued ones never reach IB, running ones
    // are cancelled there) instead of spending the 60-per-10-minutes budget for nothing.
    const group = new AbortController();
    // Every chunk's request listens to it (up to maxChunks): not a listener leak.
    setMaxListeners(maxChunks * 2 + 10, group.signal);
    const onAbort = () => group.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const batches = await Promise.all(
        plan.chunks.map((chunk, i) =>
          fetchHistoricalBars(this.ctx, this.scheduler, instrument, { barSize: plan.barSize, durationStr: chunk.durationStr, endDateTime: chunk.endDateTime, whatToShow: plan.whatToShow, useRTH }, {
            timeoutMs: requestTimeoutMs,
            signal: group.signal,
            priority,
            client: caller?.client,
            onWait: call?.onWait(i) ?? onWait,
          }).catch((err: unknown) => {
            group.abort();
            throw err;
          }),
        ),
      );
      return batches.flat();
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
}
