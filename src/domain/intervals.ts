/**
 * Barfinex candle intervals: canonical names, accepted aliases and their lengths.
 * Barfinex silently maps an unknown interval to min1; we never do: parseInterval returns undefined and the
 * caller answers INVALID_ARGUMENT naming the accepted values.
 */

export const INTERVAL_NAMES = ["min1", "min5", "min15", "min30", "h1", "h2", "h4", "day", "week", "month"] as const;

export type IntervalName = (typeof INTERVAL_NAMES)[number];

export interface Interval {
  name: IntervalName;
  /** Fixed length in seconds for intraday/day/week intervals; month is calendar-based (length undefined). */
  seconds: number | undefined;
}

const SECONDS: Record<IntervalName, number | undefined> = {
  min1: 60,
  min5: 300,
  min15: 900,
  min30: 1800,
  h1: 3600,
  h2: 7200,
  h4: 14400,
  day: 86400,
  week: 604800,
  month: undefined,
};

/** Aliases Barfinex accepts (MetaTrader style and exchange style). Keys are matched case-sensitively. */
const ALIASES: Record<string, IntervalName> = {
  M1: "min1",
  M5: "min5",
  M15: "min15",
  M30: "min30",
  H1: "h1",
  H2: "h2",
  H4: "h4",
  D1: "day",
  W1: "week",
  MN1: "month",
  "1m": "min1",
  "5m": "min5",
  "15m": "min15",
  "30m": "min30",
  "1h": "h1",
  "2h": "h2",
  "4h": "h4",
  "1d": "day",
  "1w": "week",
  "1M": "month",
};

export function parseInterval(text: string): Interval | undefined {
  const name = (INTERVAL_NAMES as readonly string[]).includes(text) ? (text as IntervalName) : ALIASES[text];
  return name === undefined ? undefined : { name, seconds: SECONDS[name] };
}

/** For error messages: "min1, min5, ... (aliases: M1, ..., 1m, ...)". */
export function describeAcceptedIntervals(): string {
  return `${INTERVAL_NAMES.join(", ")} (aliases: ${Object.keys(ALIASES).join(", ")})`;
}
