import type { IBApi } from "@stoqey/ib";
import type { Logger } from "../../log/logger.js";
import { IbError } from "../ibErrors.js";
import type { RequestRouter } from "../connection/requestRouter.js";
import type { FeedSink } from "../../stream/feedSource.js";
import type { LineBudget } from "./lineBudget.js";

/** What every feed source needs to talk to IB. */
export interface FeedContext {
  api: IBApi;
  router: RequestRouter;
  budget: LineBudget;
  now: () => number;
  log: Logger;
  isConnected: () => boolean;
}

/** One-shot requests (contract details, history) fail fast while the Gateway is away instead of queueing. */
export function requireConnected(ctx: Pick<FeedContext, "isConnected">, what: string): void {
  if (!ctx.isConnected()) throw new IbError("unavailable", `not connected to the Gateway (reconnecting): cannot request ${what} now`);
}

/**
 * Routes IB messages for a subscription's request id into its sink: terminal codes end the feed with a
 * typed error; advisories become statuses and the stream goes on (10090/10167 never end it).
 */
export function routeMessages<T>(ctx: FeedContext, reqId: number, sink: FeedSink<T>, what: string, onBookReset?: () => void): void {
  ctx.router.onMessage(reqId, (code, message, cls) => {
    switch (cls.severity) {
      case "terminal":
        sink.fail(new IbError(cls.kind, `${what}: ${message}`, code));
        return;
      case "advisory":
        if (cls.status === "book-reset") {
          onBookReset?.();
          sink.status("book-reset", message, code);
        } else if (cls.status === "bust") sink.restart(`IB bust event: ${message}; resubscribed`, code);
        else if (cls.status === "delayed") sink.status("delayed", message, code);
        else if (cls.status === "competing-session") sink.status("competing-session", message, code);
        else sink.status("advisory", message, code);
        return;
      case "info":
        ctx.log.debug({ reqId, code, message }, "IB info for a feed");
    }
  });
}
