import { EventEmitter, on } from "node:events";
import { status } from "@grpc/grpc-js";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../../gen/grpc/health/v1/health.js";
import { ApiError, echo } from "../apiError.js";
import type { CallContext } from "../callContext.js";
import { PeerStreamLimits, type StreamLimits } from "../peerStreamLimits.js";

/**
 * Open Watch streams allowed per HTTP/2 connection and in total. Watch needs no token (orchestrators
 * expect that), so without a bound anyone who can connect could hold unbounded server memory: 15,000
 * Watch streams on one connection once took 542 MB. A health checker needs one or two per service.
 */
export type HealthWatchLimits = StreamLimits;

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
  private readonly watches: PeerStreamLimits;

  constructor(services: string[], watchLimits: HealthWatchLimits = DEFAULT_HEALTH_WATCH_LIMITS) {
    this.watches = new PeerStreamLimits(watchLimits, (scope, limit) =>
      watchLimit(
        scope === "connection"
          ? `at most ${limit} Health/Watch streams per connection are open; close one or poll Health/Check`
          : `the server holds its maximum of ${limit} Health/Watch streams; retry later or poll Health/Check`,
        limit,
        scope,
      ),
    );
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
    return this.watches.open;
  }

  async *watch(request: HealthCheckRequest, ctx: CallContext): AsyncGenerator<HealthCheckResponse> {
    const release = this.watches.admit(ctx.peer);
    if (release instanceof ApiError) throw release;
    try {
      yield* this.statusChanges(request.service, ctx);
    } finally {
      release();
    }
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
