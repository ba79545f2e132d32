import { EventName, type WhatToShow } from "@stoqey/ib";
import { CandleAggregator } from "../../domain/candleAggregator.js";
import { intervalBounds } from "../../domain/calendar.js";
import { decimalFromIb, ZERO } from "../../domain/decimal.js";
import type { Interval } from "../../domain/intervals.js";
import { candleFromBar, type Bar, type Candle } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { whatToShowFor } from "../history/historyPlan.js";
import { routeMessages, type FeedContext } from "./feedContext.js";
import type { FeedSource } from "../../stream/sharedFeed.js";

/** IB's real-time bars are always 5 seconds long. */
const RT_BAR_MS = 5_000;
/** How long after a candle closes its final bar is fetched from history (IB needs a moment to settle it). */
const HEAL_DELAY_MS = 2_000;

/** Why a feed's history or real-time bar request is held back, until when, in words for the consumers. */
export interface CandleHistoryWait {
  reason: "settling" | "budget";
  untilMs: number;
  message: string;
}

/**
 * IB's history as a live candle feed uses it. Its requests are the service's own: paced after user calls,
 * within a share of IB's budget, and held while the connection settles after reconnects. `onWait` hears
 * when a request is held back for longer than a moment (then `undefined` once it is sent).
 */
export interface CandleHistory {
  /**
   * Bars covering [fromMs, toMs) to seed the candle in progress with: of the candle's own size, or minutes
   * (coalesced with the other intraday feeds of the instrument opening at the same time).
   */
  seed(fromMs: number, toMs: number, signal: AbortSignal, onWait?: (wait: CandleHistoryWait | undefined) => void): Promise<Bar[]>;
  /** Bars of the candle's own size covering [fromMs, toMs), from IB's history (paced). */
  bars(fromMs: number, toMs: number, signal?: AbortSignal, onWait?: (wait: CandleHistoryWait | undefined) => void): Promise<Bar[]>;
  /**
   * Sends the real-time bar request when IB's historical pacing allows: IB counts reqRealTimeBars against
   * the same limits, and a reconnect reopening many candle feeds at once would otherwise trip them (162).
   */
  paced(send: () => void, signal: AbortSignal, onWait?: (wait: CandleHistoryWait | undefined) => void): Promise<void>;
}

/**
 * Live candles for one instrument and interval, built from IB's 5-second real-time bars (one market data
 * line). Real-time bars only start at subscription time, so the candle in progress then is seeded from
 * history, and every candle that was not observed whole (the first one, and any one spanning a
 * reconnect, since the feed is reopened then) is replaced when it closes by IB's own historical bar:
 * complete candles are never glued together across a hole.
 *
 * A reopen within the candle in progress (a reconnect) continues that candle from what was observed of it
 * instead of seeding it again: the missed window comes with IB's own bar when the candle closes. A seed
 * that would wait for IB's pacing budget is dropped the same way, and the seeds of an instrument's intraday
 * feeds opening together share one request (CandleSeeds). So a reopen costs one real-time bar request, and
 * a burst of reconnects cannot spend the 60-per-10-minutes budget on seeds.
 */
