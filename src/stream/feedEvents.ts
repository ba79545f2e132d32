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
  | "advisory"
  /** The upstream request is held back (a settling connection, a pacing budget): `message` says what for, `untilMs` until when. */
  | "waiting"
  /** A replay (from a time or a sequence) has delivered every recorded event asked for: what follows is live. */
  | "replay-complete";

export interface FeedStatus {
  kind: FeedStatusKind;
  atMs: number;
  message: string;
  /** The IB message code behind the status, if any. */
  ibCode?: number;
  /** For "stale": how long no data has arrived. */
  sinceLastDataMs?: number;
  /** For "waiting" (and "stale" while waiting): when the wait is expected to end (an estimate). */
  untilMs?: number;
  /** For "subscribed" and "replay-complete": the epoch of the feed's numbering (see FeedJournal). */
  epoch?: number;
}

export type FeedEvent<T> =
  /**
   * `seq` numbers the feed's data, +1 per event, the same for every consumer and never reset while the
   * feed lives (not even across reconnects): a jump tells a consumer it missed (or had conflated) events.
   * A state handed to a joiner or a lagging consumer carries the seq of the last event it includes.
   */
  | { type: "data"; value: T; seq: number }
  | { type: "status"; status: FeedStatus }
  | { type: "heartbeat"; atMs: number; lastDataMs: number | undefined }
  /**
   * A recorded event, replayed from the feed's journal: its bytes as the API encodes them for `symbol`
   * (opaque to the stream core); `seq` as it was numbered (0 for a status).
   */
  | { type: "recorded"; seq: number; data: boolean; bytes: Uint8Array; symbol: string };
