import { echo, invalidArgument } from "../apiError.js";

/**
 * The longest string any request field may carry. Our longest legitimate values are far shorter (a
 * symbol is at most 32 characters, an IB account id about 10, a service name for health checks about
 * 40); the bound exists so that no handler, IB request or log line ever works on a 40 KB value.
 */
export const MAX_STRING_FIELD_CHARS = 256;
/** Nested messages (e.g. google.protobuf.Timestamp) are walked this deep; requests are shallow. */
const MAX_DEPTH = 4;

/** ts-proto's camelCase key → the proto field name the caller wrote ("accountId" → "account_id"). */
function protoName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Checks every string field of a decoded request (any service, before its handler runs): one too long is
 * INVALID_ARGUMENT FIELD_TOO_LONG naming the field, its value quoted cut short with its length.
 */
export function checkStringFields(request: unknown, path = "", depth = 0): void {
  if (request === null || typeof request !== "object" || depth > MAX_DEPTH) return;
  const entries = Array.isArray(request) ? request.map((v, i) => [`[${i}]`, v] as const) : Object.entries(request);
  for (const [key, value] of entries) {
    const field = Array.isArray(request) ? `${path}${key}` : path === "" ? protoName(key) : `${path}.${protoName(key)}`;
    if (typeof value === "string") {
      if (value.length > MAX_STRING_FIELD_CHARS) {
        throw invalidArgument(field, `at most ${MAX_STRING_FIELD_CHARS} characters (got ${echo(value)})`, "FIELD_TOO_LONG");
      }
    } else {
      checkStringFields(value, field, depth + 1);
    }
  }
}
