/** What a streaming feed needs from its session, and what a session needs from a feed. */
import type { IbError } from "../errors.js";
import type { Entitlement, InstrumentSpec, Market } from "../market/types.js";
import type { Field } from "../wire/fields.js";

export interface FeedContext {
  /** Negotiated server version. */
  readonly sv: number;
  readonly market: Market;
  send(fields: Field[]): void;
  error(id: number, e: IbError, suffix?: string): void;
  /** Simulated market time, epoch ms. */
  now(): number;
  entitlement(inst: InstrumentSpec): Entitlement;
}

export type SubscriptionKind = "mktData" | "depth" | "tickByTick" | "history" | "realTimeBars" | "accountSummary" | "accountMulti" | "pnl" | "pnlSingle";

export interface Subscription {
  readonly reqId: number;
  readonly kind: SubscriptionKind;
  readonly instrument?: InstrumentSpec;
  /** Wall-clock ms until which the feed sends nothing (fault injection). */
  stalledUntil: number;
  /** Sends whatever changed up to `nowMs`. */
  pump(nowMs: number): void;
  /** Releases resources; no message is sent. */
  close?(): void;
}
