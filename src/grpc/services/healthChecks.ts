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
 * grpc.health.v1.Health (open without a token, as health checks are). "" is the whole server; each
 * ibprovider service is listed by its full name. Watch streams end on shutdown like every other stream.
 */
export class HealthChecks {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly changes = new EventEmitter<{ change: [string] }>();
  private shuttingDown = false;

  constructor(services: string[]) {
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

  async *watch(request: HealthCheckRequest, ctx: CallContext): AsyncGenerator<HealthCheckResponse> {
    const current = () => this.statuses.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN;
    let last = current();
    yield { status: last };
    try {
      for await (const [service] of on(this.changes, "change", { signal: ctx.signal })) {
        if (service !== request.service || current() === last) continue;
        last = current();
        yield { status: last };
      }
    } catch (err) {
      if (!ctx.signal.aborted) throw err;
    }
  }
}
