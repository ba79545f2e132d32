import type { Logger } from "../log/logger.js";

/**
 * One line per call, for gRPC and REST alike: who called (the client's name — from the clients file,
 * `default` for PROVIDER_API_TOKEN, `anonymous` without authentication, `(unauthenticated)` for a rejected
 * token — and the peer's address; the REST bridge adds the HTTP client's in `forwardedFor`), what (the gRPC method, or the REST route's template — never the raw
 * path or query, which may carry an account id), how it ended, how long it took and the bytes sent.
 * Never a header, a token or a request field.
 */
export interface AccessEntry {
  /** "grpc" or "rest". */
  protocol: "grpc" | "rest";
  /** The client's name, never its token. */
  client: string;
  /** The caller's address (host:port). */
  peer: string;
  forwardedFor?: string;
  method: string;
  /** REST: the matched route template ("/api/candles/{connector_type}/…"), or "(no route)". */
  route?: string;
  /** gRPC: the status code's name (OK, INVALID_ARGUMENT, …); REST: the HTTP status. */
  status: string | number;
  ms: number;
  /** Response bytes: protobuf messages for gRPC, bytes written to the socket for REST. */
  bytesOut: number;
  /** Request body bytes (REST). */
  bytesIn?: number;
  /** Messages sent on a server stream. */
  messages?: number;
}

/**
 * The access log's level: debug by default (LOG_LEVEL=debug shows it with everything else), info with
 * ACCESS_LOG=on, so operators can have the access lines without the debug noise.
 */
export class AccessLog {
  private readonly level: "info" | "debug";

  constructor(
    private readonly log: Logger,
    atInfo = false,
  ) {
    this.level = atInfo ? "info" : "debug";
  }

  /** Whether a line would be written (callers skip measuring what would not be logged). */
  get enabled(): boolean {
    return this.log.isLevelEnabled(this.level);
  }

  write(entry: AccessEntry): void {
    if (this.enabled) this.log[this.level]({ access: { ...entry, ms: Math.round(entry.ms * 10) / 10 } }, entry.protocol === "grpc" ? `gRPC ${entry.method} ${entry.status}` : `REST ${entry.method} ${entry.route ?? ""} ${entry.status}`);
  }
}
