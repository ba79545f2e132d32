import type { FeedEvent, FeedStatus } from "./feedEvents.js";
import { isAfter, type FeedJournal, type JournalPosition, type RecordedEvent, type RecordedKind } from "./feedJournal.js";

/** A data or status event: what a feed's journal records (heartbeats are per consumer, not the feed's). */
export type RecordableEvent<T> = Exclude<FeedEvent<T>, { type: "heartbeat" }>;

/**
 * How a feed's events are encoded for its journal: each event's bytes as the API sends them for `symbol`
 * (src/grpc gives this; the stream core keeps the bytes opaque). One call per batch: encoding together
 * costs one allocation per batch, not per event.
 */
export type FeedCodec<T> = (events: readonly RecordableEvent<T>[], symbol: string) => Uint8Array[];

export interface RecordingSettings {
  /** Events are handed to the journal at most this long after they happened (or every `batchEvents`). */
  flushEveryMs: number;
  batchEvents: number;
  /** A feed whose state is a snapshot (the book, the account) records it this often, so a replay can start anywhere. */
  snapshotEveryMs: number;
}

export const DEFAULT_RECORDING_SETTINGS: Readonly<RecordingSettings> = Object.freeze({ flushEveryMs: 25, batchEvents: 1_000, snapshotEveryMs: 60_000 });

interface Pending<T> {
  event: RecordableEvent<T>;
  timeMs: number;
  kind: RecordedKind;
}

/**
 * Records one feed instance's events in its journal: `record` is called for every event the feed appends
 * (a push, nothing more, on the hot path); encoding and writing happen in batches a few ms later. Each
 * event gets its journal position: a data event its sequence, statuses and snapshot rows the places after
 * the data event before them.
 */
export class FeedRecorder<T> {
  private pending: Pending<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last: JournalPosition;
  private lastSnapshotMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    readonly journal: FeedJournal,
    private readonly codec: FeedCodec<T>,
    private readonly settings: RecordingSettings = DEFAULT_RECORDING_SETTINGS,
    /** The feed's state as data values (snapshot feeds only); recorded every snapshotEveryMs. */
    private readonly state?: () => readonly T[],
  ) {
    this.last = { ...journal.last };
  }

  /** Whether the feed's state is recorded as snapshots (a replay from a time starts at one). */
  get recordsSnapshots(): boolean {
    return this.state !== undefined;
  }

  get epoch(): number {
    return this.journal.epoch;
  }

  /** The sequence the feed's numbering continues after. */
  get lastSeq(): number {
    return this.journal.last.seq;
  }

  /**
   * Notes in the journal where this instance's recording begins — and, when the epoch is new, why — so that
   * a replay crossing the point hears that nothing was recorded in between.
   */
  begin(nowMs: number): void {
    const { epoch, brokenFrom } = this.journal;
    const seq = this.lastSeq;
    if (brokenFrom !== undefined) {
      this.note({ kind: "gap", atMs: nowMs, message: `epoch ${brokenFrom.epoch} was recorded up to ${brokenFrom.lastSeq} only (the service stopped without saving the rest), nothing since: numbering continues in epoch ${epoch}`, epoch });
    } else if (seq > 0) {
      // After an earlier instance: the feed was not subscribed in between, so what happened then is missing.
      this.note({ kind: "gap", atMs: nowMs, message: `subscribed again after ${seq}: nothing was recorded in between (the feed was not subscribed; what happened then is missing)`, epoch });
    } else this.note({ kind: "subscribed", atMs: nowMs, message: "recording started", epoch });
  }

  /** An event the feed appended (data or status). */
  record(event: RecordableEvent<T>, timeMs: number): void {
    if (this.closed) return;
    this.pending.push({ event, timeMs, kind: event.type === "data" ? "data" : "status" });
    if (this.state !== undefined && event.type === "data" && timeMs - this.lastSnapshotMs >= this.settings.snapshotEveryMs) this.snapshot(event.seq, timeMs);
    if (this.pending.length >= this.settings.batchEvents) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.settings.flushEveryMs);
      this.timer.unref();
    }
  }

  /** The sequence of the oldest data event not handed to the journal yet. */
  get firstPendingSeq(): number | undefined {
    for (const p of this.pending) if (p.kind === "data" && p.event.type === "data") return p.event.seq;
    return undefined;
  }

  /** The position of the newest event recorded so far (handed to the journal or still pending): a consumer joining now reads what comes after it. */
  tail(): JournalPosition {
    let { seq, sub } = this.last;
    for (const p of this.pending) ({ seq, sub } = p.kind === "data" && p.event.type === "data" ? { seq: p.event.seq, sub: 0 } : { seq, sub: sub + 1 });
    return { seq, sub };
  }

  /** The events not handed to the journal yet that come after `after` (and at or after `atMs`), snapshots left out. */
  pendingAfter(after: JournalPosition, atMs?: number): FeedEvent<T>[] {
    const out: FeedEvent<T>[] = [];
    let { seq, sub } = this.last;
    for (const p of this.pending) {
      ({ seq, sub } = p.kind === "data" && p.event.type === "data" ? { seq: p.event.seq, sub: 0 } : { seq, sub: sub + 1 });
      if (p.kind === "snapshot" || (atMs !== undefined && p.timeMs < atMs)) continue;
      if (isAfter({ seq, sub }, after)) out.push(p.event);
    }
    return out;
  }

  /** A status for the journal only (what a replay crossing this point must hear, e.g. why the numbering moved on). */
  note(status: FeedStatus): void {
    if (this.closed) return;
    this.pending.push({ event: { type: "status", status }, timeMs: status.atMs, kind: "status" });
    this.flush();
  }

  /** The state now, as snapshot rows after data event `seq` (every snapshotEveryMs, and when the feed starts delivering). */
  snapshot(seq: number, timeMs: number): void {
    if (this.state === undefined || this.closed) return;
    this.lastSnapshotMs = timeMs;
    for (const value of this.state()) this.pending.push({ event: { type: "data", value, seq }, timeMs, kind: "snapshot" });
  }

  /** Hands every pending event to the journal now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    const bytes = this.codec(
      pending.map((p) => p.event),
      this.journal.symbol,
    );
    const rows: RecordedEvent[] = [];
    let { seq, sub } = this.last;
    for (let i = 0; i < pending.length; i++) {
      const { event, timeMs, kind } = pending[i]!;
      const b = bytes[i]!;
      // Data: its own sequence. Statuses, snapshots: the places after the data event before them.
      if (kind === "data" && event.type === "data") {
        seq = event.seq;
        sub = 0;
      } else sub++;
      if (b.length > 0) rows.push({ seq, sub, timeMs, kind, bytes: b });
    }
    this.last = { seq, sub };
    if (rows.length > 0) this.journal.append(rows);
  }

  /** The feed instance ended: what is pending is written, and the journal closed (the next instance continues it). */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.journal.close();
  }
}
