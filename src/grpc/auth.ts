import { timingSafeEqual } from "node:crypto";
import { ANONYMOUS_CLIENT_NAME, CLIENT_SCOPES, DEFAULT_CLIENT_SCOPES, defaultClient, sha256, type ClientConfig, type ClientScope } from "../config/clientsFile.js";
import { ApiError, unauthenticated } from "./apiError.js";

/** Who a token belongs to: a named client (clients file, or `default` for PROVIDER_API_TOKEN). */
type KnownClient = Pick<ClientConfig, "name" | "tokenSha256"> & Partial<Pick<ClientConfig, "scopes">>;

/**
 * Bearer-token authentication shared by gRPC and the REST bridge. Accepts `authorization: Bearer <token>`,
 * a bare token in `authorization` (Barfinex accepts that too) and `x-api-token: <token>`.
 * A token is resolved to its client by comparing its SHA-256 digest with every stored digest in constant
 * time, without stopping at a match, so neither content, length nor which client matched leaks through
 * timing. Only digests are kept: the clients file never holds a token.
 */
export class TokenAuthenticator {
  private readonly clients: readonly KnownClient[];

  /** A token (PROVIDER_API_TOKEN, client `default`) or the configured clients; none = authentication off. */
  constructor(clients: string | undefined | readonly KnownClient[]) {
    this.clients = clients === undefined ? [] : typeof clients === "string" ? [defaultClient(clients)] : clients;
  }

  get enabled(): boolean {
    return this.clients.length > 0;
  }

  /** The caller's client name (`anonymous` when authentication is off), or the error to answer with. */
  authenticate(authorization: string | undefined, apiTokenHeader: string | undefined): { client: string; scopes: readonly ClientScope[] } | ApiError {
    // Authentication off (loopback only): every scope but `trade`, which only a named token carries.
    if (!this.enabled) return { client: ANONYMOUS_CLIENT_NAME, scopes: DEFAULT_CLIENT_SCOPES };
    const presented = tokenFrom(authorization) ?? apiTokenHeader?.trim();
    if (presented === undefined || presented === "") {
      return unauthenticated("missing provider API token: send 'Authorization: Bearer <token>' or 'x-api-token: <token>'", "MISSING_TOKEN");
    }
    const digest = sha256(presented);
    let client: KnownClient | undefined;
    for (const known of this.clients) {
      // Every digest is compared (no early exit): the time taken does not say which client, if any, matched.
      if (timingSafeEqual(digest, known.tokenSha256) && client === undefined) client = known;
    }
    return client === undefined ? unauthenticated("invalid provider API token", "INVALID_TOKEN") : { client: client.name, scopes: client.scopes ?? DEFAULT_CLIENT_SCOPES };
  }

  /** Returns undefined when the caller may proceed, or the error to answer with. */
  check(authorization: string | undefined, apiTokenHeader: string | undefined): ApiError | undefined {
    const result = this.authenticate(authorization, apiTokenHeader);
    return result instanceof ApiError ? result : undefined;
  }
}

function tokenFrom(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const value = authorization.trim();
  const bearer = /^bearer\s+(.+)$/i.exec(value);
  return bearer ? bearer[1]!.trim() : value === "" ? undefined : value;
}
