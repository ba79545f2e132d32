import { status } from "@grpc/grpc-js";
import { CLIENT_SCOPES, type ClientScope } from "../config/clientsFile.js";
import { ApiError } from "./apiError.js";

/** The scope each of our services needs (clientsFile.ts CLIENT_SCOPES says what each covers). */
const SCOPE_OF_SERVICE: Readonly<Record<string, ClientScope>> = {
  "ibprovider.v1.MarketDataService": "market-data",
  "ibprovider.v1.SymbolService": "market-data",
  "ibprovider.v1.AccountService": "account",
  "ibprovider.v1.StoreService": "store",
  "ibprovider.v1.RuntimeService": "runtime",
};

/**
 * Undefined when a client holding `scopes` may call `path` ("/pkg.Service/Method"), else PERMISSION_DENIED
 * SCOPE_MISSING naming the scope. A service not listed (none today besides the open health and reflection)
 * needs every scope: a new service is closed to scoped clients until it is given a scope here.
 */
export function scopeRefusal(path: string, client: string, scopes: readonly ClientScope[]): ApiError | undefined {
  const service = path.slice(1, path.indexOf("/", 1));
  const needed = SCOPE_OF_SERVICE[service];
  if (needed !== undefined ? scopes.includes(needed) : CLIENT_SCOPES.every((s) => scopes.includes(s))) return undefined;
  const scope = needed ?? CLIENT_SCOPES.join(",");
  return new ApiError(status.PERMISSION_DENIED, `client ${JSON.stringify(client)} may not call ${service}: it needs scope "${scope}" (the client's scopes: ${scopes.join(", ")})`, "SCOPE_MISSING", { scope, client });
}
