import { EventName, type IBApi } from "@stoqey/ib";
import type { Logger } from "../log/logger.js";
import { classifyIbCode, type IbCodeClass } from "./ibErrors.js";

/** Receives IB messages (code 4 ERR_MSG) addressed to one request id. */
export type RequestMessageSink = (code: number, message: string, cls: IbCodeClass) => void;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- @stoqey/ib event listeners are untyped varargs
type Listener = (...args: any[]) => void;

/**
 * One listener per IB event type, dispatching by request id through a map: O(1) per message however many
 * subscriptions are open (instead of N listeners each filtering by id), and request ids that are unique
 * for the life of the process so a late message for a finished request can never reach a new one.
 */
export class RequestRouter {
  private nextId = 10_000;
  private readonly routes = new Map<string, Map<number, Listener>>();
  private readonly sinks = new Map<number, RequestMessageSink>();

  constructor(
    private readonly api: IBApi,
    private readonly log: Logger,
  ) {
    api.on(EventName.error, (err: Error, code: number, reqId: number) => {
      if (reqId === undefined || reqId < 0) return; // connection-level: GatewayConnection handles it
      const sink = this.sinks.get(reqId);
      const cls = classifyIbCode(code, err.message);
      if (sink === undefined) {
        this.log.debug({ reqId, code, message: err.message }, "IB message for no open request");
        return;
      }
      sink(code, err.message, cls);
    });
  }

  allocateId(): number {
    return this.nextId++;
  }

  /** Routes `event` messages whose first argument is `reqId` to `listener`. */
  on(event: EventName, reqId: number, listener: Listener): void {
    let byId = this.routes.get(event);
    if (byId === undefined) {
      const map = new Map<number, Listener>();
      byId = map;
      this.routes.set(event, map);
      // IBApi.on is overloaded per event name; the generic form is what a router needs.
      (this.api as unknown as { on(event: string, listener: Listener): void }).on(event, (id: number, ...rest: unknown[]) => map.get(id)?.(...rest));
    }
    byId.set(reqId, listener);
  }

  onMessage(reqId: number, sink: RequestMessageSink): void {
    this.sinks.set(reqId, sink);
  }

  /** Stops routing anything for this id. */
  release(reqId: number): void {
    for (const byId of this.routes.values()) byId.delete(reqId);
    this.sinks.delete(reqId);
  }

  get openRequests(): number {
    return this.sinks.size;
  }
}
