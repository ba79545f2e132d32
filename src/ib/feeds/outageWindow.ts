/**
 * The words a feed uses to say what it filled after a Gateway outage: the window as UTC clock times
 * ("gap 14:01:05–14:03:40 UTC"), with the date when the window spans midnight.
 */

/** "14:01:05" (UTC), or "2026-12-03 14:01:05" when `withDate`. */
export function clockText(ms: number, withDate = false): string {
  const iso = new Date(ms).toISOString();
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : iso.slice(11, 19);
}

/** "14:01:05–14:03:40 UTC" for [fromMs, toMs]. */
export function windowText(fromMs: number, toMs: number): string {
  const days = new Date(fromMs).toISOString().slice(0, 10) !== new Date(toMs).toISOString().slice(0, 10);
  return `${clockText(fromMs, days)}–${clockText(toMs, days)} UTC`;
}

/** "gap 14:01:05–14:03:40 UTC" for an outage from the loss to the reopen. */
export function gapText(lostAtMs: number, reopenedAtMs: number): string {
  return `gap ${windowText(lostAtMs, reopenedAtMs)}`;
}
