import { EventName, type IBApi } from "@stoqey/ib";
import type { Logger } from "../../log/logger.js";
import { classifyIbCode, IbError, type IbCodeClass } from "../ibErrors.js";

/** A request IB answers once (contract details, history, historical ticks), as `RequestRouter.request` runs it. */
export interface OneShotRequest<T> {
  /** For messages: "history for AAPL". */
  what: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Registers the answer's routes (with `router.on(event, reqId, …)`); call `end()` on IB's end marker. */
  listen(reqId: number, end: () => void): void;
  /** The value to resolve with once the answer has ended. */
  result(): T;
  send(reqId: number): void;
  /** Tells IB to stop (e.g. cancelHistoricalData) when the request is abandoned in flight. */
  cancel?(reqId: number): void;
  /** How a terminal IB message for this request becomes an error; "no data" ends it empty unless mapped. */
  mapError?(code: number, message: string, cls: Extract<IbCodeClass, { severity: "terminal" }>): IbError | "end";
}

/** Receives IB messages (code 4 ERR_MSG) addressed to one request id. */
export type RequestMessageSink = (code: number, message: string, cls: IbCodeClass) => void;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- @stoqey/ib event listeners are untyped varargs
type Listener = (...args: any[]) => void;

/** The first request id (see RequestRouter.nextId); order ids stay below it (orders/orderDesk.ts). */
export const FIRST_REQUEST_ID = 1_000_000_000;

/**
 * One listener per IB event type, dispatching by request id through a map: O(1) per message however many
 * subscriptions are open (instead of N listeners each filtering by id), and request ids that are unique
 * for the life of the process so a late message for a finished request can never reach a new one.
 */
export class RequestRouter {
  /**
   * IB's error messages name a request id or an order id in one field: request ids start far above any order
   * id (orders are numbered from IB's nextValidId, a login's count of orders), so neither is taken for the other.
   */
  private nextId = FIRST_REQUEST_ID;
  private readonly routes = new Map<string, Map<number, Listener>>();
  private readonly sinks = new Map<number, RequestMessageSink>();
  /** One-shot requests in flight, by id: how to settle each. */
  private readonly pending = new Map<number, (err?: IbError) => void>();

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

  /**
   * Runs a one-shot request: a fresh id, its routes, IB's terminal messages as typed errors, a timeout and
   * the caller's abort (both cancel at IB when it can), and the id released however it ends: never a
   * promise that does not settle, never a late answer reaching another request.
   */
  request<T>(spec: OneShotRequest<T>): Promise<T> {
    const reqId = this.allocateId();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err?: IbError) => {
        if (settled) return;
        let value: T | undefined;
        if (err === undefined) {
          try {
            value = spec.result();
          } catch (e) {
            err = e instanceof IbError ? e : new IbError("internal", `${spec.what}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        settled = true;
        clearTimeout(timer);
        spec.signal?.removeEventListener("abort", onAbort);
        this.pending.delete(reqId);
        this.release(reqId);
        if (err) reject(err);
        else resolve(value as T);
      };
      const abandon = (err: IbError) => {
        spec.cancel?.(reqId);
        finish(err);
      };
      const timer = setTimeout(() => abandon(new IbError("timeout", `IB did not answer (${spec.what}) within ${spec.timeoutMs} ms`)), spec.timeoutMs);
      timer.unref();
      const onAbort = () => abandon(new IbError("cancelled", `${spec.what}: cancelled`));
      spec.signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(reqId, finish);
      spec.listen(reqId, () => finish());
      this.onMessage(reqId, (code, message, cls) => {
        if (cls.severity !== "terminal") return;
        const mapped = spec.mapError?.(code, message, cls) ?? (cls.kind === "no-data" ? "end" : new IbError(cls.kind, `${spec.what}: ${message}`, code));
        finish(mapped === "end" ? undefined : mapped);
      });
      try {
        spec.send(reqId);
      } catch (e) {
        finish(e instanceof IbError ? e : new IbError("internal", `${spec.what}: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  /**
   * Fails every one-shot request still waiting for IB (the connection was lost or the service stops):
   * the next session will never answer them, so nobody should wait out a timeout.
   */
  failPending(error: IbError): void {
    for (const finish of [...this.pending.values()]) finish(error);
  }

  get openRequests(): number {
    return this.sinks.size;
  }
}
