import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "../log/logger.js";
import type { FeedJoin } from "../stream/consumerOptions.js";

/**
 * What a handler knows about its call. `signal` aborts when the client cancels, the deadline passes or the
 * server shuts down, and at the latest when the call ends; stream handlers stop on it and release what they
 * hold in `finally`, and work a call started and no longer needs (queued history requests) is withdrawn.
 */
export interface CallContext {
  readonly method: string;
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  readonly peer: string;
  /** The caller's client name (clients file, `default` for PROVIDER_API_TOKEN, `anonymous` without auth). */
  readonly client: string;
  readonly log: Logger;
  /**
   * Ends the call now with this error, even while a stream waits for a client that does not read (e.g. a
   * consumer that fell too far behind: it would otherwise learn it only after its next read).
   */
  fail(error: Error): void;
  /**
   * Set on a stream an edge holds a lease with (the provider's bus code opened it, src/bus/providerLeases):
   * the stream joins its feed as a holder (ConsumerOptions.hold) — its join events, then nothing until it
   * ends — and says where the feed's recorded rows continue; the edge serves the rest from the bus.
   */
  readonly lease?: { joined(join: FeedJoin): void };
}

/** Why a call's signal was aborted: the client, the server stopping, or an error the call ends with. */
export type AbortReason = "cancelled" | "shutdown" | Error;

/** Open calls, so that shutdown can end every stream instead of waiting forever on live feeds. */
export type CallKind = "unary" | "stream";

export class CallRegistry {
  private readonly open = new Map<AbortController, CallKind>();
  private closing = false;

  get size(): number {
    return this.open.size;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  register(kind: CallKind): AbortController {
    const controller = new AbortController();
    if (this.closing) controller.abort("shutdown" satisfies AbortReason);
    else this.open.set(controller, kind);
    return controller;
  }

  release(controller: AbortController): void {
    this.open.delete(controller);
  }

  /**
   * Aborts open calls of a kind (all when omitted) with reason "shutdown"; from then on new calls are
   * aborted at once. Streams go first (they never end by themselves); unary calls get the grace period.
   */
  abortAll(kind?: CallKind): void {
    this.closing = true;
    for (const [controller, k] of this.open) if (kind === undefined || k === kind) controller.abort("shutdown" satisfies AbortReason);
  }
}
