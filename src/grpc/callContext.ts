import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "../log/logger.js";

/**
 * What a handler knows about its call. `signal` aborts when the client cancels, the deadline passes or the
 * server shuts down; stream handlers stop on it and release what they hold in `finally`.
 */
export interface CallContext {
  readonly method: string;
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  readonly peer: string;
  readonly log: Logger;
}

/** Why a call's signal was aborted. */
export type AbortReason = "cancelled" | "shutdown";

/** Open calls, so that shutdown can end every stream instead of waiting forever on live feeds. */
export class CallRegistry {
  private readonly open = new Set<AbortController>();
  private closing = false;

  get size(): number {
    return this.open.size;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  register(): AbortController {
    const controller = new AbortController();
    if (this.closing) controller.abort("shutdown" satisfies AbortReason);
    else this.open.add(controller);
    return controller;
  }

  release(controller: AbortController): void {
    this.open.delete(controller);
  }

  /** Aborts every open call with reason "shutdown"; new calls are aborted at once. */
  abortAll(): void {
    this.closing = true;
    for (const controller of this.open) controller.abort("shutdown" satisfies AbortReason);
  }
}
