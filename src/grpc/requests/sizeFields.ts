import { DEFAULT_BOOK_ROWS, MAX_HISTORICAL_TICKS } from "../../ib/ibAdapter.js";
import { invalidArgument } from "../apiError.js";

/** Rows per side a depth request may ask for: IB sends at most what is asked, the limit is ours. */
export const MAX_BOOK_DEPTH = 50;
/** Trades per GetTrades call: IB's per-request maximum of historical ticks. */
const MAX_TRADES = MAX_HISTORICAL_TICKS;
const DEFAULT_TRADES = 100;

/** `depth` of book requests: 0 = the default rows (those of configured subscriptions, so they share one). */
export function checkDepth(depth: number): number {
  if (depth === 0) return DEFAULT_BOOK_ROWS;
  if (depth > MAX_BOOK_DEPTH) throw invalidArgument("depth", `at most ${MAX_BOOK_DEPTH} levels per side (got ${depth})`, "DEPTH_TOO_LARGE");
  return depth;
}

/** `limit` of GetTrades: 0 = 100. */
export function checkTradesLimit(limit: number): number {
  if (limit === 0) return DEFAULT_TRADES;
  if (limit > MAX_TRADES) throw invalidArgument("limit", `at most ${MAX_TRADES} trades per call (IB's per-request maximum; got ${limit})`, "LIMIT_TOO_LARGE");
  return limit;
}
