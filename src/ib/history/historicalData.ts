import { EventName, type BarSizeSetting, type Contract, type WhatToShow } from "@stoqey/ib";
import { decimalFromIb, ZERO } from "../../domain/decimal.js";
import type { Bar } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { instrumentKey } from "../contracts/resolvedInstrument.js";
import { requireConnected, type FeedContext } from "../feeds/feedContext.js";
import type { HistoricalPriority, HistoricalScheduler, HistoricalWait } from "./historicalScheduler.js";
import { pacingCost, pacingKeyFor } from "./pacingRules.js";
import { parseIbBarTime } from "./historyPlan.js";

export interface HistoricalQuery {
  barSize: string;
  durationStr: string;
  /** "yyyyMMdd-HH:mm:ss" UTC; never zone-less (IB 2174, shifted bars). */
  endDateTime: string;
  whatToShow: string;
  useRTH: boolean;
}

/**
 * One reqHistoricalData through the pacing scheduler: bars until IB's end marker, "no data" as an empty
 * result, a timeout (with a cancel at IB) instead of a promise that never settles.
 */
export function fetchHistoricalBars(
  ctx: FeedContext,
  scheduler: HistoricalScheduler,
  instrument: ResolvedInstrument,
  query: HistoricalQuery,
  options: { timeoutMs: number; signal?: AbortSignal; priority?: HistoricalPriority; client?: string; onWait?: (wait: HistoricalWait | undefined) => void },
): Promise<Bar[]> {
  const params = { contractKey: `${instrumentKey(instrument)}@${instrument.exchange}`, ...query };
  return scheduler.schedule({
    key: pacingKeyFor(params),
    kind: "bars",
    cost: pacingCost(query.whatToShow),
    client: options.client,
    signal: options.signal,
    priority: options.priority ?? "user",
    onWait: options.onWait,
    run: () => runOnce(ctx, instrument, query, options.timeoutMs, options.signal),
  });
}

function runOnce(ctx: FeedContext, instrument: ResolvedInstrument, query: HistoricalQuery, timeoutMs: number, signal?: AbortSignal): Promise<Bar[]> {
  const what = `${query.barSize} history for ${instrument.symbol}`;
  requireConnected(ctx, what);
  const bars: Bar[] = [];
  return ctx.router.request({
    what,
    timeoutMs,
    signal,
    result: () => bars,
    cancel: (reqId) => {
      if (ctx.isConnected()) ctx.api.cancelHistoricalData(reqId);
    },
    listen: (reqId, end) =>
      ctx.router.on(EventName.historicalData, reqId, (time: string, open: number, high: number, low: number, close: number, volume: number, count: number | undefined, wap: number) => {
        if (time.startsWith("finished")) {
          end();
          return;
        }
        const startMs = parseIbBarTime(time, instrument.timeZoneId || undefined);
        const o = decimalFromIb(open);
        const h = decimalFromIb(high);
        const l = decimalFromIb(low);
        const c = decimalFromIb(close);
        if (startMs === undefined || o === undefined || h === undefined || l === undefined || c === undefined) {
          ctx.log.warn({ symbol: instrument.symbol, time }, "unreadable historical bar skipped");
          return;
        }
        // IB sends -1 for volume/WAP/count where they do not exist (MIDPOINT bars: forex has no volume).
        const vol = volume >= 0 ? decimalFromIb(volume) : undefined;
        const bar: Bar = { startMs, open: o, high: h, low: l, close: c, volume: vol ?? ZERO };
        if (wap > 0) bar.vwap = decimalFromIb(wap);
        if (count !== undefined && count >= 0) bar.count = count;
        bars.push(bar);
      }),
    // formatDate 2: intraday bar times as epoch seconds (no zone guessing); daily bars come as yyyyMMdd.
    send: (reqId) =>
      ctx.api.reqHistoricalData(reqId, historyContract(instrument), query.endDateTime, query.durationStr, query.barSize as BarSizeSetting, query.whatToShow as WhatToShow, query.useRTH, 2, false),
  });
}

/** A future's month that has expired is found at IB only with includeExpired (the history requests send the flag). */
export function historyContract(instrument: ResolvedInstrument): Contract {
  return instrument.secType === "FUT" || instrument.secType === "FOP" ? { ...instrument.requestContract, includeExpired: true } : instrument.requestContract;
}
