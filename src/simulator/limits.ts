/**
 * IB's limits (ib-rules.md, tws-protocol.md §3) as configurable numbers, plus the sliding windows that
 * enforce message rate and historical pacing. Windows run on wall time (the Gateway's own clock), not on
 * the simulated market clock.
 */
import { PACING_VIOLATION } from "./errors.js";

export interface Limits {
  /** Inbound messages per second per client (error 100). */
  maxMessagesPerSec: number;
  /** Rate violations after which the connection is dropped. */
  maxRateViolations: number;
  /** Market data lines: concurrent reqMktData + real-time bars (error 101). */
  marketDataLines: number;
  /** Concurrent depth subscriptions (error 309). */
  maxDepth: number;
  /** Concurrent tick-by-tick subscriptions (error 10190). */
  maxTickByTick: number;
  /** Concurrent account-summary subscriptions per client (error 322). */
  maxAccountSummary: number;
  /** Open historical requests (error 322). */
  historicalMaxOpen: number;
  /** At most `historicalMaxInWindow` requests per `historicalWindowMs` (error 162). */
  historicalWindowMs: number;
  historicalMaxInWindow: number;
  /** No identical historical request within this window (error 162). */
  historicalIdenticalMs: number;
  /** No `historicalSameContractMax` or more requests for the same contract/exchange/tick type within the window. */
  historicalSameContractMs: number;
  historicalSameContractMax: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessagesPerSec: 50,
  maxRateViolations: 3,
  marketDataLines: 100,
  maxDepth: 3,
  maxTickByTick: 3,
  maxAccountSummary: 2,
  historicalMaxOpen: 50,
  historicalWindowMs: 10 * 60_000,
  historicalMaxInWindow: 60,
  historicalIdenticalMs: 15_000,
  historicalSameContractMs: 2_000,
  historicalSameContractMax: 6,
};

/** Counts inbound messages in one-second windows; reports the first excess message of each window. */
export class MessageRateLimiter {
  private stamps: number[] = [];
  private violatedWindowEnd = 0;
  violations = 0;
  constructor(
    private readonly maxPerSec: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records one message. Returns "ok", "reject" (over the limit) or "violation" (first reject of a window). */
  hit(): "ok" | "reject" | "violation" {
    const t = this.clock();
    while (this.stamps.length > 0 && this.stamps[0]! <= t - 1000) this.stamps.shift();
    if (this.stamps.length >= this.maxPerSec) {
      if (t >= this.violatedWindowEnd) {
        this.violatedWindowEnd = t + 1000;
        this.violations++;
        return "violation";
      }
      return "reject";
    }
    this.stamps.push(t);
    return "ok";
  }
}

export interface HistoricalRequestKey {
  /** Contract + exchange + tick type (the "same contract" rule). */
  contractKey: string;
  /** Everything that makes two requests identical. */
  identityKey: string;
  /** BID_ASK requests count twice. */
  weight: number;
}

/** Historical pacing windows, shared by every client of the Gateway (IB paces per user). */
export class HistoricalPacer {
  private log: { t: number; key: HistoricalRequestKey }[] = [];
  constructor(
    private readonly limits: Limits,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Checks and records a request. Returns the 162 detail when it violates pacing (the request is not recorded). */
  admit(key: HistoricalRequestKey): string | undefined {
    const t = this.clock();
    const horizon = Math.max(this.limits.historicalWindowMs, this.limits.historicalIdenticalMs, this.limits.historicalSameContractMs);
    this.log = this.log.filter((e) => e.t > t - horizon);
    const inWindow = this.log.filter((e) => e.t > t - this.limits.historicalWindowMs).reduce((n, e) => n + e.key.weight, 0);
    if (inWindow + key.weight > this.limits.historicalMaxInWindow) return PACING_VIOLATION;
    if (this.log.some((e) => e.t > t - this.limits.historicalIdenticalMs && e.key.identityKey === key.identityKey)) return PACING_VIOLATION;
    const same = this.log.filter((e) => e.t > t - this.limits.historicalSameContractMs && e.key.contractKey === key.contractKey).length;
    if (same + 1 >= this.limits.historicalSameContractMax) return PACING_VIOLATION;
    this.log.push({ t, key });
    return undefined;
  }
}
