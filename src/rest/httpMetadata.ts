import type { IncomingHttpHeaders } from "node:http";
import { Metadata } from "@grpc/grpc-js";
import { BindingError } from "./requestBinding.js";

const METADATA_PREFIX = "grpc-metadata-";

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
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(METADATA_PREFIX) || value === undefined) continue;
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
  if (m === null) throw new BindingError("Grpc-Timeout", `expected up to 8 digits and a unit H, M, S, m, u or n, e.g. "5S" (got ${JSON.stringify(value)})`);
  return new Date(now + Number(m[1]) * TIMEOUT_UNITS_MS[m[2]!]!);
}
