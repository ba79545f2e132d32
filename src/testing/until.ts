/**
 * The one way a test waits for something to become true: polled, bounded, and saying what it waited for
 * when it gives up. Prefer waiting on an event or a counter (a stream's data, the simulator's stats, the
 * adapter's subscriptions) over sleeping: a sleep is either too long (slow suite) or too short (flaky).
 */
export interface UntilOptions {
  /** What is awaited, for the failure message ("the depth lines to be released"). */
  what: string;
  /** Give up (throw) after this long. Default 5 s. */
  timeoutMs?: number;
}

/** Polls every 10 ms. */
const POLL_MS = 10;

export async function until(condition: () => boolean | Promise<boolean>, { what, timeoutMs = 5_000 }: UntilOptions): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
