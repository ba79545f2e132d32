import { status as GrpcCode, type Metadata } from "@grpc/grpc-js";
import { createFileRegistry, fromBinary, toJson, type DescMessage, type FileRegistry, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { Status } from "../../gen/google/rpc/status.js";
import type { ApiError } from "../grpc/apiError.js";
import { loadDescriptorSet } from "../grpc/descriptorImage.js";
import { richStatusOf } from "../grpc/statusDetails.js";

/** google.rpc.Status in canonical JSON, the body of every REST error (as grpc-gateway writes it). */
export interface StatusJson {
  code: number;
  message: string;
  details: JsonValue[];
}

/** grpc-gateway's HTTPStatusFromCode (runtime/errors.go). */
const HTTP_STATUS_BY_CODE: Record<GrpcCode, number> = {
  [GrpcCode.OK]: 200,
  [GrpcCode.CANCELLED]: 499,
  [GrpcCode.UNKNOWN]: 500,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403,
  [GrpcCode.UNAUTHENTICATED]: 401,
  [GrpcCode.RESOURCE_EXHAUSTED]: 429,
  [GrpcCode.FAILED_PRECONDITION]: 400,
  [GrpcCode.ABORTED]: 409,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503,
  [GrpcCode.DATA_LOSS]: 500,
};

export function httpStatusOf(code: number): number {
  return HTTP_STATUS_BY_CODE[code as GrpcCode] ?? 500;
}

/** Canonical JSON of google.rpc.Status and its details (ErrorInfo, BadRequest, ...), from our image. */
let statusTypes: { registry: FileRegistry; status: DescMessage } | undefined;
function statusTypesOf(): { registry: FileRegistry; status: DescMessage } {
  if (statusTypes === undefined) {
    const registry = createFileRegistry(loadDescriptorSet());
    const status = registry.getMessage("google.rpc.Status");
    if (status === undefined) throw new Error("the descriptor image lacks google.rpc.Status");
    statusTypes = { registry, status };
  }
  return statusTypes;
}

/**
 * The status a gRPC call failed with: code and message from the call, details decoded from the
 * google.rpc.Status in the grpc-status-details-bin trailer (each detail an Any with "@type").
 */
export function statusJsonOfCallError(err: { code: number; details: string; metadata?: Metadata }): StatusJson {
  const bin = err.metadata?.get("grpc-status-details-bin")[0];
  const details = bin instanceof Buffer ? detailsFromStatusBinary(bin) : [];
  return { code: err.code, message: err.details, details };
}

/**
 * Retry-After (whole seconds, rounded up) from a status's google.rpc.RetryInfo, as HTTP clients and proxies
 * read it (RFC 9110 §10.2.3); no header when the status has none.
 */
export function retryAfterHeaderOf(body: StatusJson): Record<string, string> {
  for (const detail of body.details) {
    if (detail === null || typeof detail !== "object" || Array.isArray(detail)) continue;
    if (detail["@type"] !== "type.googleapis.com/google.rpc.RetryInfo") continue;
    const delay = detail.retryDelay;
    const seconds = typeof delay === "string" ? Number(delay.replace(/s$/, "")) : NaN;
    if (Number.isFinite(seconds) && seconds >= 0) return { "Retry-After": String(Math.ceil(seconds)) };
  }
  return {};
}

/** The same body for errors the bridge raises itself (bad query, unknown route, ...), built as gRPC builds it. */
export function statusJsonOfApiError(err: ApiError): StatusJson {
  const rich = richStatusOf(err);
  const bin = Buffer.from(Status.encode(rich).finish());
  return { code: err.code, message: rich.message, details: detailsFromStatusBinary(bin) };
}

function detailsFromStatusBinary(bin: Uint8Array): JsonValue[] {
  const { registry, status } = statusTypesOf();
  let decoded: { details?: Any[] };
  try {
    decoded = fromBinary(status, bin) as unknown as { details?: Any[] };
  } catch {
    return [];
  }
  return (decoded.details ?? []).map((any) => {
    try {
      return toJson(AnySchema, any, { registry });
    } catch {
      // A detail type we do not know: say what it is rather than drop it.
      const unknown: JsonObject = { "@type": any.typeUrl };
      return unknown;
    }
  });
}
