/**
 * Historical-data request queue that obeys IB's pacing rules by waiting, never by failing
 * (ib-rules.md "Limits", tws-protocol.md §3 "Historical data pacing"):
 *   1. no identical request within 15 s;
 *   2. fewer than 6 requests for the same contract + exchange + tick type within 2 s;
 *   3. at most 60 requests in any 10-minute window, BID_ASK counting twice;
 *   4. at most 50 requests open at once (322 "Only 50 simultaneous ...").
 * A violation costs a 162 and, repeated, the session; so the queue holds requests until every rule allows them.
 *
 * Fairness: one line for the shared budget (rules 3 and 4: a big request is never starved by small ones behind
 * it), but a request held only by its own contract (rules 1 and 2, or its pacing back-off) or by its own
 * client's share or quota is skipped over, so one busy contract or client never blocks the others (no
 * head-of-line blocking). Among user calls the line is fair between clients (the opaque accounting name a
 * call carries): the next request is the one of the client that has sent the fewest cost units in the
 * current window, counting its own requests ahead in line (ties: oldest first). A client with 500 queued
 * requests therefore delays another client's single request by one turn at most (it goes with the next unit
 * that frees). While another client has requests queued, no client may hold more than globalMax -
 * clientReserve units of the window; a client's `historyRequests` quota (quotaOf) caps it always. A call that
 * cannot fit its quota, or whose estimated wait passes the caller's deadline, is refused at once (admit).
 * The clients' side of all this is in clientShares.ts.
 *
 * Priorities: user calls (GetCandles, GetTrades) go before internal requests (a live candle feed's real-time
 * bars, seeding and healing), and internal requests never take the last `userReserve` units of the global
 * budget; after a reconnect they also wait until the connection has settled (settleAfterReconnectMs,
 * doubled per further reconnect within the window): a burst of Gateway restarts must not spend the budget
 * on sessions that die a moment later, and must never leave user calls queued for a whole pacing window.
 *
 * A request IB answers with a pacing violation anyway (another client of the same IB user shares the budget:
 * IB paces per user) is retried after a back-off instead of surfacing, and its resend counts again.
 * The run() callback owns its own timeout: a request that never settles keeps its open slot.
 */
import { IbError } from "../ibErrors.js";
import { DEFAULT_HISTORICAL_PACING, type HistoricalPacingRules, type PacingKey } from "./pacingRules.js";
import { PacingWindows } from "./pacingWindows.js";
import { ClientShares, INTERNAL_ACCOUNT, type HistoricalCall } from "./clientShares.js";

export { INTERNAL_ACCOUNT, type HistoricalCall } from "./clientShares.js";

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

/** Who is asking: a user's call, or the service itself (live candle feeds). */
export type HistoricalPriority = "user" | "internal";

/** Why a queued request is not sent yet, and until when (an estimate when requests ahead may finish early). */
export interface HistoricalWait {
  /** "settling": the connection was restored a moment ago; "budget": IB's N-requests-per-window budget. */
  reason: "settling" | "budget";
  untilMs: number;
}

/** What kind of IB request it is (for the request counters). */
export type HistoricalRequestKind = "bars" | "ticks" | "realtime_bars" | "head_timestamp";

/** How a request sent to IB ended: answered, failed, cancelled, or rejected for pacing and sent again. */
export type HistoricalOutcome = "ok" | "error" | "cancelled" | "pacing_retry";

export interface HistoricalRequest<T> {
  key: PacingKey;
  /** Default "bars". */
  kind?: HistoricalRequestKind;
  /**
   * Whose call this is: an opaque accounting name (the API layer's client name) for the fair order, the
   * per-client share and quota. User requests without one share the name "". Ignored for internal requests.
   */
  client?: string;
  /** Pacing cost: 2 for BID_ASK (see pacingCost), else 1. */
  cost?: 1 | 2;
  /** Sends the request; called exactly when the rules allow it (and again on a pacing retry). */
  run: () => Promise<T>;
  /** Aborting while queued (or backing off) removes the request; aborting a running request is run()'s job. */
  signal?: AbortSignal;
  /** Default "user". */
  priority?: HistoricalPriority;
  /**
   * Told when the request starts waiting for the connection to settle or for the budget (and when that
   * estimate moves by a second or more), then `undefined` when it is sent after such a wait.
   */
  onWait?: (wait: HistoricalWait | undefined) => void;
}

