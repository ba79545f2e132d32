import { EventName, type WhatToShow } from "@stoqey/ib";
import { CandleAggregator } from "../../domain/candleAggregator.js";
import { intervalBounds } from "../../domain/calendar.js";
import { decimalFromIb, ZERO } from "../../domain/decimal.js";
import type { Interval } from "../../domain/intervals.js";
import { candleFromBar, type Bar, type Candle } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { whatToShowFor } from "../history/historyPlan.js";
import { routeMessages, type FeedContext } from "./feedContext.js";
import { clockText, gapText, windowText } from "./outageWindow.js";
import type { FeedSource } from "../../stream/feedSource.js";

/** IB's real-time bars are always 5 seconds long. */
const RT_BAR_MS = 5_000;
/** How long after a candle closes its final bar is fetched from history (IB needs a moment to settle it). */
const HEAL_DELAY_MS = 2_000;

/**
 * The longest window one outage backfill fetches, counted back from the candle in progress: a day for
 * intraday candles (one IB request of minutes), about a month for daily and longer ones. Anything older
 * (a Gateway away over a weekend) is said to be unfilled: GetCandles fetches it on demand, paced as a user call.
 */
const MAX_BACKFILL_INTRADAY_MS = 86_400_000;
const MAX_BACKFILL_MS = 32 * 86_400_000;

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
 *
 * A reopen in a later candle (an outage across a boundary) backfills: the candles of [the last candle
 * observed before the loss, the candle in progress now) come from IB's history (one internal request of
 * the candle's own size, paced like the heals) and are published complete, marked `backfilled`, in time
 * order, before the live candle resumes (its bars are held meanwhile); candles delivered complete before
 * the loss are not sent again. A backfill that would wait for IB's pacing budget is withdrawn like a seed
 * (live data is not held for minutes).
 *
 * The source fills its own gaps (FeedSource.fillsGaps): every reopen after an outage says the GAP itself,
 * once, before any candle — what was backfilled and what was not (a budget wait, a failed or timed-out
 * request, a window older than a backfill reaches), or that no candle closed while the Gateway was away. A
 * reopen during a backfill withdraws it unsaid: the next one fills the window from the first loss, and says
 * it in one GAP.
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
  /** The newest candle start delivered (or being observed), and the newest delivered complete: they outlive a reopen. */
  let lastObservedStart: number | undefined;
  let lastCompleteStart: number | undefined;
  /** When the feed was closed with candles possibly missed since (until a reopen has said what it filled). */
  let lostAtMs: number | undefined;
  /** When IB's last real-time bar arrived: they come every 5 s, so a silence longer than that is the loss (IB's 1100 before a 1101). */
  let lastBarAtMs: number | undefined;
  const delivered = (c: Candle) => {
    lastObservedStart = Math.max(lastObservedStart ?? c.startMs, c.startMs);
    if (c.complete) lastCompleteStart = Math.max(lastCompleteStart ?? c.startMs, c.startMs);
  };
  return {
    // Each update of a candle matters to a strategy (and the final one above all): a client that cannot
    // keep up is disconnected rather than silently missing one.
    overflow: "fail",
    fillsGaps: true,
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
          delivered(c);
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
              delivered(healed);
              sink.data(healed);
            },
            (err: unknown) => {
              if (closed) return;
              unhealed.delete(partial.startMs);
              // History failed: say so, and send what was observed rather than nothing.
              sink.status("advisory", `could not fetch the final ${interval.name} bar from IB's history (${err instanceof Error ? err.message : String(err)}); this candle is built from live data only and may miss trades from around the subscription or reconnect`);
              if (latest === undefined || latest.startMs <= partial.startMs) latest = partial;
              delivered(partial);
              sink.data(partial);
            },
          );
        }, HEAL_DELAY_MS);
        timer.unref();
        timers.add(timer);
      };
      const timers = new Set<NodeJS.Timeout>();
      // After an outage across a candle boundary, the missed window (and the closed candles still waiting
      // for their heal) is backfilled as a whole; otherwise pending heals are asked again.
      const outage = lostAtMs === undefined ? undefined : { lostAtMs, fromMs: continuing ? undefined : Math.min(lastObservedStart ?? start, ...unhealed.keys()) };
      const backfilling = outage?.fromMs !== undefined && outage.fromMs < start;
      if (!backfilling) for (const partial of [...unhealed.values()]) healFromHistory(partial);
      if (outage !== undefined && !backfilling) {
        // Still a GAP: the live candle was not observed meanwhile (its final bar heals it at close).
        sink.status("gap", `${gapText(outage.lostAtMs, openedAt)}: no ${interval.name} candle closed while the Gateway was away; the candle in progress goes on and is replaced by IB's bar when it closes`);
        lostAtMs = undefined;
      }

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
        lastBarAtMs = ctx.now();
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
      const backfill = backfilling && outage !== undefined && outage.fromMs !== undefined ? backfillWindow(outage.lostAtMs, outage.fromMs) : Promise.resolve(undefined);
      // The GAP (what was filled and what not) and the candles it names as soon as the backfill is done, not
      // after the seed: they precede the candle in progress anyway.
      const backfilled = backfill.then((filled) => {
        if (closed || filled === undefined) return;
        sink.status("gap", filled.text);
        for (const c of filled.candles) {
          unhealed.delete(c.startMs);
          if (latest === undefined || latest.startMs <= c.startMs) latest = c;
          delivered(c);
          sink.data(c);
        }
        lostAtMs = undefined;
        // Closed candles still waiting for their final bar (not filled, or older than the window reaches)
        // are healed one by one as before.
        for (const partial of [...unhealed.values()]) healFromHistory(partial);
      });
      // No seed: the candle in progress starts from live data and is healed at close.
      Promise.all([seed.catch(() => undefined), backfilled]).then(([bars]) => {
        if (closed || bars === undefined) return;
        // The candle's own bar, or its minutes: folded in, and only the result sent.
        const end = intervalBounds(start, interval, timeZone).endMs;
        const updates = bars.filter((b) => b.startMs >= start && b.startMs < end).flatMap((b) => aggregator.addBar(b));
        emit(updates.slice(-1));
      }).finally(() => {
        if (closed) return;
        seeded = true;
        for (const bar of buffered.splice(0)) if (bar.startMs + RT_BAR_MS > openedAt) emit(aggregator.addBar(bar));
      });

      /**
       * The complete candles of [fromMs, start) from IB's history (its own bar size, internal and paced),
       * minus those delivered complete before the loss; withdrawn when it would wait for IB's budget.
       */
      /** "14:33, 14:35, 14:36 UTC" (a few), or the span "14:01:00–15:02:00 UTC" (many, or daily and longer). */
      function candlesText(candles: Candle[]): string {
        const intraday = interval.seconds !== undefined && interval.seconds < 86_400;
        if (!intraday || candles.length > 6) return windowText(candles[0]!.startMs, intervalBounds(candles.at(-1)!.startMs, interval, timeZone).endMs);
        return `${candles.map((c) => clockText(c.startMs).slice(0, 5)).join(", ")} UTC`;
      }

      async function backfillWindow(lost: number, fromMs: number): Promise<{ candles: Candle[]; text: string }> {
        const gap = gapText(lost, openedAt);
        const oldest = start - (interval.seconds !== undefined && interval.seconds < 86_400 ? MAX_BACKFILL_INTRADAY_MS : MAX_BACKFILL_MS);
        const tooOld = fromMs < oldest ? `; ${windowText(fromMs, oldest)} not filled: longer ago than an outage backfill reaches (GetCandles can fetch it)` : "";
        fromMs = Math.max(fromMs, oldest);
        const withdrawn = new AbortController();
        const onClose = () => withdrawn.abort(closing.signal.reason);
        closing.signal.addEventListener("abort", onClose, { once: true });
        let budgetWait: CandleHistoryWait | undefined;
        try {
          const bars = await history.bars(fromMs, start, withdrawn.signal, (wait) => {
            if (wait?.reason !== "budget") return;
            budgetWait = wait;
            withdrawn.abort();
          });
          const byStart = new Map<number, Candle>();
          for (const bar of bars) {
            if (bar.startMs < fromMs || bar.startMs >= start) continue;
            if (!unhealed.has(bar.startMs) && lastCompleteStart !== undefined && bar.startMs <= lastCompleteStart) continue; // delivered complete before the loss
            byStart.set(bar.startMs, { ...candleFromBar(bar, interval.name, true), backfilled: true });
          }
          const candles = [...byStart.values()].sort((a, b) => a.startMs - b.startMs);
          const window = windowText(fromMs, start);
          const text =
            candles.length === 0
              ? `${gap}: IB's history has no ${interval.name} candle for ${window} (no trades then) to backfill${tooOld}`
              : `${gap}: ${candles.length} ${interval.name} candle${candles.length === 1 ? "" : "s"} backfilled from IB history (${candlesText(candles)})${tooOld}`;
          return { candles, text };
        } catch (err) {
          const why =
            budgetWait !== undefined
              ? `${budgetWait.message}; not waited for, so that live candles resume now`
              : err instanceof Error ? err.message : String(err);
          return { candles: [], text: `${gap}: the ${interval.name} candles of ${windowText(fromMs, start)} not filled from IB history: ${why}; GetCandles can fetch them later` };
        } finally {
          closing.signal.removeEventListener("abort", onClose);
        }
      }

      // Close candles on the interval boundary even when no bar arrives (a quiet market).
      const tick = setInterval(() => {
        if (seeded) emit(aggregator.advance(ctx.now()));
      }, 1_000);
      tick.unref();

      return {
        isRequested: () => requested && !closed && ctx.isConnected(),
        close() {
          closed = true;
          lostAtMs ??= Math.min(ctx.now(), lastBarAtMs === undefined ? Infinity : lastBarAtMs + RT_BAR_MS);
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
