/** Half-open time ranges [fromMs, toMs) in epoch milliseconds, and the arithmetic the store's coverage needs. */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** Sorted, non-overlapping, non-touching ranges covering the same instants as `ranges`. */
export function mergeRanges(ranges: readonly TimeRange[]): TimeRange[] {
  const sorted = ranges.filter((r) => r.toMs > r.fromMs).sort((a, b) => a.fromMs - b.fromMs);
  const out: TimeRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.fromMs <= last.toMs) last.toMs = Math.max(last.toMs, r.toMs);
    else out.push({ fromMs: r.fromMs, toMs: r.toMs });
  }
  return out;
}

/** The parts of `window` that none of `covered` contains, oldest first. */
export function missingRanges(window: TimeRange, covered: readonly TimeRange[]): TimeRange[] {
  const out: TimeRange[] = [];
  let cursor = window.fromMs;
  for (const r of mergeRanges(covered)) {
    if (r.toMs <= cursor) continue;
    if (r.fromMs >= window.toMs) break;
    if (r.fromMs > cursor) out.push({ fromMs: cursor, toMs: r.fromMs });
    cursor = Math.max(cursor, r.toMs);
  }
  if (cursor < window.toMs) out.push({ fromMs: cursor, toMs: window.toMs });
  return out;
}

/**
 * Joins ranges whose gap is shorter than `maxGapMs` into one: asking IB for a short covered gap too costs
 * less than a request of its own per hole.
 */
export function bridgeGaps(ranges: readonly TimeRange[], maxGapMs: number): TimeRange[] {
  const out: TimeRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && r.fromMs - last.toMs < maxGapMs) last.toMs = r.toMs;
    else out.push({ ...r });
  }
  return out;
}