export interface HistoricalSchedulerStats {
  /** Waiting to be sent, including requests backing off after a pacing rejection. */
  queued: number;
  inFlight: number;
  /** Cost units sent within the current global window. */
  sentInWindow: number;
  /** Queued internal requests (live candle feeds), included in `queued`. */
  queuedInternal: number;
  /** Internal requests are held until then (a settling connection); undefined when not held. */
  settlingUntilMs: number | undefined;
  /** Cost units sent since the scheduler started, per priority. */
  sentTotal: Record<HistoricalPriority, number>;
  /** Requests sent to IB since the scheduler started, per kind and outcome (a pacing retry counts each send). */
  requests: Record<HistoricalRequestKind, Record<HistoricalOutcome, number>>;
  /**
   * Estimated wait (ms) until the last queued user request in line is sent, as IB's budget stands; 0 when
   * no user request waits for the budget.
   */
  userWaitMs: number;
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
  /** A client's quota of cost units per global window; 0 (or no function) = no cap beyond its fair share. */
  quotaOf?: (client: string) => number;
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
  priority: HistoricalPriority;
  kind: HistoricalRequestKind;
  /** Accounting name: the client's for user requests, INTERNAL_ACCOUNT for internal ones. */
  account: string;
  /** When it was queued (an internal request waiting past internalMaxWaitMs joins the user calls' line). */
  queuedAt: number;
  onWait: ((wait: HistoricalWait | undefined) => void) | undefined;
  /** The last wait reported through onWait. */
  reported: HistoricalWait | undefined;
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

  /** What was sent within each of IB's windows. */
  private readonly windows: PacingWindows;

  /** Internal requests wait until then (settleAfterReconnectMs). */
  private settleUntil = -Infinity;
  /** Recent reconnects, oldest first (within the global window): each doubles the settle time. */
  private readonly reconnects: number[] = [];
  private readonly sentTotal: Record<HistoricalPriority, number> = { user: 0, internal: 0 };
  private readonly outcomes = newOutcomeCounts();
  /** The clients' side: fair order, shares, quotas, admission. */
  private readonly shares: ClientShares;

  private pumping = false;
  private pumpAgain = false;
  private wakeAt = Infinity;
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;

  constructor(options: HistoricalSchedulerOptions = {}) {
    this.rules = Object.freeze({ ...DEFAULT_HISTORICAL_PACING, ...options.rules });
    this.windows = new PacingWindows(this.rules);
    this.clock = options.clock ?? realClock;
    this.onPacingRetry = options.onPacingRetry;
    this.sendDelayMs = options.sendDelayMs ?? (() => 0);
    this.shares = new ClientShares(this.rules, this.windows, options.quotaOf ?? (() => 0));
  }

  /**
   * Checks a user call before its requests are scheduled (call it in the same turn as schedule(), so that
   * nothing changes in between): throws IbError fact "history-quota" when its cost does not fit what the
   * client may still send in the window (its quota less what it sent and has queued), and fact
   * "history-wait-exceeds-deadline" when its last request would, by estimate, be sent after the caller's
   * deadline. Both carry retryAfterMs when waiting can help.
   */
  admit(call: HistoricalCall): void {
    if (call.cost <= 0) return; // nothing to ask IB (a client over its quota by resends is not refused for it)
    const now = this.clock.now();
    this.windows.prune(now);
    this.shares.admit(call, this.queue, now, this.settleUntil > now);
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
        priority: request.priority ?? "user",
        kind: request.kind ?? "bars",
        account: (request.priority ?? "user") === "internal" ? INTERNAL_ACCOUNT : (request.client ?? ""),
        queuedAt: this.clock.now(),
        onWait: request.onWait,
        reported: undefined,
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
    this.windows.prune(now);
    const sentInWindow = this.windows.budgetUsed();
    return {
      queued: this.queue.length,
      inFlight: this.inFlight,
      sentInWindow,
      queuedInternal: this.queue.filter((e) => e.priority === "internal").length,
      settlingUntilMs: this.settleUntil > now ? this.settleUntil : undefined,
      sentTotal: { ...this.sentTotal },
      requests: Object.fromEntries(Object.entries(this.outcomes).map(([k, v]) => [k, { ...v }])) as HistoricalSchedulerStats["requests"],
      userWaitMs: this.shares.userWaitMs(this.queue, now, this.settleUntil > now),
    };
  }

