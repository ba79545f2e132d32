import type { TradePrint } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import type { FeedContext } from "../feeds/feedContext.js";
import type { HistoricalScheduler, HistoricalWait } from "./historicalScheduler.js";
import { fetchHistoricalTrades, MAX_HISTORICAL_TICKS } from "./historicalTicks.js";

/** What IB's historical ticks gave for a trade feed's outage window. */
export interface OutageTrades {
  /** The prints from the window's first second on, ascending (IB's whole seconds), up to `unfilledFromMs`. */
  prints: TradePrint[];
  /** Requests sent to IB (each counts against its historical pacing). */
  requests: number;
  /** Set when the window was not covered to its end: from here on nothing was fetched, and why. */
  unfilled?: { fromMs: number; reason: string };
}

/** IB's historical trade prints as a trade feed fills an outage with them. */
export interface TradeHistory {
  /**
   * Trade prints from `fromMs`'s second on (IB stamps prints in whole seconds), in pages of IB's 1000 ticks
   * (at most HistoricalPacingRules.outageTradeBackfillRequests), until a page reaches the second of
   * `liveFrom()` (the first print received live again, if any yet) or IB's present. A page that would wait
   * for IB's pacing budget is not sent: the rest of the window is unfilled.
   */
  since(fromMs: number, liveFrom: () => number | undefined, signal: AbortSignal): Promise<OutageTrades>;
}

/**
 * The trade history of one instrument for its live trade feed: reqHistoricalTicks TRADES anchored at a
 * start time, internal (after user calls, waiting for a settled connection after reconnects), bounded
 * (HistoricalPacingRules.outageTradeBackfillRequests).
 */
export function tradeHistoryFor(ctx: FeedContext, scheduler: HistoricalScheduler, instrument: ResolvedInstrument, options: { timeoutMs?: number } = {}): TradeHistory {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    async since(fromMs, liveFrom, signal) {
      const maxRequests = scheduler.rules.outageTradeBackfillRequests;
      const prints: TradePrint[] = [];
      let startSec = Math.floor(fromMs / 1000);
      let requests = 0;
      for (;;) {
        if (requests >= maxRequests) {
          return { prints, requests, unfilled: { fromMs: startSec * 1000, reason: `IB allows ${MAX_HISTORICAL_TICKS} ticks per request and the window held more than ${maxRequests * MAX_HISTORICAL_TICKS} (${maxRequests} request${maxRequests === 1 ? "" : "s"}, the bound of one backfill)` } };
        }
        let page: TradePrint[];
        try {
          requests++;
          page = await tradesFrom(ctx, scheduler, instrument, startSec * 1000, { timeoutMs, signal });
        } catch (err) {
          return { prints, requests, unfilled: { fromMs: startSec * 1000, reason: reasonOf(err, signal) } };
        }
        prints.push(...page);
        const last = page.at(-1);
        const live = liveFrom();
        // Fewer than a full page: IB had no more up to its present. IB completes the far second of a full
        // page, so the next page starts at the second after it.
        if (last === undefined || page.length < MAX_HISTORICAL_TICKS || (live !== undefined && last.timeMs >= Math.floor(live / 1000) * 1000)) break;
        startSec = Math.floor(last.timeMs / 1000) + 1;
      }
      return { prints, requests };
    },
  };
}

/** Why the window stopped being fetched, in words for the consumers. */
function reasonOf(err: unknown, signal: AbortSignal): string {
  const reason: unknown = signal.aborted ? (signal.reason ?? err) : err;
  return reason instanceof Error ? reason.message : String(reason);
}

/**
 * The first IB page of trade prints at or after `fromMs` (its second): 1000 ticks from a start time, an
 * internal request. A page held back for IB's pacing budget is withdrawn: the signal aborts with the wait
 * described.
 */
function tradesFrom(ctx: FeedContext, scheduler: HistoricalScheduler, instrument: ResolvedInstrument, fromMs: number, options: { timeoutMs: number; signal: AbortSignal }): Promise<TradePrint[]> {
  const withdrawn = new AbortController();
  const onAbort = () => withdrawn.abort(options.signal.reason);
  options.signal.addEventListener("abort", onAbort, { once: true });
  const onWait = (wait: HistoricalWait | undefined) => {
    if (wait?.reason === "budget") withdrawn.abort(new Error(`IB's historical pacing budget is spent until about ${new Date(wait.untilMs).toISOString()} (user calls go first)`));
  };
  return fetchHistoricalTrades(
    ctx,
    scheduler,
    instrument,
    { anchor: { startMs: fromMs }, count: MAX_HISTORICAL_TICKS, useRTH: false },
    { timeoutMs: options.timeoutMs, priority: "internal", what: `historical trades for ${instrument.symbol} after a Gateway outage`, signal: withdrawn.signal, onWait },
  )
    .catch((err: unknown) => {
      throw withdrawn.signal.aborted && !options.signal.aborted ? withdrawn.signal.reason : err;
    })
    .finally(() => options.signal.removeEventListener("abort", onAbort));
}
