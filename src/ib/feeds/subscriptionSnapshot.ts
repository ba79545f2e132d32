/** A live IB subscription shared by its consumers, as the runtime status reports it. */
export type SubscriptionKind = "candle" | "trade" | "orderBook" | "tick" | "account" | "orders";

export interface SubscriptionSnapshot {
  key: string;
  kind: SubscriptionKind;
  marketType: string;
  symbol: string;
  /** Candle interval name, "" for other kinds. */
  interval: string;
  consumers: number;
  configured: boolean;
  lastMessageAt: Date | undefined;
  /** The feed's last data event's sequence (0 before the first) and its numbering's epoch. */
  lastSequence: number;
  epoch: number;
  /** e.g. "live", "delayed", "stale", "reconnecting", "waiting". */
  state: string;
  /** Whether the subscription is requested at IB now (false while reconnecting, held back or retrying). */
  requestedAtIb: boolean;
  /** While "waiting": what for, and until when if known. */
  waiting: { message: string; untilMs: number | undefined } | undefined;
}