  /**
   * The Gateway connection (or IB's own, 1101) was restored: hold internal requests until it has stayed up
   * for the settle time, doubled for every other reconnect within the global window. Returns the time.
   */
  connectionRestored(): number {
    const now = this.clock.now();
    while (this.reconnects.length > 0 && now - this.reconnects[0]! >= this.rules.globalWindowMs) this.reconnects.shift();
    this.reconnects.push(now);
    const { settleAfterReconnectMs: base, settleMaxMs: max } = this.rules;
    const wait = Math.min(max, base * 2 ** Math.min(30, this.reconnects.length - 1));
    this.settleUntil = Math.max(this.settleUntil, now + wait);
    this.pump();
    return this.settleUntil;
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
    this.windows.prune(now);
    let wake = Infinity;
    // User calls first, fair between clients (fairLine); then internal requests, FIFO. An internal request
    // that has waited internalMaxWaitMs is in the first line: nothing waits forever.
    const first = this.shares.fairLine(this.queue, now, this.settleUntil > now).map(({ e }) => e);
    const inFirst = new Set(first);
    const order = [...first, ...this.queue.filter((e) => !inFirst.has(e))];
    /** Clients with user requests queued (the fair share applies while another client has some). */
    const waiting = new Set<string>();
    for (const e of this.queue) if (e.priority === "user") waiting.add(e.account);
    /** Set once the shared budget stopped a request: nothing behind it in line is sent (FIFO). */
    let blocked = false;
    /** Cost of the requests ahead that wait for the global budget (for the estimates). */
    let budgetAhead = 0;
    for (const e of order) {
      if (e.priority === "internal" && this.settleUntil > now) {
        this.report(e, { reason: "settling", untilMs: this.settleUntil });
        wake = Math.min(wake, this.settleUntil);
        continue;
      }
      const ownAt = Math.max(e.notBefore, this.windows.identicalFreeAt(e.key.identityKey), this.windows.sameContractFreeAt(e.sameKey, now), this.shares.freeAt(e, waiting, now));
      if (ownAt > now) {
        // Held by its own contract or client only: let the others pass (no head-of-line blocking).
        wake = Math.min(wake, ownAt);
        continue;
      }
      const max = this.budgetFor(e);
      if (!blocked) {
        // Shared budget: strict FIFO, so stop at the first request that does not fit.
        // Internal requests leave in-flight slots to user calls as they leave budget (a burst of seeds
        // waiting on a slow Gateway must not hold all of IB's 50 open requests).
        const maxInFlight = e.priority === "internal" ? Math.max(1, this.rules.maxInFlight - this.rules.userReserve) : this.rules.maxInFlight;
        if (this.inFlight >= maxInFlight) {
          blocked = true; // a settle re-pumps
        } else {
          const rateAt = this.windows.rateFreeAt(now);
          const globalAt = this.windows.globalFreeAt(e.cost, max, now);
          if (rateAt > now || globalAt > now) {
            wake = Math.min(wake, Math.max(rateAt, globalAt));
            blocked = true;
          } else {
            const i = this.queue.indexOf(e);
            if (i < 0) continue; // withdrawn during this pass (an onWait that aborted it)
            this.queue.splice(i, 1);
            this.send(e, now);
            continue;
          }
        }
      }
      budgetAhead += e.cost;
      if (e.onWait === undefined) continue; // estimates only for those who listen (this runs per pump)
      const estimate = this.windows.budgetEstimate(budgetAhead, max, now);
      if (estimate > now + 1_000) this.report(e, { reason: "budget", untilMs: estimate });
    }
    this.wakeAt = wake;
  }

  /** Cost units of the global window this request may fill: internal ones leave the user reserve. */
  private budgetFor(e: Entry): number {
    return e.priority === "internal" ? Math.max(1, this.rules.globalMax - this.rules.userReserve) : this.rules.globalMax;
  }

  private report(e: Entry, wait: HistoricalWait): void {
    const last = e.reported;
    if (last !== undefined && last.reason === wait.reason && Math.abs(last.untilMs - wait.untilMs) < 1_000) return;
    e.reported = wait;
    e.onWait?.(wait);
  }

  private send(e: Entry, dispatchedAt: number): void {
    this.windows.record(e.key.identityKey, e.sameKey, e.cost, dispatchedAt + this.sendDelayMs(), e.account);
    this.inFlight++;
    this.sentTotal[e.priority] += e.cost;
    if (e.reported !== undefined) {
      e.reported = undefined;
      e.onWait?.(undefined);
    }

    let result: Promise<unknown>;
    try {
      result = Promise.resolve(e.run());
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => {
        this.inFlight--;
        this.outcomes[e.kind].ok++;
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
      const cancelled = e.signal?.aborted === true || (error instanceof IbError && error.kind === "cancelled");
      this.outcomes[e.kind][cancelled ? "cancelled" : "error"]++;
      e.detach();
      e.reject(error);
      return;
    }
    this.outcomes[e.kind].pacing_retry++;
    e.retries++;
    e.notBefore = this.clock.now() + this.rules.pacingBackoffMs;
    this.onPacingRetry?.(e.key, e.retries, error);
    // Back in line at its original place; the resend is paced (and counted) like any other send.
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.seq > e.seq) i--;
    this.queue.splice(i, 0, e);
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

const KINDS: readonly HistoricalRequestKind[] = ["bars", "ticks", "realtime_bars", "head_timestamp"];

function newOutcomeCounts(): Record<HistoricalRequestKind, Record<HistoricalOutcome, number>> {
  return Object.fromEntries(KINDS.map((k) => [k, { ok: 0, error: 0, cancelled: 0, pacing_retry: 0 }])) as Record<HistoricalRequestKind, Record<HistoricalOutcome, number>>;
}

function cancelledError(): IbError {
  return new IbError("cancelled", "historical request cancelled while queued");
}
