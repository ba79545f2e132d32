import { EventEmitter } from "node:events";
import type { IBApi } from "@stoqey/ib";
import { createLogger } from "../../log/logger.js";
import { RequestRouter } from "../connection/requestRouter.js";
import type { FeedContext } from "../feeds/feedContext.js";
import { DEFAULT_LINE_LIMITS, LineBudget, type LineLimits } from "../feeds/lineBudget.js";

/** One outbound call the adapter made, as @stoqey/ib's IBApi method and its arguments. */
export interface SentCall {
  method: string;
  args: unknown[];
}

type Answer = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any -- IBApi methods take untyped varargs here

/**
 * The recorded-message seam: an IBApi stand-in that records every request the adapter sends and answers it
 * with messages a test scripts (IB's events as @stoqey/ib emits them), for what the simulator does not model
 * yet. The adapter's own RequestRouter, LineBudget and feed code run unchanged on top of it.
 */
export class RecordedGateway {
  readonly sent: SentCall[] = [];
  private readonly emitter = new EventEmitter();
  private readonly answers = new Map<string, Answer>();
  readonly api: IBApi;

  constructor() {
    this.emitter.setMaxListeners(0);
    const emitter = this.emitter;
    this.api = new Proxy({} as IBApi, {
      get: (_target, name: string) => {
        if (name === "on" || name === "off" || name === "once" || name === "removeListener" || name === "emit") return emitter[name].bind(emitter);
        return (...args: unknown[]) => {
          this.sent.push({ method: name, args });
          this.answers.get(name)?.(...args);
          return this.api;
        };
      },
    });
  }

  /** How IB answers `method` (called synchronously with the request's arguments; emit from it, or later). */
  answer(method: string, answer: Answer): this {
    this.answers.set(method, answer);
    return this;
  }

  /** An IB message as @stoqey/ib emits it (e.g. EventName.tickPrice, reqId, tickType, price). */
  emit(event: string, ...args: unknown[]): void {
    this.emitter.emit(event, ...args);
  }

  /** An IB error message for a request id (code 354, 200, ...). */
  error(reqId: number, code: number, message: string): void {
    this.emitter.emit("error", new Error(message), code, reqId);
  }

  calls(method: string): unknown[][] {
    return this.sent.filter((c) => c.method === method).map((c) => c.args);
  }

  /** A feed context over this gateway, connected, with the given line limits. */
  context(limits: LineLimits = DEFAULT_LINE_LIMITS, now: () => number = Date.now): FeedContext & { budget: LineBudget } {
    const log = createLogger("silent");
    return { api: this.api, router: new RequestRouter(this.api, log), budget: new LineBudget(limits), now, log, isConnected: () => true };
  }
}
