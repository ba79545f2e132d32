import type { JournalPosition } from "./feedJournal.js";
import type { ConsumerTooSlowError } from "./overflowPolicy.js";
import type { ReplayStart } from "./replayCursor.js";
import type { StreamSettings } from "./streamSettings.js";

/** One consumer's terms: the stream settings it is held to (defaults: DEFAULT_STREAM_SETTINGS). */
export interface ConsumerOptions<T = unknown> extends Partial<Pick<StreamSettings, "maxQueued" | "heartbeatMs" | "staleAfterMs">> {
  signal: AbortSignal;
  /** The consumer fell maxQueued events behind a "fail" feed (its iteration throws it on its next read). */
  onOverflow?: (error: ConsumerTooSlowError) => void;
  /** The data this consumer wants (see FeedCursorOptions.accepts). */
  accepts?: (value: T) => boolean;
  /** Start in the past: the recorded events from a time or after a sequence, then live (see ReplayCursor). */
  start?: ReplayStart;
  /**
   * A holder, not a reader (an edge's lease on the provider, src/bus): the consumer gets its join events
   * (its "subscribed" status, the state) as any joiner, then holds the feed open without reading it — it
   * holds no events and cannot overflow — until it is closed or the feed fails (its iteration then ends,
   * or throws the failure). Called at once with where the feed's recorded rows continue after the join:
   * whoever reads them elsewhere (the bus) continues this consumer's stream there. Needs a recorded feed.
   */
  hold?: (joined: FeedJoin) => void;
}

/** Where a holder joined a feed: its key, the epoch, and the recorded position its join events stand for. */
export interface FeedJoin {
  key: string;
  /** The symbol the feed's recorded bytes carry (FeedJournal.symbol). */
  symbol: string;
  epoch: number;
  after: JournalPosition;
}

/** A replay was asked of a feed that records nothing (the service runs without a store). */
export class ReplayUnavailableError extends Error {
  constructor(key: string) {
    super(`the feed ${key} is not recorded: it cannot start in the past`);
    this.name = "ReplayUnavailableError";
  }
}
