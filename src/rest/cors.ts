import type { RequestHandler } from "express";

const ALLOWED_HEADERS = "Authorization, X-Api-Token, Content-Type, Accept, Grpc-Timeout";

/**
 * CORS for the configured origins ("*" = any). A preflight (OPTIONS with Access-Control-Request-Method)
 * from an allowed origin is answered here, before any token check: browsers never send credentials on
 * a preflight. Other origins get no CORS headers, so browsers refuse them.
 */
export function cors(origins: readonly string[]): RequestHandler {
  const any = origins.includes("*");
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined || !(any || origins.includes(origin))) {
      next();
      return;
    }
    res.set("Access-Control-Allow-Origin", any ? "*" : origin);
    // A page may read when to retry a refused call (RetryInfo's delay): not a CORS-safelisted header.
    res.set("Access-Control-Expose-Headers", "Retry-After");
    if (!any) res.append("Vary", "Origin");
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      res.set({
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
      });
      res.status(204).end();
      return;
    }
    next();
  };
}
