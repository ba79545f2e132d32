import { EventName, type HistoricalTickLast, type WhatToShow } from "@stoqey/ib";
import { decimalFromIb } from "../domain/decimal.js";
import type { TradePrint } from "../domain/marketData.js";
import type { ResolvedInstrument } from "./contractResolver.js";
import { requireConnected, type FeedContext } from "./feeds/feedContext.js";
import { pacingKeyFor, type HistoricalScheduler } from "./historicalScheduler.js";
import { formatIbUtc } from "./historyPlan.js";
import { IbError } from "./ibErrors.js";

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
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<TradePrint[]> {
  const endDateTime = formatIbUtc(query.endMs);
  const params = { contractKey: `${instrument.conId}@${instrument.exchange}`, barSize: "ticks", durationStr: String(query.count), endDateTime, whatToShow: "TRADES", useRTH: query.useRTH };
  return scheduler.schedule({
    key: pacingKeyFor(params),
    signal: options.signal,
    run: () =>
      new Promise<TradePrint[]>((resolve, reject) => {
        requireConnected(ctx, `recent trades for ${instrument.symbol}`);
        const reqId = ctx.router.allocateId();
        const trades: TradePrint[] = [];
        const finish = (err?: IbError) => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          ctx.router.release(reqId);
          if (err) reject(err);
          else resolve(trades);
        };
        // IB has no cancel for historical ticks: giving up only stops listening.
        const timer = setTimeout(() => finish(new IbError("timeout", `IB did not answer a historical ticks request for ${instrument.symbol} within ${options.timeoutMs} ms`)), options.timeoutMs);
        const onAbort = () => finish(new IbError("cancelled", "historical ticks request cancelled"));
        options.signal?.addEventListener("abort", onAbort, { once: true });
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
          if (done) finish();
        });
        ctx.router.onMessage(reqId, (code, message, cls) => {
          if (cls.severity !== "terminal") return;
          if (cls.kind === "no-data") finish();
          else finish(new IbError(cls.kind, `recent trades for ${instrument.symbol}: ${message}`, code));
        });
        ctx.api.reqHistoricalTicks(reqId, instrument.requestContract, "", endDateTime, query.count, "TRADES" as WhatToShow, query.useRTH, true);
      }),
  });
}
