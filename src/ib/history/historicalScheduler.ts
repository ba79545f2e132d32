/**
 * Historical-data request queue that obeys IB's pacing rules by waiting, never by failing
 * (ib-rules.md "Limits", tws-protocol.md §3 "Historical data pacing"):
 *   1. no identical request within 15 s;
 *   2. fewer than 6 requests for the same contract + exchange + tick type within 2 s;
 *   3. at most 60 requests in any 10-minute window, BID_ASK counting twice;
 *   4. at most 50 requests open at once (322 "Only 50 simultaneous ...").
 * A violation costs a 162 and, repeated, the session; so the queue holds requests until every rule allows them.
 *
 * Fairness: FIFO for the shared budget (rules 3 and 4: a big request is never starved by small ones behind it),
 * but a request held only by its own contract (rules 1 and 2, or its pacing back-off) is skipped over, so one
 * busy contract never blocks the others (no head-of-line blocking).
 *
 * A request IB answers with a pacing violation anyway (another client of the same IB user shares the budget:
 * IB paces per user) is retried after a back-off instead of surfacing, and its resend counts again.
 * The run() callback owns its own timeout: a request that never settles keeps its open slot.
 */
import { IbError } from "../ibErrors.js";
import { DEFAULT_HISTORICAL_PACING, type HistoricalPacingRules, type PacingKey } from "./pacingRules.js";

export interface SchedulerClock {
  now(): number;
  /** Calls fn once after ms; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const realClock: SchedulerClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

export interface HistoricalRequest<T> {
  key: PacingKey;
  /** Pacing cost: 2 for BID_ASK (see pacingCost), else 1. */
  cost?: 1 | 2;
  /** Sends the request; called exactly when the rules allow it (and again on a pacing retry). */
  run: () => Promise<T>;
  /** Aborting while queued (or backing off) removes the request; aborting a running request is run()'s job. */
  signal?: AbortSignal;
}

export interface HistoricalSchedulerStats {
  /** Waiting to be sent, including requests backing off after a pacing rejection. */
  queued: number;
  inFlight: number;
  /** Cost units sent within the current global window. */
  sentInWindow: number;
}

export interface HistoricalSchedulerOptions {
  rules?: Partial<HistoricalPacingRules>;
  clock?: SchedulerClock;
  /**
   * How long a message sent now waits in the outbound queue before it reaches the socket (ms). Sends are
   * stamped with now + this delay, so that the windows count IB's arrival times even when other traffic
   * fills the outbound token bucket.
   */
  sendDelayMs?: () => number;
  /** Told about each pacing rejection that will be retried (for logs/metrics). */
  onPacingRetry?: (key: PacingKey, attempt: number, error: IbError) => void;
}

interface Entry {
  seq: number;
  key: PacingKey;
  sameKey: string;
  cost: number;
  run: () => Promise<unknown>;
  signal: AbortSignal | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Earliest send time (pacing back-off). */
  notBefore: number;
  retries: number;
  detach: () => void;
}

interface Sent {
  t: number;
  cost: number;
}

interface Stamp {
  t: number;
  key: string;
}

export class HistoricalScheduler {
  readonly rules: Readonly<HistoricalPacingRules>;
  private readonly clock: SchedulerClock;
  private readonly onPacingRetry: HistoricalSchedulerOptions["onPacingRetry"];
  private readonly sendDelayMs: () => number;

  /** Ordered by seq: a retried request keeps its original place in line. */
  private readonly queue: Entry[] = [];
  private seq = 0;
  private inFlight = 0;

  /** Rule 3: sends within the global window, oldest first. */
  private readonly globalLog: Sent[] = [];
  /** Sends in the last second (maxSendsPerSecond). */
  private readonly rateLog: Sent[] = [];
  /** Rule 2: send times per contract+whatToShow, oldest first; plus a time-ordered index to prune them. */
  private readonly sameLog = new Map<string, number[]>();
  private readonly sameStamps: Stamp[] = [];
  /** Rule 1: last send per identity; plus a time-ordered index to prune them. */
  private readonly identityLast = new Map<string, number>();
  private readonly identityStamps: Stamp[] = [];

