/**
 * IB's historical-data pacing rules as numbers (tws-protocol.md §3 "Historical data pacing"), and how a
 * request is keyed and costed under them; the HistoricalScheduler enforces them.
 */

export interface HistoricalPacingRules {
  /** Rule 1: an identical request must wait this long after the previous one (IB: 15 s). */
  identicalWindowMs: number;
  /** Rule 2: window for requests on the same contract + exchange + whatToShow (IB: 2 s). */
  sameContractWindowMs: number;
  /** Rule 2: most requests allowed per same-contract window (IB: 6 or more violate, so 5). */
  sameContractMax: number;
  /** Rule 3: the rolling window of the global budget (IB: 10 min). */
  globalWindowMs: number;
  /** Rule 3: budget per rolling window, in cost units (IB: 60; BID_ASK costs 2). */
  globalMax: number;
  /** Rule 4: most requests in flight at once (IB: 50). */
  maxInFlight: number;
  /**
   * Historical requests sent per second, at most. Keeps bursts well under IB's 50 messages/s so that the
   * client library's own outbound queue stays empty and our send times are IB's arrival times (a queued
   * burst would arrive later than stamped and break the windows above at their edges).
   */
  maxSendsPerSecond: number;
  /** Wait before resending a request IB rejected with a pacing violation. */
  pacingBackoffMs: number;
  /** How many times a pacing-rejected request is resent before the error surfaces. */
  pacingRetries: number;
  /** Added to every window: IB measures arrival, not our send time, and the network jitters. */
  safetyMarginMs: number;
  /**
   * Cost units of the global budget that internal requests (live candle feeds' real-time bars, seeds and
   * heals) leave to user calls: resubscriptions can never take the whole budget, so GetCandles is answered.
   */
  userReserve: number;
  /**
   * After a reconnect (or IB's 1101), internal requests wait for the connection to have stayed up this long,
   * doubled for each further reconnect within the global window (a flapping Gateway): requests sent on a
   * session that drops a moment later spend the budget and deliver nothing.
   */
  settleAfterReconnectMs: number;
  /** The longest such wait. */
  settleMaxMs: number;
  /**
   * An internal request queued this long takes its place in line with user calls (FIFO by arrival): user
   * calls go first, but a client that keeps IB's window full cannot hold resubscriptions and heals forever.
   */
  internalMaxWaitMs: number;
  /**
   * Fair share between clients (the accounting names user calls carry): while another client has requests
   * queued, no single client may hold more than globalMax - clientReserve cost units of the global window,
   * so a client that arrives while another keeps the window full finds units it can use at once. A client
   * alone may use the whole window. Not IB's rule: a setting (AppConfig.historicalPacing).
   */
  clientReserve: number;
  /**
   * Most historical-tick requests (IB's 1000 ticks each) a trade feed spends filling the window of one
   * Gateway outage; what lies beyond is reported as not filled. Not IB's rule: a bound of ours.
   */
  outageTradeBackfillRequests: number;
}

export const DEFAULT_HISTORICAL_PACING: Readonly<HistoricalPacingRules> = Object.freeze({
  identicalWindowMs: 15_000,
  sameContractWindowMs: 2_000,
  sameContractMax: 5,
  globalWindowMs: 600_000,
  globalMax: 60,
  maxInFlight: 50,
  maxSendsPerSecond: 20,
  pacingBackoffMs: 10_000,
  pacingRetries: 1,
  // Covers what other traffic may still hold in the outbound queue (1 s ≈ 40 messages at 40/s).
  safetyMarginMs: 1_000,
  userReserve: 10,
  settleAfterReconnectMs: 2_000,
  settleMaxMs: 30_000,
  internalMaxWaitMs: 60_000,
  clientReserve: 10,
  outageTradeBackfillRequests: 5,
});

/** What IB compares for pacing. */
export interface PacingKey {
  /** Contract + exchange (e.g. conId@exchange): rule 2 groups by it together with whatToShow. */
  contractKey: string;
  whatToShow: string;
  /** Everything that makes two requests identical for rule 1 (see historicalIdentityKey). */
  identityKey: string;
}

export interface HistoricalRequestParams {
  contractKey: string;
  barSize: string;
  durationStr: string;
  endDateTime: string;
  whatToShow: string;
  useRTH: boolean;
}

/** Rule 1's notion of "identical": contract, bar size, duration, end, whatToShow and useRTH. */
export function historicalIdentityKey(p: HistoricalRequestParams): string {
  return [p.contractKey, p.barSize, p.durationStr, p.endDateTime, p.whatToShow, p.useRTH ? "1" : "0"].join("\u0000");
}

export function pacingKeyFor(p: HistoricalRequestParams): PacingKey {
  return { contractKey: p.contractKey, whatToShow: p.whatToShow, identityKey: historicalIdentityKey(p) };
}

/** BID_ASK counts twice against the 60-per-10-minutes budget. */
export function pacingCost(whatToShow: string): 1 | 2 {
  return whatToShow === "BID_ASK" ? 2 : 1;
}
