import { timingSafeEqual, createHash } from "node:crypto";
import { ApiError, unauthenticated } from "./apiError.js";

/**
 * Bearer-token authentication shared by gRPC and the REST bridge. Accepts `authorization: Bearer <token>`,
 * a bare token in `authorization` (Barfinex accepts that too) and `x-api-token: <token>`.
 * Tokens are compared in constant time over their SHA-256 digests, so neither content nor length leaks
 * through timing.
 */
export class TokenAuthenticator {
  private readonly expected: Buffer | undefined;

  constructor(token: string | undefined) {
    this.expected = token === undefined ? undefined : digest(token);
  }

  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /** Returns undefined when the caller may proceed, or the error to answer with. */
  check(authorization: string | undefined, apiTokenHeader: string | undefined): ApiError | undefined {
    if (this.expected === undefined) return undefined;
    const presented = tokenFrom(authorization) ?? apiTokenHeader?.trim();
    if (presented === undefined || presented === "") {
      return unauthenticated("missing provider API token: send 'Authorization: Bearer <token>' or 'x-api-token: <token>'", "MISSING_TOKEN");
    }
    if (!timingSafeEqual(digest(presented), this.expected)) {
      return unauthenticated("invalid provider API token", "INVALID_TOKEN");
    }
    return undefined;
  }
}

function tokenFrom(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const value = authorization.trim();
  const bearer = /^bearer\s+(.+)$/i.exec(value);
  return bearer ? bearer[1]!.trim() : value === "" ? undefined : value;
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}
