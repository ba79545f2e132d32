/** Capped exponential backoff with jitter, for re-opening streams. */
export interface BackoffPolicy {
  /** Delay before the first retry. Default 250 ms. */
  initialMs: number;
  /** Upper bound of any delay. Default 10 s. */
  maxMs: number;
  /** Growth per consecutive failure. Default 2. */
  multiplier: number;
  /** Fraction of the delay randomised away (0..1) so that many clients do not retry in lockstep. Default 0.2. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, multiplier: 2, jitter: 0.2 };

/**
 * The policy with the caller's settings that are usable numbers (a key passed as undefined, NaN or a
 * negative number keeps its default: a NaN delay would retry in a tight loop); jitter within 0..1.
 */
export function backoffPolicy(overrides: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const pick = (key: keyof BackoffPolicy) => {
    const v = overrides[key];
    return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : DEFAULT_BACKOFF[key];
  };
  return { initialMs: pick("initialMs"), maxMs: pick("maxMs"), multiplier: Math.max(1, pick("multiplier")), jitter: Math.min(1, pick("jitter")) };
}

/** Delay before retry number `attempt` (1-based). `random` is injectable for tests. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller checks the signal). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