  private pumping = false;
  private pumpAgain = false;
  private wakeAt = Infinity;
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;

  constructor(options: HistoricalSchedulerOptions = {}) {
    this.rules = Object.freeze({ ...DEFAULT_HISTORICAL_PACING, ...options.rules });
    this.clock = options.clock ?? realClock;
    this.onPacingRetry = options.onPacingRetry;
    this.sendDelayMs = options.sendDelayMs ?? (() => 0);
  }

  schedule<T>(request: HistoricalRequest<T>): Promise<T> {
    if (request.signal?.aborted) return Promise.reject(cancelledError());
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        seq: this.seq++,
        key: request.key,
        sameKey: `${request.key.contractKey}\u0000${request.key.whatToShow}`,
        cost: request.cost ?? 1,
        run: request.run,
        signal: request.signal,
        resolve: (value) => resolve(value as T),
        reject,
        notBefore: -Infinity,
        retries: 0,
        detach: () => undefined,
      };
      const signal = request.signal;
      if (signal !== undefined) {
        const onAbort = () => this.abortQueued(entry);
        signal.addEventListener("abort", onAbort, { once: true });
        entry.detach = () => signal.removeEventListener("abort", onAbort);
      }
      this.queue.push(entry);
      this.pump();
    });
  }

  stats(): HistoricalSchedulerStats {
    const now = this.clock.now();
    this.prune(now);
    let sentInWindow = 0;
    for (const s of this.globalLog) sentInWindow += s.cost;
    return { queued: this.queue.length, inFlight: this.inFlight, sentInWindow };
  }

  /** Rejects every queued request (not those in flight) with IbError("cancelled"), e.g. on shutdown. */
  cancelQueued(message = "historical request cancelled while queued"): void {
    const entries = this.queue.splice(0);
    for (const e of entries) {
      e.detach();
      e.reject(new IbError("cancelled", message));
    }
    this.pump();
  }

  private abortQueued(entry: Entry): void {
    const i = this.queue.indexOf(entry);
    if (i < 0) return; // in flight: run() reacts to the signal itself
    this.queue.splice(i, 1);
    entry.detach();
    entry.reject(cancelledError());
    this.pump(); // the removed entry may have been holding the shared budget's line
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true; // run() or a settle handler re-entered: finish this pass first
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.dispatch();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    this.armTimer();
  }

  private dispatch(): void {
    const now = this.clock.now();
    this.prune(now);
    let wake = Infinity;
    for (let i = 0; i < this.queue.length; ) {
      const e = this.queue[i]!;
      const ownAt = Math.max(e.notBefore, this.identicalFreeAt(e), this.sameContractFreeAt(e, now));
      if (ownAt > now) {
        // Held by its own contract only: let the others pass (no head-of-line blocking).
        wake = Math.min(wake, ownAt);
        i++;
        continue;
      }
      // Shared budget: strict FIFO, so stop at the first request that does not fit.
      if (this.inFlight >= this.rules.maxInFlight) break; // a settle re-pumps
      const rateAt = fitAt(this.rateLog, 1_000, this.rules.maxSendsPerSecond, 1, now);
      if (rateAt > now) {
        wake = Math.min(wake, rateAt);
        break;
      }
      const globalAt = this.globalFreeAt(e.cost, now);
      if (globalAt > now) {
        wake = Math.min(wake, globalAt);
        break;
      }
      this.queue.splice(i, 1);
      this.send(e, now);
    }
    this.wakeAt = wake;
  }

  private send(e: Entry, dispatchedAt: number): void {
    // Stamps stay in send order (the logs are pruned from the front) even if the delay estimate wobbles.
    const now = Math.max(dispatchedAt + this.sendDelayMs(), this.globalLog.at(-1)?.t ?? -Infinity);
    this.globalLog.push({ t: now, cost: e.cost });
    this.rateLog.push({ t: now, cost: 1 });
    let log = this.sameLog.get(e.sameKey);
    if (log === undefined) this.sameLog.set(e.sameKey, (log = []));
    log.push(now);
    this.sameStamps.push({ t: now, key: e.sameKey });
    this.identityLast.set(e.key.identityKey, now);
    this.identityStamps.push({ t: now, key: e.key.identityKey });
    this.inFlight++;

    let result: Promise<unknown>;
    try {
      result = Promise.resolve(e.run());
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => {
        this.inFlight--;
        e.detach();
        e.resolve(value);
        this.pump();
      },
      (error: unknown) => {
        this.inFlight--;
        this.failed(e, error);
        this.pump();
      },
    );
  }

  private failed(e: Entry, error: unknown): void {
    const pacing = error instanceof IbError && error.kind === "pacing";
    if (!pacing || e.retries >= this.rules.pacingRetries || e.signal?.aborted) {
      e.detach();
      e.reject(error);
      return;
    }
    e.retries++;
    e.notBefore = this.clock.now() + this.rules.pacingBackoffMs;
    this.onPacingRetry?.(e.key, e.retries, error);
    // Back in line at its original place; the resend is paced (and counted) like any other send.
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.seq > e.seq) i--;
    this.queue.splice(i, 0, e);
  }

  private identicalFreeAt(e: Entry): number {
    const last = this.identityLast.get(e.key.identityKey);
    return last === undefined ? -Infinity : last + this.rules.identicalWindowMs + this.rules.safetyMarginMs;
  }

  private sameContractFreeAt(e: Entry, now: number): number {
    const log = this.sameLog.get(e.sameKey);
    if (log === undefined) return -Infinity;
    return fitAt(
      log.map((t) => ({ t, cost: 1 })),
      this.rules.sameContractWindowMs + this.rules.safetyMarginMs,
      this.rules.sameContractMax,
      1,
      now,
    );
  }

  private globalFreeAt(cost: number, now: number): number {
    return fitAt(this.globalLog, this.rules.globalWindowMs + this.rules.safetyMarginMs, this.rules.globalMax, cost, now);
  }

  /** Drops sends that no longer count in any window. */
  private prune(now: number): void {
    const { safetyMarginMs: m } = this.rules;
    const globalW = this.rules.globalWindowMs + m;
    while (this.globalLog.length > 0 && now - this.globalLog[0]!.t >= globalW) this.globalLog.shift();
    while (this.rateLog.length > 0 && now - this.rateLog[0]!.t >= 1_000) this.rateLog.shift();

    const sameW = this.rules.sameContractWindowMs + m;
    while (this.sameStamps.length > 0 && now - this.sameStamps[0]!.t >= sameW) {
      const { key } = this.sameStamps.shift()!;
      const log = this.sameLog.get(key);
      log?.shift(); // stamps and per-key logs are both in send order
      if (log !== undefined && log.length === 0) this.sameLog.delete(key);
    }

    const identW = this.rules.identicalWindowMs + m;
    while (this.identityStamps.length > 0 && now - this.identityStamps[0]!.t >= identW) {
      const { t, key } = this.identityStamps.shift()!;
      if (this.identityLast.get(key) === t) this.identityLast.delete(key);
    }
  }

  private armTimer(): void {
    if (this.wakeAt === this.timerAt && this.cancelTimer !== undefined) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = Infinity;
    if (this.wakeAt === Infinity || this.queue.length === 0) return;
    const at = this.wakeAt;
    this.timerAt = at;
    this.cancelTimer = this.clock.setTimer(() => {
      this.cancelTimer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, at - this.clock.now()));
  }
}

function cancelledError(): IbError {
  return new IbError("cancelled", "historical request cancelled while queued");
}

/**
 * Earliest time ≥ now at which a request of `cost` fits: the sends still inside the window (a send at s counts
 * while T - s < windowMs) plus cost stay ≤ max. A cost above max waits for an empty window.
 */
function fitAt(log: readonly Sent[], windowMs: number, max: number, cost: number, now: number): number {
  const need = Math.min(cost, max);
  let start = 0;
  while (start < log.length && now - log[start]!.t >= windowMs) start++;
  let sum = 0;
  for (let i = start; i < log.length; i++) sum += log[i]!.cost;
  if (sum + need <= max) return now;
  let i = start;
  while (i < log.length && sum + need > max) sum -= log[i++]!.cost;
  return log[i - 1]!.t + windowMs;
}
