import type { HistoricalPacingRules } from "./pacingRules.js";

interface Sent {
  t: number;
  cost: number;
  /** Whose call it was (the scheduler's accounting name), for per-client shares and quotas. */
  account?: string;
}

interface Stamp {
  t: number;
  key: string;
}

/**
 * What was sent to IB within each of its historical pacing windows (rules 1-3 and our send rate), and when
 * a request fits them again. The HistoricalScheduler decides what to send; this only keeps the record.
 */
export class PacingWindows {
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

  constructor(private readonly rules: Readonly<HistoricalPacingRules>) {}

  /** Records a send of `cost` units at about `at`, on `account`'s behalf. */
  record(identityKey: string, sameKey: string, cost: number, at: number, account: string): void {
    // Stamps stay in send order (the logs are pruned from the front) even if the delay estimate wobbles.
    const now = Math.max(at, this.globalLog.at(-1)?.t ?? -Infinity);
    this.globalLog.push({ t: now, cost, account });
    this.rateLog.push({ t: now, cost: 1 });
    let log = this.sameLog.get(sameKey);
    if (log === undefined) this.sameLog.set(sameKey, (log = []));
    log.push(now);
    this.sameStamps.push({ t: now, key: sameKey });
    this.identityLast.set(identityKey, now);
    this.identityStamps.push({ t: now, key: identityKey });
  }

  /** Cost units sent within the global window (as of the last prune). */
  budgetUsed(): number {
    let used = 0;
    for (const s of this.globalLog) used += s.cost;
    return used;
  }

  /** Cost units `account` sent within the global window (as of the last prune). */
  usedBy(account: string): number {
    let used = 0;
    for (const s of this.globalLog) if (s.account === account) used += s.cost;
    return used;
  }

  /** When `account` may send `cost` more units without holding more than `max` of the global window. */
  accountFreeAt(account: string, cost: number, max: number, now: number): number {
    return fitAt(
      this.globalLog.filter((s) => s.account === account),
      this.rules.globalWindowMs + this.rules.safetyMarginMs,
      max,
      cost,
      now,
    );
  }

  /**
   * When `need` more units fit `account`'s `max` units of the global window, counting only what it sent
   * (what it has queued is sent later and ages out later still): undefined when its sends in the window
   * cannot free enough.
   */
  accountRoomAt(account: string, need: number, max: number, now: number): number | undefined {
    let missing = this.usedBy(account) + need - max;
    if (missing <= 0) return now;
    for (const s of this.globalLog) {
      if (s.account !== account) continue;
      missing -= s.cost;
      if (missing <= 0) return s.t + this.rules.globalWindowMs + this.rules.safetyMarginMs;
    }
    return undefined;
  }

  identicalFreeAt(identityKey: string): number {
    const last = this.identityLast.get(identityKey);
    return last === undefined ? -Infinity : last + this.rules.identicalWindowMs + this.rules.safetyMarginMs;
  }

  sameContractFreeAt(sameKey: string, now: number): number {
    const log = this.sameLog.get(sameKey);
    if (log === undefined) return -Infinity;
    return fitAt(
      log.map((t) => ({ t, cost: 1 })),
      this.rules.sameContractWindowMs + this.rules.safetyMarginMs,
      this.rules.sameContractMax,
      1,
      now,
    );
  }

  globalFreeAt(cost: number, max: number, now: number): number {
    return fitAt(this.globalLog, this.rules.globalWindowMs + this.rules.safetyMarginMs, max, cost, now);
  }

  /** When one more send fits maxSendsPerSecond. */
  rateFreeAt(now: number): number {
    return fitAt(this.rateLog, 1_000, this.rules.maxSendsPerSecond, 1, now);
  }

  /**
   * When `need` more cost units fit the global window (of `max` units), as the window stands: the first units
   * free now, the rest as the sends in the window age out, then as the ones sent meanwhile do.
   */
  budgetEstimate(need: number, max: number, now: number): number {
    if (need <= 0) return now;
    const windowMs = this.rules.globalWindowMs + this.rules.safetyMarginMs;
    // Each unit's send time, oldest first: those in the window, then the `need` more, each sent as soon as
    // the unit `max` places before it has aged out (units sent meanwhile age out one window after them).
    const times: number[] = [];
    for (const s of this.globalLog) for (let c = 0; c < s.cost; c++) times.push(s.t);
    let last = now;
    for (let k = 0; k < need; k++) {
      const n = times.length;
      last = n < max ? now : Math.max(now, times[n - max]! + windowMs);
      times.push(last);
    }
    return last;
  }

  /** Drops sends that no longer count in any window. */
  prune(now: number): void {
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
