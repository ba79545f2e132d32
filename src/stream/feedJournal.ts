/**
 * The durable side of a feed's events: what the store (src/store/eventStore.ts) keeps of every shared feed,
 * so that a stream can start in the past and a client that drops gets exactly what it missed. The stream
 * core records through these interfaces and replays from them; it knows nothing of SQLite or protobuf (the
 * bytes are the events as the API encodes them, opaque here).
 */

/**
 * Where a recorded event sits in its feed: `seq` is the data event's sequence (or, for a status or a
 * snapshot, that of the data event before it), `sub` 0 for the data event itself and 1, 2, … for the
 * statuses and snapshot rows that followed it. Positions order a feed's rows across instances and epochs.
 */
export interface JournalPosition {
  seq: number;
  sub: number;
}

/** "snapshot": the state at that point (the order book, the account), recorded now and then so a replay can start anywhere. */
export type RecordedKind = "data" | "status" | "snapshot";

/** Whether position `a` comes after `b` in a feed's journal. */
export function isAfter(a: JournalPosition, b: JournalPosition): boolean {
  return a.seq > b.seq || (a.seq === b.seq && a.sub > b.sub);
}

export interface RecordedEvent extends JournalPosition {
  timeMs: number;
  kind: RecordedKind;
  /** The event as the API encodes it for the journal's `symbol` (opaque to the stream core). */
  bytes: Uint8Array;
}

export interface JournalEpoch {
  epoch: number;
  /** The first data sequence numbered in this epoch (the previous epoch ended before it). */
  firstSeq: number;
}

/** One feed's journal, as opened by one feed instance. */
export interface FeedJournal {
  /** The epoch of this instance's numbering. */
  readonly epoch: number;
  /**
   * Set when this instance had to start a new epoch: the previous instance ended without all of its events
   * recorded (the service stopped abruptly, a write failed). `lastSeq` is the last one recorded of it.
   */
  readonly brokenFrom: { epoch: number; lastSeq: number } | undefined;
  /** The symbol the recorded bytes carry (the first recording's; a client asking with an alias gets them re-rendered). */
  readonly symbol: string;
  /** The newest recorded row's position ({seq: 0, sub: 0} when nothing is recorded): numbering continues after it. */
  readonly last: JournalPosition;
  /** Queues rows for writing (batched, off the hot path; positions ascending, after `last` and after earlier appends). */
  append(rows: RecordedEvent[]): void;
  /**
   * Calls `fn` synchronously right after every row appended so far is committed (or failed), or at once
   * when none is pending: at that moment the journal holds every row appended before the call.
   */
  whenCommitted(fn: () => void): void;
  /** This instance ends: once its rows are committed, the next instance continues the epoch (a new one if a write failed). */
  close(): void;
  /** Up to `limit` rows strictly after `after`, ascending: every row appended so far, committed or still queued for writing. */
  read(after: JournalPosition, limit: number): RecordedEvent[];
  /**
   * The position right before the first row recorded at or after `timeMs`; undefined when nothing is
   * recorded from then on. This and the queries below see every row appended, as `read` does.
   */
  positionBefore(timeMs: number): JournalPosition | undefined;
  /** The position right before the newest snapshot whose rows were recorded at or before `timeMs`. */
  snapshotBefore(timeMs: number): JournalPosition | undefined;
  /** When the oldest snapshot still retained was recorded (a replay of a snapshot feed from a time starts at one). */
  oldestSnapshotMs(): number | undefined;
  /** The oldest row still retained. */
  oldest(): { timeMs: number; position: JournalPosition } | undefined;
  /** The epochs of the feed still retained, oldest first (the current one last). */
  epochs(): JournalEpoch[];
}

/** The store of every feed's journal. */
export interface JournalStore {
  /**
   * Opens the journal of the feed `key` for a new feed instance (created at first use, recording `symbol`).
   * Synchronous: the instance needs its epoch and numbering before its first event.
   */
  openFeed(key: string, kind: string, symbol: string, nowMs: number): FeedJournal;
}
