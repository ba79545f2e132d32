import type { Logger } from "../../log/logger.js";
import type { HistoricalScheduler, HistoricalWait } from "./historicalScheduler.js";

/** Who asks, and until when they wait: what a user's history call carries to the scheduler. */
export interface HistoryCaller {
  /** Opaque accounting name (the API layer's client name): fair order, share and quota. */
  client?: string;
  /** The caller gives up then (epoch ms): a call that would wait longer for IB's pacing is refused at once. */
  deadlineMs?: number;
}

/**
 * The pacing side of one user call of `requests` IB requests costing `cost` units: admitted first (the
 * client's quota, the caller's deadline: HistoricalScheduler.admit throws IbError), then its waits logged at
 * info, once, and again only when the estimate moves a lot (by a minute, or half of the wait logged before),
 * so that a long download says why it is slow without a line per request or per pump. Call it in the same
 * turn as the requests are scheduled.
 */
export function startUserHistoryCall(
  scheduler: HistoricalScheduler,
  log: Logger,
  call: HistoryCaller & { what: string; requests: number; cost: number; now: () => number },
): { onWait(index: number): (wait: HistoricalWait | undefined) => void } {
  scheduler.admit({ client: call.client, cost: call.cost, requests: call.requests, deadlineMs: call.deadlineMs });
  const waiting = new Map<number, number>();
  let logged: { untilMs: number; atMs: number } | undefined;
  const update = () => {
    if (waiting.size === 0) return;
    const untilMs = Math.max(...waiting.values());
    const now = call.now();
    if (logged !== undefined) {
      const before = logged.untilMs - logged.atMs;
      if (Math.abs(untilMs - logged.untilMs) < Math.max(60_000, before / 2)) return;
    }
    logged = { untilMs, atMs: now };
    const { globalMax, globalWindowMs } = scheduler.rules;
    log.info(
      { client: call.client, requests: call.requests, waitSeconds: Math.ceil((untilMs - now) / 1000), until: new Date(untilMs).toISOString() },
      `${call.what} waits for IB's historical pacing budget (${globalMax} requests per ${Math.round(globalWindowMs / 1000)} s): its last request goes at about ${new Date(untilMs).toISOString()}`,
    );
  };
  return {
    onWait: (index) => (wait) => {
      if (wait === undefined || wait.reason !== "budget") waiting.delete(index);
      else waiting.set(index, wait.untilMs);
      update();
    },
  };
}
