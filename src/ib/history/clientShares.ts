import { IbError } from "../ibErrors.js";
import type { HistoricalPacingRules } from "./pacingRules.js";
import type { PacingWindows } from "./pacingWindows.js";

/** The accounting name of internal requests (never a client's: client names are validated, see clientsFile.ts). */
export const INTERNAL_ACCOUNT = "(internal)";

/** What a user call is about to ask (HistoricalScheduler.admit). */
export interface HistoricalCall {
  client?: string;
  /** Cost units of all its requests. */
  cost: number;
  /** How many requests (for the messages). */
  requests: number;
  /** The caller gives up then (epoch ms); undefined = no deadline. */
  deadlineMs?: number;
}

/** A queued request as the client rules see it. */
export interface QueuedRequest {
  seq: number;
  cost: number;
  priority: "user" | "internal";
  /** The client's name for user requests ("" when none was given), INTERNAL_ACCOUNT for internal ones. */
  account: string;
  queuedAt: number;
}

/**
 * How the clients share IB's historical budget (the HistoricalScheduler's queue and windows stay its own):
 *  - fair order: among user calls the next request is the one of the client that has sent the fewest cost
 *    units in the window, counting its own requests ahead in line (ties: oldest first);
 *  - fair share: while another client has requests queued, no client holds more than
 *    globalMax - clientReserve units of the window (a client alone may use it all);
 *  - quota: a client's quotaOf units per window at most, and a call that cannot fit it is refused at once;
 *  - deadline: a call whose last request would, by estimate, go after the caller's deadline is refused at once.
 */
export class ClientShares {
  constructor(
    private readonly rules: Readonly<HistoricalPacingRules>,
    private readonly windows: PacingWindows,
    private readonly quotaOf: (client: string) => number,
  ) {}

  /**
   * The queue's first line in fair order: user calls, and internal requests queued internalMaxWaitMs or
   * longer (not while the connection settles). Each request's key is what its client has sent in the window
   * plus the cost of its client's requests ahead of it; the smallest key goes first, the oldest on a tie.
   * Aged internal requests count as a client that has sent nothing (they have waited long enough already).
   * `queue` is in arrival (seq) order.
   */
  fairLine<E extends QueuedRequest>(queue: readonly E[], now: number, settling: boolean): { e: E; key: number }[] {
    const aged = now - this.rules.internalMaxWaitMs;
    const running = new Map<string, number>();
    const line: { e: E; key: number }[] = [];
    for (const e of queue) {
      if (e.priority === "internal" && (e.queuedAt > aged || settling)) continue;
      const key = running.get(e.account) ?? (e.priority === "internal" ? 0 : this.windows.usedBy(e.account));
      running.set(e.account, key + e.cost);
      line.push({ e, key });
    }
    return line.sort((a, b) => a.key - b.key || a.e.seq - b.e.seq);
  }

  /**
   * When the request's client may send it: within its quota always, and within globalMax - clientReserve
   * while another client (in `waiting`, the clients with user requests queued) has requests queued.
   * Internal requests have their own limit (the scheduler's userReserve).
   */
  freeAt(e: QueuedRequest, waiting: ReadonlySet<string>, now: number): number {
    if (e.priority !== "user") return -Infinity;
    let at = -Infinity;
    const quota = this.quotaOf(e.account);
    if (quota > 0) at = this.windows.accountFreeAt(e.account, e.cost, quota, now);
    const others = waiting.size > (waiting.has(e.account) ? 1 : 0);
    if (others) at = Math.max(at, this.windows.accountFreeAt(e.account, e.cost, Math.max(1, this.rules.globalMax - this.rules.clientReserve), now));
    return at;
  }

  /** Throws IbError "history-quota" or "history-wait-exceeds-deadline" for a call that must not be queued (windows pruned to now). */
  admit(call: HistoricalCall, queue: readonly QueuedRequest[], now: number, settling: boolean): void {
    const account = call.client ?? "";
    const quota = this.quotaOf(account);
    if (quota > 0) {
      const queued = queuedCostOf(queue, account);
      const left = quota - this.windows.usedBy(account) - queued;
      if (call.cost > left) {
        const windowS = Math.round(this.rules.globalWindowMs / 1000);
        if (call.cost > quota) {
          throw new IbError("limit", `this call needs ${call.cost} historical requests, more than client ${JSON.stringify(account)}'s quota of ${quota} per ${windowS} s: ask for a shorter window`, undefined, "history-quota", { limit: quota, client: account });
        }
        const at = this.windows.accountRoomAt(account, queued + call.cost, quota, now) ?? now + this.rules.globalWindowMs + this.rules.safetyMarginMs;
        throw new IbError(
          "limit",
          `client ${JSON.stringify(account)} may send ${Math.max(0, left)} more historical requests in this ${windowS}-second window (quota ${quota}) and this call needs ${call.cost}`,
          undefined,
          "history-quota",
          { limit: quota, client: account, retryAfterMs: Math.max(0, at - now) },
        );
      }
    }
    if (call.deadlineMs !== undefined) {
      const at = this.estimateCall(account, call, queue, now, settling);
      if (at > call.deadlineMs) {
        const allowed = Math.max(0, call.deadlineMs - now);
        throw new IbError(
          "limit",
          `IB's historical pacing budget (${this.rules.globalMax} requests per ${Math.round(this.rules.globalWindowMs / 1000)} s) lets this call's ${call.requests} request(s) go in about ${Math.ceil((at - now) / 1000)} s, after its deadline (${Math.ceil(allowed / 1000)} s); retry later or with a longer deadline`,
          undefined,
          "history-wait-exceeds-deadline",
          // Retried then with the same deadline, its wait should fit (unless others queue meanwhile).
          { waitMs: at - now, retryAfterMs: Math.max(1_000, at - now - allowed) },
        );
      }
    }
  }

  /** Estimated wait (ms) until the last user request in line is sent, as IB's budget stands; 0 when none waits. */
  userWaitMs(queue: readonly QueuedRequest[], now: number, settling: boolean): number {
    const line = this.fairLine(queue, now, settling);
    const last = line.findLastIndex(({ e }) => e.priority === "user");
    let ahead = 0;
    for (let i = 0; i <= last; i++) ahead += line[i]!.e.cost;
    if (ahead === 0) return 0;
    return Math.max(0, this.windows.budgetEstimate(ahead, this.rules.globalMax, now) - now);
  }

  /** When a call of `account` queued now would have its last request sent, by estimate. */
  private estimateCall(account: string, call: HistoricalCall, queue: readonly QueuedRequest[], now: number, settling: boolean): number {
    const own = queuedCostOf(queue, account);
    // Its last request's place in the fair line: after the entries whose key is at most its own.
    const lastKey = this.windows.usedBy(account) + own + Math.max(0, call.cost - 1);
    let ahead = own + call.cost;
    for (const { e, key } of this.fairLine(queue, now, settling)) if (e.account !== account && key <= lastKey) ahead += e.cost;
    // The global budget only: the per-contract rules hold a call's requests for seconds, not minutes, and a
    // deadline that short is left to run out as before (the call then ends DEADLINE_EXCEEDED).
    return this.windows.budgetEstimate(ahead, this.rules.globalMax, now);
  }
}

function queuedCostOf(queue: readonly QueuedRequest[], account: string): number {
  let cost = 0;
  for (const e of queue) if (e.account === account) cost += e.cost;
  return cost;
}
