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
  // Placing, previewing (a what-if is an order at IB: it takes an order id and IB's order-rate budget),
  // modifying, cancelling, the kill switch and its release.
  "ibprovider.v1.OrderService": "trade",
};

/**
 * Methods that need one of several scopes instead of their service's. OrderService's reads need `account` or
 * `trade`: orders and fills are account data, as positions are (a risk view with `account` sees them and can
 * change nothing), and a trading client sees its orders anyway in what PlaceOrder and CancelOrder answer, so
 * refusing it the reads would protect nothing.
 */
const SCOPES_OF_METHOD: Readonly<Record<string, readonly ClientScope[]>> = Object.fromEntries(
  ["GetOrder", "ListOrders", "ListExecutions", "StreamOrders", "GetTradingStatus"].map((m) => [`/ibprovider.v1.OrderService/${m}`, ["account", "trade"]]),
);

/**
 * Undefined when a client holding `scopes` may call `path` ("/pkg.Service/Method"), else PERMISSION_DENIED
 * SCOPE_MISSING naming the scope (scopes that each suffice joined by "|"). A service not listed (none today
 * besides the open health and reflection) needs every scope: a new service is closed to scoped clients until
 * it is given a scope here.
 */
export function scopeRefusal(path: string, client: string, scopes: readonly ClientScope[]): ApiError | undefined {
  const service = path.slice(1, path.indexOf("/", 1));
  const anyOf = SCOPES_OF_METHOD[path] ?? (SCOPE_OF_SERVICE[service] === undefined ? undefined : [SCOPE_OF_SERVICE[service]]);
  if (anyOf !== undefined ? anyOf.some((s) => scopes.includes(s)) : CLIENT_SCOPES.every((s) => scopes.includes(s))) return undefined;
  const scope = anyOf?.join("|") ?? CLIENT_SCOPES.join(",");
  const needs = (anyOf ?? [scope]).map((s) => JSON.stringify(s)).join(" or ");
  const what = SCOPES_OF_METHOD[path] !== undefined ? path.slice(1).replace("/", ".") : service;
  return new ApiError(status.PERMISSION_DENIED, `client ${JSON.stringify(client)} may not call ${what}: it needs scope ${needs} (the client's scopes: ${scopes.join(", ")})`, "SCOPE_MISSING", { scope, client });
}
