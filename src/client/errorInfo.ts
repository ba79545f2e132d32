import type { ServiceError } from "@grpc/grpc-js";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";

const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

/**
 * The AIP-193 ErrorInfo the service puts in `grpc-status-details-bin` (its stable `reason`, e.g.
 * INVALID_TOKEN, CONSUMER_TOO_SLOW), or undefined when the error carries none.
 */
export function errorInfoOf(error: Pick<ServiceError, "metadata">): ErrorInfo | undefined {
  const bin = error.metadata?.get("grpc-status-details-bin")[0];
  if (!(bin instanceof Buffer)) return undefined;
  const detail = Status.decode(bin).details.find((d) => d.typeUrl === ERROR_INFO_TYPE);
  return detail === undefined ? undefined : ErrorInfo.decode(detail.value);
}

/** A grpc-js call error (the `code` is a gRPC status). */
export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number" && "metadata" in error;
}
