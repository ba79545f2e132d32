import { status } from "@grpc/grpc-js";
import { DEFAULT_CLIENT_QUOTAS, type ClientConfig } from "../config/clientsFile.js";
import { formatShare, LineQuotaError } from "../ib/feeds/clientLines.js";
import { ApiError } from "./apiError.js";

/**
 * Open server streams per client, against each client's `streams` quota (a client the configuration does
 * not name — `anonymous` — gets the default). One client at its quota is refused more streams; the others
 * keep being served. grpc.health.v1 Watch streams are not counted here (HealthWatchLimits bounds them).
 */
export class StreamQuotas {
  private readonly limits = new Map<string, number>();
  private readonly open = new Map<string, number>();

  constructor(clients: readonly Pick<ClientConfig, "name" | "quotas">[] = []) {
    for (const client of clients) this.limits.set(client.name, client.quotas.streams);
  }

  /** Open streams of `client` (0 when none). */
  openOf(client: string): number {
    return this.open.get(client) ?? 0;
  }

  /**
   * Takes a place for a new stream: the function that gives it back (call it exactly once, when the stream
   * ends by any path), or QUOTA_EXCEEDED when the client already holds its quota.
   */
  acquire(client: string): (() => void) | ApiError {
    const limit = this.limits.get(client) ?? DEFAULT_CLIENT_QUOTAS.streams;
    const held = this.openOf(client);
    if (held >= limit) return quotaExceeded("streams", limit, client);
    this.open.set(client, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.openOf(client) - 1;
      if (left > 0) this.open.set(client, left);
      else this.open.delete(client);
    };
  }
}

function quotaExceeded(quota: "streams", limit: number, client: string): ApiError {
  return new ApiError(
    status.RESOURCE_EXHAUSTED,
    `client ${JSON.stringify(client)} already holds its quota of ${limit} open streams (quota "${quota}"); close one first`,
    "QUOTA_EXCEEDED",
    { quota, limit: String(limit), client },
  );
}

/**
 * A client refused an IB line (the adapter's LineQuotaError): QUOTA_EXCEEDED like the streams quota,
 * with quota `ibLines` (its own cap) or `ibLinesFairShare` (the reserve is left and it holds its fair
 * share; `limit` is the share, `held` what it holds), and the line kind.
 */
export function lineQuotaExceeded(err: LineQuotaError): ApiError {
  const quota = err.rule === "cap" ? "ibLines" : "ibLinesFairShare";
  return new ApiError(status.RESOURCE_EXHAUSTED, err.message, "QUOTA_EXCEEDED", {
    quota,
    limit: formatShare(err.limit),
    client: err.client,
    held: String(err.held),
    kind: err.lineKind,
  });
}
