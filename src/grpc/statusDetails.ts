import { Metadata, status, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { Any } from "../../gen/google/protobuf/any.js";
import { BadRequest, ErrorInfo, RetryInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import { ApiError, bounded, ERROR_DOMAIN } from "./apiError.js";

const TYPE_PREFIX = "type.googleapis.com/";

/**
 * Every status this service sends is bounded, whatever a message or a detail was built from (a caller's
 * value, an IB error text): the message travels twice (grpc-message and the details), and trailers over
 * a peer's header-list limit are not an error it can read but a connection that stops answering.
 * Together these keep a status under ~3 KiB; validation quotes values through echo() well below them.
 */
export const STATUS_LIMITS = { messageChars: 512, metadataEntries: 8, metadataKeyChars: 64, metadataValueChars: 128, fieldViolations: 8, fieldChars: 64, descriptionChars: 256 } as const;

function boundedMetadata(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata).slice(0, STATUS_LIMITS.metadataEntries)) {
    out[bounded(key, STATUS_LIMITS.metadataKeyChars)] = bounded(value, STATUS_LIMITS.metadataValueChars);
  }
  return out;
}

/** google.rpc.Status for an ApiError: code, message, ErrorInfo and (for bad fields) BadRequest, each bounded. */
export function richStatusOf(err: ApiError): Status {
  const reason = bounded(err.reason, STATUS_LIMITS.metadataKeyChars);
  const details: Any[] = [
    Any.fromPartial({
      typeUrl: TYPE_PREFIX + "google.rpc.ErrorInfo",
      value: ErrorInfo.encode({ reason, domain: ERROR_DOMAIN, metadata: boundedMetadata(err.metadata) }).finish(),
    }),
  ];
  if (err.fieldViolations.length > 0) {
    details.push(
      Any.fromPartial({
        typeUrl: TYPE_PREFIX + "google.rpc.BadRequest",
        value: BadRequest.encode({
          fieldViolations: err.fieldViolations.slice(0, STATUS_LIMITS.fieldViolations).map((v) => ({
            field: bounded(v.field, STATUS_LIMITS.fieldChars),
            description: bounded(v.description, STATUS_LIMITS.descriptionChars),
            reason,
          })),
        }).finish(),
      }),
    );
  }
  if (err.retryDelayMs !== undefined) {
    // Whole milliseconds, never negative: "retry now" is 0 s.
    const ms = Math.max(0, Math.ceil(err.retryDelayMs));
    details.push(
      Any.fromPartial({
        typeUrl: TYPE_PREFIX + "google.rpc.RetryInfo",
        value: RetryInfo.encode({ retryDelay: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 } }).finish(),
      }),
    );
  }
  return { code: err.code, message: boundedMessage(err.message), details };
}

/** RetryInfo's delay in ms, from a status's details (undefined when it has none). */
export function retryDelayMsOf(retryInfo: RetryInfo | undefined): number | undefined {
  const d = retryInfo?.retryDelay;
  return d === undefined ? undefined : Number(d.seconds) * 1000 + Math.round(d.nanos / 1_000_000);
}

/** The human message as sent (grpc-message, the REST body's `message`). */
export function boundedMessage(message: string): string {
  return bounded(message, STATUS_LIMITS.messageChars);
}

/**
 * The status object grpc-js sends: the message in grpc-message and the full google.rpc.Status in the
 * grpc-status-details-bin trailer (what grpc-gateway, grpcio-status and Go's status.FromError read).
 */
export function toServiceError(err: ApiError): Partial<StatusObject> & ServiceError {
  const metadata = new Metadata();
  const rich = richStatusOf(err);
  metadata.set("grpc-status-details-bin", Buffer.from(Status.encode(rich).finish()));
  return Object.assign(new Error(rich.message), { code: err.code, details: rich.message, metadata }) as ServiceError;
}

/** Decodes the rich status a server sent (for clients and tests). */
export function readRichStatus(
  error: { metadata?: Metadata },
): { status: Status; errorInfo: ErrorInfo | undefined; badRequest: BadRequest | undefined; retryInfo: RetryInfo | undefined } | undefined {
  const bin = error.metadata?.get("grpc-status-details-bin")[0];
  if (!(bin instanceof Buffer)) return undefined;
  const decoded = Status.decode(bin);
  const find = (name: string) => decoded.details.find((d) => d.typeUrl === TYPE_PREFIX + name)?.value;
  const info = find("google.rpc.ErrorInfo");
  const bad = find("google.rpc.BadRequest");
  const retry = find("google.rpc.RetryInfo");
  return {
    status: decoded,
    errorInfo: info ? ErrorInfo.decode(info) : undefined,
    badRequest: bad ? BadRequest.decode(bad) : undefined,
    retryInfo: retry ? RetryInfo.decode(retry) : undefined,
  };
}

export const INTERNAL_ERROR = new ApiError(status.INTERNAL, "internal error", "INTERNAL");
