import { status } from "@grpc/grpc-js";

/** The ErrorInfo domain of every error this service raises (AIP-193). */
export const ERROR_DOMAIN = "ib-provider";

/**
 * How much of a caller's value an error repeats: enough to recognise it, never enough to grow the status
 * past what HTTP/2 peers accept (a 40 KB symbol echoed into grpc-message and the details once made the
 * trailers too large to send, and the caller's whole connection hung).
 */
export const ECHO_CHARS = 40;

/** A caller's value as an error quotes it: JSON-quoted, cut after ECHO_CHARS characters with its length said. */
export function echo(value: string): string {
  if (value.length <= ECHO_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, ECHO_CHARS))}… (${value.length} characters)`;
}

/** Cuts `text` to at most `max` characters, saying how long it was (statuses and their details are bounded). */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `… (${text.length} characters)`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

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
    /** When the caller may retry (ms from now): sent as google.rpc.RetryInfo, and Retry-After over REST. */
    readonly retryDelayMs?: number,
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
