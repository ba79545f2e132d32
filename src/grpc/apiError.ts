import { status } from "@grpc/grpc-js";

/** The ErrorInfo domain of every error this service raises (AIP-193). */
export const ERROR_DOMAIN = "ib-provider";

export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * An error meant for the caller: a gRPC status, a human message, a stable UPPER_SNAKE reason and metadata
 * (e.g. the IB error code or the limit that was hit). Anything thrown that is not an ApiError reaches the
 * caller as INTERNAL without its message, so internals never leak.
 */
export class ApiError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly reason: string,
    readonly metadata: Record<string, string> = {},
    readonly fieldViolations: FieldViolation[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function invalidArgument(field: string, description: string, reason = "INVALID_ARGUMENT"): ApiError {
  return new ApiError(status.INVALID_ARGUMENT, `invalid ${field}: ${description}`, reason, { field }, [{ field, description }]);
}

export function notFound(message: string, reason: string, metadata: Record<string, string> = {}): ApiError {
  return new ApiError(status.NOT_FOUND, message, reason, metadata);
}

export function unimplemented(method: string, detail = "not implemented yet"): ApiError {
  return new ApiError(status.UNIMPLEMENTED, `${method} is ${detail}`, "NOT_IMPLEMENTED", { method });
}

export function unauthenticated(message: string, reason: string): ApiError {
  return new ApiError(status.UNAUTHENTICATED, message, reason);
}

export function unavailable(message: string, reason: string, metadata: Record<string, string> = {}): ApiError {
  return new ApiError(status.UNAVAILABLE, message, reason, metadata);
}
