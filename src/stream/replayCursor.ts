import type { FeedEvent, FeedStatus } from "./feedEvents.js";
import type { FeedConsumer, FeedCursor } from "./feedCursor.js";
import type { JournalPosition, RecordedEvent } from "./feedJournal.js";
import type { FeedRecorder } from "./feedRecorder.js";

/**
 * Where a replaying consumer starts: at the events recorded from a time, or right after the data event
 * `afterSeq` of `epoch` (a client resuming with the last event it processed).
 */
export type ReplayStart = { atMs: number } | { afterSeq: number; epoch: number };

/** A start the journal cannot serve as asked (older than what is retained, a sequence not reached yet). */
export class ReplayRangeError extends Error {
  constructor(
    message: string,
    /** Which part of the start is out of range. */
    readonly field: "time" | "sequence",
    /** The oldest time a replay can start from now, when known. */
    readonly oldestMs: number | undefined,
  ) {
    super(message);
    this.name = "ReplayRangeError";
  }
}

/**
 * Replays share the event loop with live streams: all of them together read (and have encoded) at most this
 * much per turn of the loop, however many clients replay; the rest of each turn is the live streams'. A page
 * is ~1-2 ms of reading. A replay whose rows are all filtered out (nothing written) is bounded the same way.
 */
const REPLAY_MS_PER_TURN = 4;
/** Longer than this across a yield: the consumer waited for its transport (the loop turned), not work. */
const TURN_WAIT_MS = 20;
let spentThisTurn = 0;

function spent(ms: number): void {
  if (spentThisTurn === 0) setImmediate(() => (spentThisTurn = 0)); // the next turn starts afresh
  spentThisTurn += ms;
}

