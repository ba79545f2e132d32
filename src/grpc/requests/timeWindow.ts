/** The time fields of history requests, checked once here: each fault names its field with one reason. */
import type { Timestamp } from "../../../gen/google/protobuf/timestamp.js";
import type { Interval } from "../../domain/intervals.js";
import { invalidArgument } from "../apiError.js";
import { isValidTimestamp, timestampToMs } from "../mapping/protoTime.js";

/** Request times must be calendar times the service can compute with (a far-past `from` once planned billions of IB requests). */
function checkTime(field: "from" | "to", time: Timestamp | undefined): void {
  if (time !== undefined && !isValidTimestamp(time)) throw invalidArgument(field, "not a valid time (0001-01-01 to 9999-12-31)", "INVALID_TIME");
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** A century of days: IB's daily history goes back decades, not further. */
export const MAX_DAYS = 36_500;

/**
 * The window of a GetCandles request (Barfinex semantics): `to` defaults to now; `from` wins over `days`;
 * with neither, 6 hours for min1 and 7 days otherwise. `days: 0` counts as unset.
 */
export function candleWindow(request: { from?: Timestamp | undefined; to?: Timestamp | undefined; days?: number | undefined }, interval: Interval, nowMs: number): { fromMs: number; toMs: number } {
  checkTime("to", request.to);
  checkTime("from", request.from);
  if (request.days !== undefined && request.days > MAX_DAYS) throw invalidArgument("days", `at most ${MAX_DAYS} (got ${request.days})`, "DAYS_OUT_OF_RANGE");
  const toMs = request.to === undefined ? nowMs : timestampToMs(request.to);
  let fromMs: number;
  if (request.from !== undefined) {
    fromMs = timestampToMs(request.from);
  } else if (request.days !== undefined && request.days > 0) {
    fromMs = toMs - request.days * DAY_MS;
  } else {
    fromMs = toMs - (interval.name === "min1" ? 6 * HOUR_MS : 7 * DAY_MS);
  }
  if (fromMs >= toMs) {
    throw invalidArgument("from", `must be before to (from ${new Date(fromMs).toISOString()}, to ${new Date(toMs).toISOString()})`, "INVALID_TIME_RANGE");
  }
  if (fromMs >= nowMs) throw invalidArgument("from", `is in the future (${new Date(fromMs).toISOString()})`, "INVALID_TIME_RANGE");
  return { fromMs, toMs };
}

/** The window of a GetTrades request: `to` defaults to now, `from` is optional (the most recent trades). */
export function tradesWindow(request: { from?: Timestamp | undefined; to?: Timestamp | undefined }, nowMs: number): { fromMs: number | undefined; toMs: number } {
  checkTime("to", request.to);
  checkTime("from", request.from);
  const toMs = request.to === undefined ? nowMs : timestampToMs(request.to);
  const fromMs = request.from === undefined ? undefined : timestampToMs(request.from);
  if (fromMs !== undefined && fromMs >= toMs) throw invalidArgument("from", "must be before to", "INVALID_TIME_RANGE");
  return { fromMs, toMs };
}
