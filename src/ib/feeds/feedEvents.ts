/** What a live feed delivers to its consumers: data, the truth about the data, or a heartbeat. */

export type FeedStatusKind =
  | "subscribed"
  | "live"
  | "delayed"
  | "frozen"
  | "stale"
  | "gap"
  | "reconnecting"
  | "competing-session"
  | "limit-exceeded"
  | "book-reset"
  | "advisory";

export interface FeedStatus {
  kind: FeedStatusKind;
  atMs: number;
  message: string;
  /** The IB message code behind the status, if any. */
  ibCode?: number;
  /** For "stale": how long no data has arrived. */
  sinceLastDataMs?: number;
}

export type FeedEvent<T> =
  | { type: "data"; value: T }
  | { type: "status"; status: FeedStatus }
  | { type: "heartbeat"; atMs: number; lastDataMs: number | undefined };