/** Waits for a later turn while this turn's replay share is used up. */
async function replayTurn(): Promise<void> {
  while (spentThisTurn >= REPLAY_MS_PER_TURN) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Rows read from the journal per step: a client's reading paces the replay, one page at a time. */
const PAGE_ROWS = 1_000;

/** What the replay needs of its feed. */
export interface ReplayFeed<T> {
  recorder: FeedRecorder<T>;
  /** The feed's newest sequence now. */
  seq: () => number;
  now: () => number;
  /** The data this consumer wants (as its live cursor filters it): applied to the events not written yet. */
  accepts?: ((value: T) => boolean) | undefined;
  /**
   * What a joiner of the feed hears about its state now: `data` — the kind of data (delayed, frozen) unless
   * live; `trouble` — what is wrong now (reconnecting, waiting, stale), if anything.
   */
  state: () => { data: FeedEvent<T>[]; trouble: FeedEvent<T>[] };
}

interface Plan {
  /** Read the journal after this position; undefined: nothing to replay (go live now). */
  from: JournalPosition | undefined;
  /** Recorded rows or pending events before this time are not part of the replay (a start from a time). */
  atMs: number | undefined;
  /** A replay from a time on a snapshot feed: it starts with the snapshot rows at `from`. */
  fromSnapshot: boolean;
  /** Said before anything else (a resume that cannot be exact). */
  notice: FeedStatus | undefined;
  /** The sequence the consumer already has (a resume): a later jump in the replayed numbering is reported. */
  lastSeq: number | undefined;
}

/**
 * A consumer that starts in the past: the feed's recorded events from the start (a page per read, so a
 * slow reader holds no more than a page), then those still being written, then — in the same synchronous
 * step, so that nothing is missed or repeated — its live cursor, after a "replay-complete" status. The
 * live cursor is detached meanwhile: it holds nothing and cannot overflow, so a replay of any length never
 * slows the feed or its live consumers.
 */
export class ReplayCursor<T> implements FeedConsumer<T> {
  private readonly plan: Plan;
  private readonly live: FeedCursor<T>;
  private replaying = true;
  private attached = false;
  private replayed = 0;
  /** The sequence of the last data event delivered (a jump in the journal is reported as a gap). */
  private lastSeq: number | undefined;
  /** A replay from a time on a snapshot feed: the sequence of the snapshot it starts with, once read. */
  private snapshotSeq: number | undefined;
  private pastSnapshot = false;

  /** Throws ReplayRangeError when the start cannot be served: before anything is sent. */
  constructor(
    private readonly start: ReplayStart,
    private readonly feed: ReplayFeed<T>,
    private subscribed: FeedEvent<T>,
    /** Opens the consumer's live cursor, detached until the replay has caught up (then attached, in the same step). */
    openLive: () => FeedCursor<T>,
  ) {
    this.plan = this.planFor(start);
    this.live = openLive();
    this.lastSeq = this.plan.lastSeq;
    // The leading SUBSCRIBED names the epoch the replayed events begin in (a replay from a time may begin in
    // an older one): a client dropping during them resumes with the right one. The boundary's GAP names the next.
    if (this.plan.from !== undefined && subscribed.type === "status") {
      this.subscribed = { type: "status", status: { ...subscribed.status, epoch: this.epochAt(this.plan.from) } };
    }
  }

  /** The epoch the rows after `from` begin in. */
  private epochAt(from: JournalPosition): number {
    const seq = from.sub === Number.MAX_SAFE_INTEGER ? from.seq + 1 : Math.max(from.seq, 1);
    let epoch = this.feed.recorder.epoch;
    for (const e of this.feed.recorder.journal.epochs()) if (e.firstSeq <= seq) epoch = e.epoch;
    return epoch;
  }

  get isShared(): boolean {
    // Replayed bytes are this consumer's own; once live it reads what the others read.
    return !this.replaying && this.live.isShared;
  }

  get isClosed(): boolean {
    return this.live.isClosed;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<FeedEvent<T>[]> {
    const { live } = this;
    try {
      // The kind of data the feed delivers unless plain live (delayed data must not pass for live).
      const data = this.feed.state().data.filter((e) => e.type !== "status" || e.status.kind !== "live");
      yield [this.subscribed, ...data, ...(this.plan.notice === undefined ? [] : [{ type: "status" as const, status: this.plan.notice }])];
      if (this.plan.from === undefined) this.attach();
      else yield* this.replay(this.plan.from);
      this.replaying = false;
      // Attached: the switch to live, with the feed's state now. Not attached: the feed ended during the replay, and its cursor says how.
      if (this.attached) {
        const now = this.feed.state();
        yield [this.status("replay-complete", this.completeMessage()), ...now.data, ...now.trouble];
      }
      yield* live;
    } finally {
      live.close();
    }
  }

  private async *replay(from: JournalPosition): AsyncGenerator<FeedEvent<T>[]> {
    const { recorder } = this.feed;
    const { live } = this;
    const journal = recorder.journal;
    let pos = from;
    while (!live.isClosed) {
      await replayTurn();
      const started = performance.now();
      const rows = journal.read(pos, PAGE_ROWS);
      if (rows.length === PAGE_ROWS) {
        pos = rows[rows.length - 1]!;
        const events = this.convert(rows);
        spent(performance.now() - started);
        if (events.length === 0) continue;
        const handed = performance.now();
        yield events;
        // The consumer's encoding and writing count too — not a wait for the transport (then the loop turned anyway).
        const writing = performance.now() - handed;
        if (writing < TURN_WAIT_MS) spent(writing);
        continue;
      }
      // The end of what the journal was given: with the events not handed to it yet, the rest of the replay.
      // The live cursor takes over from the log's end in the same synchronous step: nothing missed or repeated.
      const last = rows.length > 0 ? rows[rows.length - 1]! : pos;
      const tail = [...this.convert(rows), ...this.pending(recorder.pendingAfter(last, this.plan.atMs))];
      this.attach();
      if (tail.length > 0) yield tail;
      return;
    }
  }

  private attach(): void {
    this.live.attach();
    this.attached = true;
  }

  /** Journal rows → recorded events: a snapshot only at the start of a replay from a time, a gap status where numbering jumps. */
  private convert(rows: readonly RecordedEvent[]): FeedEvent<T>[] {
    const symbol = this.feed.recorder.journal.symbol;
    const out: FeedEvent<T>[] = [];
    for (const row of rows) {
      if (this.plan.atMs !== undefined && row.timeMs < this.plan.atMs) continue;
      if (row.kind === "snapshot") {
        // Later snapshots repeat what the deltas said: only the one a replay from a time starts with.
        if (!this.plan.fromSnapshot || this.pastSnapshot || (this.snapshotSeq !== undefined && row.seq !== this.snapshotSeq)) continue;
        this.snapshotSeq = row.seq;
        this.lastSeq = row.seq;
      } else {
        if (this.snapshotSeq !== undefined) this.pastSnapshot = true;
        if (row.kind === "data") this.numbered(row.seq, out);
      }
      out.push({ type: "recorded", seq: row.kind === "status" ? 0 : row.seq, data: row.kind !== "status", bytes: row.bytes, symbol });
      if (row.kind !== "status") this.replayed++;
    }
    return out;
  }

  /** Events recorded but not handed to the journal yet (in order, after the journal's rows), filtered as the live cursor does. */
  private pending(events: readonly FeedEvent<T>[]): FeedEvent<T>[] {
    const out: FeedEvent<T>[] = [];
    const { accepts } = this.feed;
    for (const event of events) {
      if (event.type === "data") {
        if (accepts !== undefined && !accepts(event.value)) continue;
        this.numbered(event.seq, out);
        this.replayed++;
      }
      out.push(event);
    }
    return out;
  }

  private numbered(seq: number, out: FeedEvent<T>[]): void {
    if (this.lastSeq !== undefined && seq > this.lastSeq + 1) {
      out.push({ type: "status", status: { kind: "gap", atMs: this.feed.now(), message: `events ${this.lastSeq + 1}…${seq - 1} are not in the recording (a store write failed, or retention deleted them): not replayed` } });
    }
    this.lastSeq = seq;
  }

  private planFor(start: ReplayStart): Plan {
    const { recorder } = this.feed;
    const journal = recorder.journal;
    const oldest = journal.oldest();
    if ("atMs" in start) {
      recorder.flush(); // the journal then holds (or queues) every event recorded so far
      if (this.feed.recorder.recordsSnapshots) {
        // The state at the start: the newest snapshot before it, then the deltas (those before the start too).
        const from = journal.snapshotBefore(start.atMs);
        if (from === undefined) {
          const oldestMs = journal.oldestSnapshotMs();
          const why = oldestMs === undefined ? "none is recorded yet" : `the oldest retained is at ${new Date(oldestMs).toISOString()}`;
          throw new ReplayRangeError(`no snapshot of the state is recorded at or before ${new Date(start.atMs).toISOString()} to start from: ${why}`, "time", oldestMs);
        }
        return { from, atMs: undefined, fromSnapshot: true, notice: undefined, lastSeq: undefined };
      }
      const oldestMs = oldest?.timeMs ?? this.feed.now();
      if (start.atMs < oldestMs) {
        throw new ReplayRangeError(`nothing is recorded that early: the oldest event retained is at ${new Date(oldestMs).toISOString()}`, "time", oldestMs);
      }
      return { from: journal.positionBefore(start.atMs) ?? journal.last, atMs: start.atMs, fromSnapshot: false, notice: undefined, lastSeq: undefined };
    }
    const current = recorder.epoch;
    const epochs = journal.epochs();
    const index = epochs.findIndex((e) => e.epoch === start.epoch);
    const goLive = (message: string): Plan => ({ from: undefined, atMs: undefined, fromSnapshot: false, notice: { kind: "gap", atMs: this.feed.now(), message }, lastSeq: undefined });
    if (start.epoch === current && start.afterSeq > this.feed.seq()) {
      throw new ReplayRangeError(`sequence ${start.afterSeq} has not been reached in epoch ${current} (the newest is ${this.feed.seq()})`, "sequence", oldest?.timeMs);
    }
    if (index < 0 && start.epoch !== current) return goLive(`cannot resume after ${start.afterSeq} of epoch ${start.epoch}: that epoch is not retained (the feed is in epoch ${current}); continuing live`);
    const next = index < 0 ? undefined : epochs[index + 1];
    if (next !== undefined && start.afterSeq >= next.firstSeq) {
      // The client saw events of the old epoch that were never recorded: the new epoch is what it has not seen.
      return {
        from: { seq: next.firstSeq - 1, sub: 0 },
        atMs: undefined,
        fromSnapshot: false,
        notice: { kind: "gap", atMs: this.feed.now(), message: `epoch ${start.epoch} was recorded up to ${next.firstSeq - 1} only (the service stopped without saving the rest): replaying epoch ${next.epoch} from its start`, epoch: next.epoch },
        lastSeq: undefined,
      };
    }
    const epochFirst = index < 0 ? recorder.lastSeq + 1 : epochs[index]!.firstSeq;
    // The oldest data event retained: a status left of a deleted one (same seq, sub > 0) does not count.
    const retainedFrom = oldest === undefined ? recorder.firstPendingSeq : oldest.position.sub > 0 ? oldest.position.seq + 1 : oldest.position.seq;
    if (start.afterSeq + 1 < epochFirst || (retainedFrom !== undefined && start.afterSeq + 1 < retainedFrom)) {
      const had = oldest === undefined ? "" : ` (the oldest retained is ${oldest.position.seq}, at ${new Date(oldest.timeMs).toISOString()})`;
      return goLive(`the events after ${start.afterSeq} of epoch ${start.epoch} are no longer retained${had}; continuing live`);
    }
    // After the data event itself: the statuses that followed it come again (a repeated status is harmless, a missed one is not).
    return { from: { seq: start.afterSeq, sub: 0 }, atMs: undefined, fromSnapshot: false, notice: undefined, lastSeq: start.afterSeq };
  }

  private completeMessage(): string {
    const from = "atMs" in this.start ? `from ${new Date(this.start.atMs).toISOString()}` : `after ${this.start.afterSeq} of epoch ${this.start.epoch}`;
    return `replayed ${this.replayed} recorded events ${from}; live from here`;
  }

  private status(kind: FeedStatus["kind"], message: string): FeedEvent<T> {
    return { type: "status", status: { kind, atMs: this.feed.now(), message, epoch: this.feed.recorder.epoch } };
  }
}
