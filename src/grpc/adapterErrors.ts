import { status } from "@grpc/grpc-js";
import { IbError, type IbErrorKind, type IbFact } from "../ib/ibErrors.js";
import { ConsumerTooSlowError } from "../stream/overflowPolicy.js";
import { ReplayRangeError } from "../stream/replayCursor.js";
import { ReplayUnavailableError } from "../stream/consumerOptions.js";
import { replayRangeError } from "./requests/replayFields.js";
import { ApiError } from "./apiError.js";

/** Typed adapter errors → gRPC status and a stable reason; IB's code travels in ErrorInfo metadata. */
const BY_KIND: Record<IbErrorKind, { code: status; reason: string }> = {
  "not-found": { code: status.NOT_FOUND, reason: "SYMBOL_NOT_FOUND" },
  permission: { code: status.PERMISSION_DENIED, reason: "MARKET_DATA_SUBSCRIPTION_REQUIRED" },
  pacing: { code: status.RESOURCE_EXHAUSTED, reason: "PACING_LIMIT" },
  limit: { code: status.RESOURCE_EXHAUSTED, reason: "IB_LIMIT_REACHED" },
  "no-data": { code: status.NOT_FOUND, reason: "NO_DATA" },
  invalid: { code: status.INVALID_ARGUMENT, reason: "IB_REJECTED_REQUEST" },
  unavailable: { code: status.UNAVAILABLE, reason: "GATEWAY_UNAVAILABLE" },
  timeout: { code: status.UNAVAILABLE, reason: "GATEWAY_TIMEOUT" },
  cancelled: { code: status.CANCELLED, reason: "CANCELLED" },
  internal: { code: status.INTERNAL, reason: "IB_ERROR" },
};

/** Facts the adapter reports beyond its kind → their own reasons (the adapter chooses no API vocabulary). */
const BY_FACT: Record<IbFact, { code: status; reason: string }> = {
  "account-not-managed": { code: status.NOT_FOUND, reason: "ACCOUNT_NOT_MANAGED" },
  "account-not-active": { code: status.INVALID_ARGUMENT, reason: "ACCOUNT_NOT_ACTIVE" },
  "no-trades": { code: status.INVALID_ARGUMENT, reason: "NO_TRADES_FOR_FOREX" },
  // IB sends no such data for the instrument's class (trades of an index, depth of a fund): asking again cannot help.
  "not-offered-for-class": { code: status.FAILED_PRECONDITION, reason: "NOT_OFFERED_FOR_ASSET_CLASS" },
  // GetCandles names the field that set the window (from or days) before it gets here.
  "history-too-long": { code: status.INVALID_ARGUMENT, reason: "WINDOW_TOO_LONG" },
  // The caller's client would spend more of IB's historical budget than its historyRequests quota allows.
  "history-quota": { code: status.RESOURCE_EXHAUSTED, reason: "QUOTA_EXCEEDED" },
  // Refused at once instead of blocking until the deadline: RetryInfo says when the wait should fit.
  "history-wait-exceeds-deadline": { code: status.RESOURCE_EXHAUSTED, reason: "HISTORY_WAIT_EXCEEDS_DEADLINE" },
};

export function apiErrorFromAdapter(err: unknown): ApiError | undefined {
  if (err instanceof ConsumerTooSlowError) return new ApiError(status.RESOURCE_EXHAUSTED, err.message, "CONSUMER_TOO_SLOW", { maxQueued: String(err.maxQueued) });
  if (err instanceof ReplayRangeError) return replayRangeError(err);
  if (err instanceof ReplayUnavailableError) return new ApiError(status.FAILED_PRECONDITION, err.message, "REPLAY_UNAVAILABLE");
  if (!(err instanceof IbError)) return undefined;
  const { code, reason } = err.fact === undefined ? BY_KIND[err.kind] : BY_FACT[err.fact];
  const metadata: Record<string, string> = err.ibCode === undefined ? {} : { ibCode: String(err.ibCode) };
  const details = err.details ?? {};
  if (err.fact === "history-quota") Object.assign(metadata, { quota: "historyRequests", limit: String(details.limit ?? ""), client: details.client ?? "" });
  if (err.fact === "history-wait-exceeds-deadline" && details.waitMs !== undefined) metadata.waitSeconds = String(Math.ceil(details.waitMs / 1000));
  return new ApiError(code, err.message, reason, metadata, [], details.retryAfterMs);
}
