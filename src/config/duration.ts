/** Milliseconds per unit of a duration in the environment. */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** What a duration variable takes, for error messages. */
export const DURATION_FORMAT = 'a whole number with a unit (ms, s, m, h, d, w), e.g. "24h", "90m", "7d", or "0" for forever';

/**
 * "24h", "90m", "7d", "1500ms", "0" → milliseconds; undefined for anything else (a bare number other than 0
 * is refused: minutes or hours, it cannot be told).
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "0") return 0;
  const match = /^(\d+)\s*(ms|s|m|h|d|w)$/.exec(t);
  if (match === null) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}
