import type { FeedJournal, JournalEpoch, JournalPosition, JournalStore, RecordedEvent } from "./feedJournal.js";

/**
 * A seam beside the journal: every row a feed instance records (data, statuses, snapshot rows, encoded
 * once by its FeedRecorder, in order, in the recorder's batches) is also handed to a tap — the bus in the
 * provider role (src/bus). The stream core knows nothing of the transport; the bytes stay opaque.
 */

/** The feed instance a tap is opened for (as the journal store is asked to open it). */
export interface TappedFeed {
  /** The feed key (`tick/<conId>`, `book/<conId>/<rows>`, `account/<id>`, …). */
  key: string;
  /** The kind of feed (tick, trade, orderBook, candle, account). */
  kind: string;
  /** The symbol the recorded bytes carry. */
  symbol: string;
  /** The epoch of this instance's numbering: with a row's position, the event's identity everywhere. */
  epoch: number;
}

/** One feed instance's outlet. */
export interface FeedTap {
  /**
   * The rows just appended to the feed's journal, positions ascending. Called off the feed's hot path (from
   * the recorder's flush); must neither block nor throw: a tap that cannot keep up sheds and counts.
   */
  events(rows: readonly RecordedEvent[]): void;
  /** The feed instance ended. */
  close(): void;
}

/** Opens a tap per feed instance. */
export interface FeedTaps {
  open(feed: TappedFeed): FeedTap;
}

/** The journal store whose every journal also hands what it is given to a tap opened for it. */
export function tappedJournalStore(store: JournalStore, taps: FeedTaps): JournalStore {
  return {
    openFeed(key, kind, symbol, nowMs) {
      const journal = store.openFeed(key, kind, symbol, nowMs);
      return new TappedJournal(journal, taps.open({ key, kind, symbol: journal.symbol, epoch: journal.epoch }));
    },
  };
}

/** A journal that is its inner one, plus the tap on `append` and `close`. */
class TappedJournal implements FeedJournal {
  constructor(
    private readonly inner: FeedJournal,
    private readonly tap: FeedTap,
  ) {}

  get epoch(): number {
    return this.inner.epoch;
  }

  get brokenFrom(): { epoch: number; lastSeq: number } | undefined {
    return this.inner.brokenFrom;
  }

  get symbol(): string {
    return this.inner.symbol;
  }

  get last(): JournalPosition {
    return this.inner.last;
  }

  append(rows: RecordedEvent[]): void {
    this.inner.append(rows);
    this.tap.events(rows);
  }

  whenCommitted(fn: () => void): void {
    this.inner.whenCommitted(fn);
  }

  close(): void {
    this.inner.close();
    this.tap.close();
  }

  read(after: JournalPosition, limit: number): RecordedEvent[] {
    return this.inner.read(after, limit);
  }

  positionBefore(timeMs: number): JournalPosition | undefined {
    return this.inner.positionBefore(timeMs);
  }

  snapshotBefore(timeMs: number): JournalPosition | undefined {
    return this.inner.snapshotBefore(timeMs);
  }

  oldestSnapshotMs(): number | undefined {
    return this.inner.oldestSnapshotMs();
  }

  oldest(): { timeMs: number; position: JournalPosition } | undefined {
    return this.inner.oldest();
  }

  epochs(): JournalEpoch[] {
    return this.inner.epochs();
  }
}
