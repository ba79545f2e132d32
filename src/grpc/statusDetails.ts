import { Metadata, status, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { Any } from "../../gen/google/protobuf/any.js";
import { BadRequest, ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import { ApiError, ERROR_DOMAIN } from "./apiError.js";

const TYPE_PREFIX = "type.googleapis.com/";

/** google.rpc.Status for an ApiError: code, message, ErrorInfo and (for bad fields) BadRequest. */
export function richStatusOf(err: ApiError): Status {
  const details: Any[] = [
    Any.fromPartial({
      typeUrl: TYPE_PREFIX + "google.rpc.ErrorInfo",
      value: ErrorInfo.encode({ reason: err.reason, domain: ERROR_DOMAIN, metadata: err.metadata }).finish(),
    }),
  ];
  if (err.fieldViolations.length > 0) {
    details.push(
      Any.fromPartial({
        typeUrl: TYPE_PREFIX + "google.rpc.BadRequest",
        value: BadRequest.encode({
          fieldViolations: err.fieldViolations.map((v) => ({ ...v, reason: err.reason })),
        }).finish(),
      }),
    );
  }
  return { code: err.code, message: err.message, details };
}

/**
 * The status object grpc-js sends: the message in grpc-message and the full google.rpc.Status in the
 * grpc-status-details-bin trailer (what grpc-gateway, grpcio-status and Go's status.FromError read).
 */
export function toServiceError(err: ApiError): Partial<StatusObject> & ServiceError {
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(Status.encode(richStatusOf(err)).finish()));
  return Object.assign(new Error(err.message), { code: err.code, details: err.message, metadata }) as ServiceError;
}

/** Decodes the rich status a server sent (for clients and tests). */
export function readRichStatus(error: { metadata?: Metadata }): { status: Status; errorInfo: ErrorInfo | undefined; badRequest: BadRequest | undefined } | undefined {
  const bin = error.metadata?.get("grpc-status-details-bin")[0];
  if (!(bin instanceof Buffer)) return undefined;
  const decoded = Status.decode(bin);
  const find = (name: string) => decoded.details.find((d) => d.typeUrl === TYPE_PREFIX + name)?.value;
  const info = find("google.rpc.ErrorInfo");
  const bad = find("google.rpc.BadRequest");
  return {
    status: decoded,
    errorInfo: info ? ErrorInfo.decode(info) : undefined,
    badRequest: bad ? BadRequest.decode(bad) : undefined,
  };
}

export const INTERNAL_ERROR = new ApiError(status.INTERNAL, "internal error", "INTERNAL");
