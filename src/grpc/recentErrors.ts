import { status } from "@grpc/grpc-js";
import { maskAccountId } from "../domain/accountMask.js";
import type { ApiError } from "./apiError.js";

/** How many failed calls are kept (the newest). */
export const RECENT_ERRORS_KEPT = 50;

/** Longest message kept: messages echo request values already truncated, this bounds the whole. */
const MESSAGE_CHARS = 300;

/** IB account ids (U1234567, DU1234567, F…/DF… for advisors) as they may appear in a message. */
const ACCOUNT_ID = /\b(?:DU|DF|U|F)\d{5,}\b/g;

/** `text` with every IB account id in it masked as in logs. */
export function maskAccountIds(text: string): string {
  return text.replace(ACCOUNT_ID, (id) => maskAccountId(id));
}

export interface RecentError {
  atMs: number;
  /** "ibprovider.v1.MarketDataService.GetCandles". */
  method: string;
  client: string;
  code: status;
  reason: string;
  message: string;
}

/**
 * The last failed calls with their reasons, newest first: what an operator asks first when a strategy
 * says "it failed" (the console's overview shows them; RuntimeService.ListRecentErrors). A client that
 * went away (CANCELLED) is not a failure of the service. Account ids in messages are masked as in logs.
 */
export class RecentErrors {
  readonly #kept: RecentError[] = [];

  constructor(private readonly capacity = RECENT_ERRORS_KEPT) {}

  record(method: string, client: string, error: ApiError, atMs = Date.now()): void {
    if (error.code === status.CANCELLED || error.code === status.OK) return;
    const message = maskAccountIds(error.message);
    this.#kept.unshift({ atMs, method, client, code: error.code, reason: error.reason, message: message.length > MESSAGE_CHARS ? `${message.slice(0, MESSAGE_CHARS)}…` : message });
    if (this.#kept.length > this.capacity) this.#kept.length = this.capacity;
  }

  list(): readonly RecentError[] {
    return this.#kept;
  }
}