export function candleSource(ctx: FeedContext, instrument: ResolvedInstrument, interval: Interval, history: CandleHistory, useRTH: boolean): FeedSource<Candle> {
  const timeZone = instrument.timeZoneId || "UTC";
  let latest: Candle | undefined;
  /** Outlives a reopen: the candle in progress goes on across a reconnect within it. */
  let kept: CandleAggregator | undefined;
  /**
   * Closed candles whose final bar has not come from history yet, by start: they outlive a reopen too, so a
   * heal withdrawn by a reconnect (waiting out its delay, the settle hold or the budget) is asked again.
   */
  const unhealed = new Map<number, Candle>();
  return {
    // Each update of a candle matters to a strategy (and the final one above all): a client that cannot
    // keep up is disconnected rather than silently missing one.
    overflow: "fail",
    joinEvents: (): Candle[] => (latest === undefined ? [] : [latest]),
    open(sink) {
      ctx.budget.take("marketDataLines");
      // Seeds and heals still queued for IB's history are withdrawn when the feed closes.
      const closing = new AbortController();
      const openedAt = ctx.now();
      const start = intervalBounds(openedAt, interval, timeZone).startMs;
      const continuing = kept !== undefined && kept.current()?.startMs === start;
      const aggregator = continuing && kept !== undefined ? kept : new CandleAggregator(interval, { timeZone });
      kept = aggregator;
      /** Candle starts that must come from history when they close. */
      const heal = new Set<number>([start]);
      let closed = false;
      let seeded = continuing;
      const buffered: Bar[] = [];

      const emit = (candles: Candle[]) => {
        for (const c of candles) {
          if (c.complete && heal.has(c.startMs)) {
            heal.delete(c.startMs);
            healFromHistory(c);
            continue;
          }
          latest = c;
          sink.data(c);
        }
      };
      const healFromHistory = (partial: Candle) => {
        unhealed.set(partial.startMs, partial);
        const end = intervalBounds(partial.startMs, interval, timeZone).endMs;
        const timer = setTimeout(() => {
          timers.delete(timer);
          history.bars(partial.startMs, end, closing.signal).then(
            (bars) => {
              if (closed) return;
              unhealed.delete(partial.startMs);
              const bar = bars.find((b) => b.startMs === partial.startMs);
              const healed: Candle = bar === undefined ? partial : candleFromBar(bar, interval.name, true);
              // A joiner wants the newest candle: the healed one arrives after the next one has started.
              if (latest === undefined || latest.startMs <= healed.startMs) latest = healed;
              sink.data(healed);
            },
            (err: unknown) => {
              if (closed) return;
              unhealed.delete(partial.startMs);
              // History failed: say so, and send what was observed rather than nothing.
              sink.status("advisory", `could not fetch the final ${interval.name} bar from IB's history (${err instanceof Error ? err.message : String(err)}); this candle is built from live data only and may miss trades from around the subscription or reconnect`);
              if (latest === undefined || latest.startMs <= partial.startMs) latest = partial;
              sink.data(partial);
            },
          );
        }, HEAL_DELAY_MS);
        timer.unref();
        timers.add(timer);
      };
      const timers = new Set<NodeJS.Timeout>();
      for (const partial of [...unhealed.values()]) healFromHistory(partial);

      const reqId = ctx.router.allocateId();
      ctx.router.on(EventName.realtimeBar, reqId, (time: number, open: number, high: number, low: number, close: number, volume: number, wap: number, count: number) => {
        const o = decimalFromIb(open);
        const h = decimalFromIb(high);
        const l = decimalFromIb(low);
        const c = decimalFromIb(close);
        if (o === undefined || h === undefined || l === undefined || c === undefined) return;
        const bar: Bar = { startMs: time * 1000, open: o, high: h, low: l, close: c, volume: volume >= 0 ? (decimalFromIb(volume) ?? ZERO) : ZERO };
        if (wap > 0) bar.vwap = decimalFromIb(wap);
        if (count >= 0) bar.count = count;
        if (!seeded) buffered.push(bar);
        else emit(aggregator.addBar(bar));
      });
      routeMessages(ctx, reqId, sink, `live ${interval.name} candles for ${instrument.symbol}`);
      let requested = false;
      history
        .paced(
          () => {
            requested = true;
            ctx.api.reqRealTimeBars(reqId, instrument.requestContract, 5, whatToShowFor(instrument.secType) as WhatToShow, useRTH);
          },
          closing.signal,
          (wait) => {
            if (closed) return;
            if (wait !== undefined) sink.waiting(wait.message, wait.untilMs);
            else sink.status("subscribed", `real-time bars for ${instrument.symbol} requested at IB; ${interval.name} candles follow`);
          },
        )
        .catch(() => {
          /* withdrawn on close, or the connection went away: the feed's reopen asks again */
        });

      // Seed the candle in progress from history, then replay the real-time bars that started after it. A
      // seed held back by IB's budget is withdrawn (costing nothing): the candle is healed at close anyway.
      const seedWithdrawn = new AbortController();
      closing.signal.addEventListener("abort", () => seedWithdrawn.abort(), { once: true });
      const seed =
        !continuing && start < openedAt
          ? history.seed(start, openedAt, seedWithdrawn.signal, (wait) => {
              if (wait?.reason === "budget") seedWithdrawn.abort();
            })
          : Promise.resolve([]);
      seed.then(
        (bars) => {
          if (closed) return;
          // The candle's own bar, or its minutes: folded in, and only the result sent.
          const end = intervalBounds(start, interval, timeZone).endMs;
          const updates = bars.filter((b) => b.startMs >= start && b.startMs < end).flatMap((b) => aggregator.addBar(b));
          emit(updates.slice(-1));
        },
        () => {
          /* no seed: the candle in progress starts from live data and is healed at close */
        },
      ).finally(() => {
        if (closed) return;
        seeded = true;
        for (const bar of buffered.splice(0)) if (bar.startMs + RT_BAR_MS > openedAt) emit(aggregator.addBar(bar));
      });

      // Close candles on the interval boundary even when no bar arrives (a quiet market).
      const tick = setInterval(() => {
        if (seeded) emit(aggregator.advance(ctx.now()));
      }, 1_000);
      tick.unref();

      return {
        isRequested: () => requested && !closed && ctx.isConnected(),
        close() {
          closed = true;
          closing.abort();
          clearInterval(tick);
          for (const t of timers) clearTimeout(t);
          if (requested && ctx.isConnected()) ctx.api.cancelRealTimeBars(reqId);
          ctx.router.release(reqId);
          ctx.budget.give("marketDataLines");
        },
      };
    },
  };
}
