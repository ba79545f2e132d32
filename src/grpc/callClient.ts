import { status, type Metadata } from "@grpc/grpc-js";
import { ANONYMOUS_CLIENT_NAME } from "../config/clientsFile.js";
import { ApiError } from "./apiError.js";

/**
 * The client the auth interceptor resolved, keyed by the call's metadata object (grpc-js hands the handler
 * the object the interceptor passed on). Not a metadata entry: a caller could send that header itself.
 * With authentication on, the interceptor remembers every call it lets through: the token's client, or
 * `anonymous` for the calls open without a token (health, reflection).
 */
const clients = new WeakMap<Metadata, string>();

export function rememberClient(metadata: Metadata, client: string): void {
  clients.set(metadata, client);
}

/**
 * The call's client. With authentication off every call is `anonymous`. With it on, a metadata object the
 * interceptor never saw (an interceptor that replaced it, e.g. with a clone) fails closed: the call is
 * refused with INTERNAL CLIENT_UNRESOLVED rather than run as `anonymous`, outside its client's quotas and
 * line shares. INTERNAL, not UNAUTHENTICATED: the caller's token was accepted; the server lost track of it,
 * and a caller told to fix its credentials would look in the wrong place.
 */
export function clientOf(metadata: Metadata, authenticated: boolean): string | ApiError {
  const client = clients.get(metadata);
  if (client !== undefined) return client;
  if (!authenticated) return ANONYMOUS_CLIENT_NAME;
  return CLIENT_UNRESOLVED;
}

const CLIENT_UNRESOLVED = new ApiError(
  status.INTERNAL,
  "internal error: the server could not tell which client made this call (its authentication was not carried to the handler); the call was refused rather than run without its client's quotas",
  "CLIENT_UNRESOLVED",
);
