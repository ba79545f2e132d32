import { status } from "@grpc/grpc-js";
import { IbError, type IbErrorKind } from "../ib/ibErrors.js";
import { ConsumerTooSlowError } from "../ib/ibAdapter.js";
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

export function apiErrorFromAdapter(err: unknown): ApiError | undefined {
  if (err instanceof ConsumerTooSlowError) return new ApiError(status.RESOURCE_EXHAUSTED, err.message, "CONSUMER_TOO_SLOW", { maxQueued: String(err.maxQueued) });
  if (!(err instanceof IbError)) return undefined;
  const { code, reason: byKind } = BY_KIND[err.kind];
  const reason = err.reason ?? byKind;
  const metadata: Record<string, string> = err.ibCode === undefined ? {} : { ibCode: String(err.ibCode) };
  return new ApiError(code, err.message, reason, metadata);
}
