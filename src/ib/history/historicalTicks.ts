import { EventName, type HistoricalTickLast, type WhatToShow } from "@stoqey/ib";
import { decimalFromIb } from "../../domain/decimal.js";
import type { TradePrint } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { requireConnected, type FeedContext } from "../feeds/feedContext.js";
import type { HistoricalScheduler, HistoricalWait } from "./historicalScheduler.js";
import { pacingKeyFor } from "./pacingRules.js";
import { formatIbUtc } from "./historyPlan.js";

/** IB returns at most 1000 historical ticks per request. */
export const MAX_HISTORICAL_TICKS = 1000;

/**
 * The last `count` trade prints before `endMs` (reqHistoricalTicks, TRADES), paced like other historical
 * requests. IB may return a few more to complete the last second; the caller trims. Historical ticks are
 * whatToShow TRADES for every security type (AGGTRADES is a bar-only value at IB).
 */
export function fetchRecentTrades(
  ctx: FeedContext,
  scheduler: HistoricalScheduler,
  instrument: ResolvedInstrument,
  query: { endMs: number; count: number; useRTH: boolean },
  options: { timeoutMs: number; signal?: AbortSignal; client?: string; onWait?: (wait: HistoricalWait | undefined) => void },
): Promise<TradePrint[]> {
  const endDateTime = formatIbUtc(query.endMs);
  const params = { contractKey: `${instrument.conId}@${instrument.exchange}`, barSize: "ticks", durationStr: String(query.count), endDateTime, whatToShow: "TRADES", useRTH: query.useRTH };
  return scheduler.schedule({
    key: pacingKeyFor(params),
    kind: "ticks",
    client: options.client,
    signal: options.signal,
    onWait: options.onWait,
    run: () => {
      const what = `recent trades for ${instrument.symbol}`;
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
              const price = decimalFromIb(t.price);
              const size = decimalFromIb(t.size);
              if (t.time === undefined || price === undefined || size === undefined) continue;
              trades.push({
                timeMs: t.time * 1000,
                price,
                size,
                exchange: t.exchange ?? "",
                conditions: t.specialConditions ? t.specialConditions.split(/[;,]/).filter((c) => c !== "") : [],
                pastLimit: t.tickAttribLast?.pastLimit ?? false,
                unreported: t.tickAttribLast?.unreported ?? false,
              });
            }
            if (done) end();
          }),
        send: (reqId) => ctx.api.reqHistoricalTicks(reqId, instrument.requestContract, "", endDateTime, query.count, "TRADES" as WhatToShow, query.useRTH, true),
      });
    },
  });
}
