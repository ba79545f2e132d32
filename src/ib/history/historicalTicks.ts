import { EventName, type HistoricalTickLast, type WhatToShow } from "@stoqey/ib";
import { decimalFromIb } from "../../domain/decimal.js";
import type { TradePrint } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { instrumentKey } from "../contracts/resolvedInstrument.js";
import { historyContract } from "./historicalData.js";
import { requireConnected, type FeedContext } from "../feeds/feedContext.js";
import type { HistoricalPriority, HistoricalScheduler, HistoricalWait } from "./historicalScheduler.js";
import { pacingKeyFor } from "./pacingRules.js";
import { formatIbUtc } from "./historyPlan.js";

/** IB returns at most 1000 historical ticks per request. */
export const MAX_HISTORICAL_TICKS = 1000;

/**
 * Where a page of historical ticks is anchored: the `count` prints from a start time on (an outage's window,
 * read forwards), or the last `count` before an end time (GetTrades). IB takes one of the two and leaves the
 * other empty.
 */
export type HistoricalTicksAnchor = { startMs: number } | { endMs: number };

/**
 * One page of trade prints (reqHistoricalTicks, TRADES), paced like other historical requests: `count`
 * prints from `anchor.startMs`'s second on, or the last `count` before `anchor.endMs`. IB may return a few
 * more to complete the far second; the caller trims. Historical ticks are whatToShow TRADES for every security
 * type (AGGTRADES is a bar-only value at IB). `priority` "internal" queues it after user calls (a live feed's
 * own request); `what` names the request in errors and waits.
 */
export function fetchHistoricalTrades(
  ctx: FeedContext,
  scheduler: HistoricalScheduler,
  instrument: ResolvedInstrument,
  query: { anchor: HistoricalTicksAnchor; count: number; useRTH: boolean },
  options: { timeoutMs: number; priority: HistoricalPriority; what?: string; signal?: AbortSignal; client?: string; onWait?: (wait: HistoricalWait | undefined) => void },
): Promise<TradePrint[]> {
  const { anchor } = query;
  const from = "startMs" in anchor;
  const dateTime = formatIbUtc("startMs" in anchor ? anchor.startMs : anchor.endMs);
  // The identity IB's "no identical request within 15 s" rule compares: a start and an end anchor at the same
  // time are different requests.
  const params = { contractKey: `${instrumentKey(instrument)}@${instrument.exchange}`, barSize: from ? "ticks-from" : "ticks", durationStr: String(query.count), endDateTime: dateTime, whatToShow: "TRADES", useRTH: query.useRTH };
  return scheduler.schedule({
    key: pacingKeyFor(params),
    kind: "ticks",
    client: options.client,
    priority: options.priority,
    signal: options.signal,
    onWait: options.onWait,
    run: () => {
      const what = options.what ?? `recent trades for ${instrument.symbol}`;
      requireConnected(ctx, what);
      const trades: TradePrint[] = [];
      // IB has no cancel for historical ticks: giving up (timeout, abort) only stops listening.
      return ctx.router.request({
        what,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        result: () => trades,
        listen: (reqId, end) =>
          ctx.router.on(EventName.historicalTicksLast, reqId, (ticks: HistoricalTickLast[], done: boolean) => {
            for (const t of ticks) {
              const print = printOf(t);
              if (print !== undefined) trades.push(print);
            }
            if (done) end();
          }),
        send: (reqId) =>
          ctx.api.reqHistoricalTicks(reqId, historyContract(instrument), from ? dateTime : "", from ? "" : dateTime, query.count, "TRADES" as WhatToShow, query.useRTH, true),
      });
    },
  });
}

function printOf(t: HistoricalTickLast): TradePrint | undefined {
  const price = decimalFromIb(t.price);
  const size = decimalFromIb(t.size);
  if (t.time === undefined || price === undefined || size === undefined) return undefined;
  return {
    timeMs: t.time * 1000,
    price,
    size,
    exchange: t.exchange ?? "",
    conditions: t.specialConditions ? t.specialConditions.split(/[;,]/).filter((c) => c !== "") : [],
    pastLimit: t.tickAttribLast?.pastLimit ?? false,
    unreported: t.tickAttribLast?.unreported ?? false,
  };
}
