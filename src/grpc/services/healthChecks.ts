import { EventEmitter, on } from "node:events";
import { status } from "@grpc/grpc-js";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../../gen/grpc/health/v1/health.js";
import { ApiError, echo } from "../apiError.js";
import type { CallContext } from "../callContext.js";

/**
 * Open Watch streams allowed per HTTP/2 connection and in total. Watch needs no token (orchestrators
 * expect that), so without a bound anyone who can connect could hold unbounded server memory: 15,000
 * Watch streams on one connection once took 542 MB. A health checker needs one or two per service.
 */
export interface HealthWatchLimits {
  perConnection: number;
  total: number;
}

export const DEFAULT_HEALTH_WATCH_LIMITS: HealthWatchLimits = { perConnection: 16, total: 1_000 };

/**
 * grpc.health.v1.Health (open without a token, as health checks are). "" is the whole server; each
 * ibprovider service is listed by its full name. Watch streams end on shutdown like every other stream,
 * and are bounded per connection and in total (RESOURCE_EXHAUSTED HEALTH_WATCH_LIMIT beyond).
 */
export class HealthChecks {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly changes = new EventEmitter<{ change: [string] }>();
  private shuttingDown = false;
  /** Open Watch streams by connection (the peer's address and port). */
  private readonly watchesByPeer = new Map<string, number>();
  private watchCount = 0;

  constructor(
    services: string[],
    private readonly watchLimits: HealthWatchLimits = DEFAULT_HEALTH_WATCH_LIMITS,
  ) {
    this.changes.setMaxListeners(0);
    this.statuses.set("", ServingStatus.SERVING);
    for (const name of services) this.statuses.set(name, ServingStatus.SERVING);
  }

  setStatus(service: string, serving: ServingStatus): void {
    if (this.statuses.get(service) === serving) return;
    this.statuses.set(service, serving);
    this.changes.emit("change", service);
  }

  /** The ib-provider services (not the server as a whole) follow the Gateway connection. */
  setServicesServing(serving: boolean): void {
    if (this.shuttingDown) return; // a reconnect during shutdown must not advertise SERVING again
    for (const service of this.statuses.keys()) {
      if (service !== "") this.setStatus(service, serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    }
  }

  /** Marks everything NOT_SERVING (shutdown): load balancers stop sending new calls. */
  setAllNotServing(): void {
    this.shuttingDown = true;
    for (const service of this.statuses.keys()) this.setStatus(service, ServingStatus.NOT_SERVING);
  }

  async check(request: HealthCheckRequest): Promise<HealthCheckResponse> {
    const serving = this.statuses.get(request.service);
    if (serving === undefined) throw new ApiError(status.NOT_FOUND, `unknown service ${echo(request.service)}`, "UNKNOWN_SERVICE");
    return { status: serving };
  }

  /** Open Watch streams: in total, and on the busiest connection. */
  get openWatches(): { total: number; maxPerConnection: number } {
    return { total: this.watchCount, maxPerConnection: Math.max(0, ...this.watchesByPeer.values()) };
  }

  async *watch(request: HealthCheckRequest, ctx: CallContext): AsyncGenerator<HealthCheckResponse> {
    this.admitWatch(ctx.peer);
    try {
      yield* this.statusChanges(request.service, ctx);
    } finally {
      this.releaseWatch(ctx.peer);
    }
  }

  private admitWatch(peer: string): void {
    const onConnection = this.watchesByPeer.get(peer) ?? 0;
    const { perConnection, total } = this.watchLimits;
    if (onConnection >= perConnection) {
      throw watchLimit(`at most ${perConnection} Health/Watch streams per connection are open; close one or poll Health/Check`, perConnection, "connection");
    }
    if (this.watchCount >= total) {
      throw watchLimit(`the server holds its maximum of ${total} Health/Watch streams; retry later or poll Health/Check`, total, "server");
    }
    this.watchesByPeer.set(peer, onConnection + 1);
    this.watchCount++;
  }

  private releaseWatch(peer: string): void {
    this.watchCount--;
    const left = (this.watchesByPeer.get(peer) ?? 1) - 1;
    if (left > 0) this.watchesByPeer.set(peer, left);
    else this.watchesByPeer.delete(peer);
  }

  private async *statusChanges(service: string, ctx: CallContext): AsyncGenerator<HealthCheckResponse> {
    const current = () => this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
    let last = current();
    yield { status: last };
    try {
      for await (const [changed] of on(this.changes, "change", { signal: ctx.signal })) {
        if (changed !== service || current() === last) continue;
        last = current();
        yield { status: last };
      }
    } catch (err) {
      if (!ctx.signal.aborted) throw err;
    }
  }
}

function watchLimit(message: string, limit: number, scope: "connection" | "server"): ApiError {
  return new ApiError(status.RESOURCE_EXHAUSTED, message, "HEALTH_WATCH_LIMIT", { limit: String(limit), scope });
}
