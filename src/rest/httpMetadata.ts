import type { IncomingHttpHeaders } from "node:http";
import { Metadata } from "@grpc/grpc-js";
import { echo } from "../grpc/apiError.js";
import { BindingError } from "./requestBinding.js";

const METADATA_PREFIX = "grpc-metadata-";

/**
 * Bounds on what `Grpc-Metadata-*` headers may carry into a call: a header set beyond them is the
 * caller's mistake (HTTP 431), not our quota (grpc-js refused 200 of them as RESOURCE_EXHAUSTED, which
 * the bridge answered 429). The bytes stay well under grpc-js's 8 KiB default metadata limit.
 */
export const METADATA_LIMITS = { headers: 32, bytes: 4_096 } as const;

/** Too many or too large Grpc-Metadata-* headers (the bridge answers 431 Request Header Fields Too Large). */
export class MetadataTooLargeError extends Error {
  constructor(
    readonly reason: "TOO_MANY_METADATA_HEADERS" | "METADATA_TOO_LARGE",
    readonly limit: number,
    readonly got: number,
  ) {
    super(
      reason === "TOO_MANY_METADATA_HEADERS"
        ? `at most ${limit} Grpc-Metadata-* headers per request (got ${got})`
        : `Grpc-Metadata-* headers carry at most ${limit} bytes per request (got ${got})`,
    );
    this.name = "MetadataTooLargeError";
  }
}

/**
 * The gRPC metadata of a REST request, by allow-list (grpc-gateway's rules): Authorization and
 * x-api-token (our two token headers), `Grpc-Metadata-<key>` → `<key>`, and `x-forwarded-for` with the
 * HTTP peer appended (the gRPC server sees the bridge as its peer). Nothing else crosses over, so
 * hop-by-hop and proxy headers never reach handlers.
 */
export function metadataOf(headers: IncomingHttpHeaders, peer?: string): Metadata {
  const md = new Metadata();
  // gRPC metadata values are printable ASCII; grpc-js throws on anything else.
  const add = (header: string, key: string, value: string | Buffer) => {
    try {
      md.add(key, value);
    } catch {
      throw new BindingError(header, "the header value has characters gRPC metadata cannot carry (printable ASCII only)");
    }
  };
  for (const name of ["authorization", "x-api-token"] as const) {
    const value = headers[name];
    if (typeof value === "string") add(name, name, value);
  }
  if (peer !== undefined) {
    const forwarded = typeof headers["x-forwarded-for"] === "string" ? `${headers["x-forwarded-for"]}, ` : "";
    add("x-forwarded-for", "x-forwarded-for", forwarded + peer);
  }
  const forwarded = Object.entries(headers).filter(([name, value]) => name.startsWith(METADATA_PREFIX) && value !== undefined);
  if (forwarded.length > METADATA_LIMITS.headers) throw new MetadataTooLargeError("TOO_MANY_METADATA_HEADERS", METADATA_LIMITS.headers, forwarded.length);
  const bytes = forwarded.reduce((sum, [name, value]) => sum + name.length + [value ?? []].flat().reduce((n, v) => n + v.length, 0), 0);
  if (bytes > METADATA_LIMITS.bytes) throw new MetadataTooLargeError("METADATA_TOO_LARGE", METADATA_LIMITS.bytes, bytes);
  for (const [name, value] of forwarded) {
    if (value === undefined) continue;
    const key = name.slice(METADATA_PREFIX.length);
    // Reserved: the protocol's own keys, and the ones the bridge sets from the real headers (auth, peer).
    if (key === "" || key.startsWith("grpc-") || RESERVED_KEYS.has(key)) continue;
    for (const v of Array.isArray(value) ? value : [value]) add(name, key, key.endsWith("-bin") ? Buffer.from(v, "base64") : v);
  }
  return md;
}

const RESERVED_KEYS = new Set(["authorization", "x-api-token", "x-forwarded-for"]);

const TIMEOUT_UNITS_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

/** `Grpc-Timeout: 5S` (gRPC's TimeoutValue TimeoutUnit) → a deadline; undefined when absent. */
export function deadlineOf(headers: IncomingHttpHeaders, now = Date.now()): Date | undefined {
  const value = headers["grpc-timeout"];
  if (value === undefined) return undefined;
  const m = typeof value === "string" ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (m === null) throw new BindingError("Grpc-Timeout", `expected up to 8 digits and a unit H, M, S, m, u or n, e.g. "5S" (got ${echo(String(value))})`);
  return new Date(now + Number(m[1]) * TIMEOUT_UNITS_MS[m[2]!]!);
}
