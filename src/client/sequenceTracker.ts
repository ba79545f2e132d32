import { StreamStatusKind, type StreamStatus } from "../../gen/ibprovider/v1/types.js";
import type { StreamGap, StreamItem } from "./streamItem.js";

/**
 * The shape every stream event of the API has: a oneof `event` and the feed's `sequence` (uint64 as a
 * decimal string, "0" on statuses and heartbeats).
 */
export interface StreamEvent {
  event?: { $case: string; value: unknown } | undefined;
  sequence?: string;
}

/** Where a stream resumes: right after data event `afterSequence` of the feed's numbering `epoch`. */
export interface ResumePoint {
  afterSequence: bigint;
  epoch: bigint;
}

function statusOf(event: StreamEvent): StreamStatus | undefined {
  return event.event?.$case === "status" ? (event.event.value as StreamStatus) : undefined;
}

function gap(cause: StreamGap["cause"], message: string, fields: Partial<Omit<StreamGap, "kind" | "cause" | "message">> = {}): StreamGap {
  return { kind: "gap", cause, missed: undefined, lastSequence: undefined, nextSequence: undefined, status: undefined, message, ...fields };
}

/**
 * Turns the events of one logical stream (across re-opened calls) into stream items, reporting gaps.
 *
 * The service numbers data events per shared feed, +1 per event, the same for every subscriber, within an
 * epoch (StreamStatus.epoch on SUBSCRIBED and REPLAY_COMPLETE): the same epoch and sequence is the same
 * event, across reconnects and restarts of the service. So, for the next data event:
 * - another epoch: the numbering restarted (the service could not continue it exactly) — `restarted`;
 * - same epoch, a jump: exactly the events skipped (conflated L1/book updates, a resume the service could
 *   not replay) — `sequence`;
 * - the same number again is no gap and is delivered: one account update gives several events with one
 *   number, and a state handed to a (re)joining subscriber (the L1 quote, the book snapshot) carries the
 *   number of the last event it includes — a full state, which the consumer applies like any other.
 * A service that sends no epoch (0): a smaller number means the feed was re-created (`restarted`).
 * The service's own word is a gap too: a GAP status, and a SUBSCRIBED within a replay (the feed was not
 * subscribed, so nothing was recorded, between the data before and after it).
 */
export class SequenceTracker<E extends StreamEvent> {
  private last: bigint | undefined;
  /** The epoch `last` is numbered in. */
  private lastEpoch: bigint | undefined;
  /** The epoch the next data event is numbered in, as the statuses so far say. */
  private epoch: bigint | undefined;
  private sawData = false;
  private reopened = false;
  /**
   * The current call resumes after `last`: its leading SUBSCRIBED names the live feed's epoch, which is not
   * that of the events replayed before REPLAY_COMPLETE (after a restart of the service they can be the old
   * epoch's); those keep `last`'s epoch unless a replayed status names another.
   */
  private resumedCall = false;
  /** The next event is the first of a call (its SUBSCRIBED status). */
  private callStart = true;
  /** A gap was reported since the last data event. */
  private gapSinceData = false;

  /** `from`: the stream's first call already resumes there (a caller's saved resume point). */
  constructor(from?: ResumePoint) {
    if (from === undefined) return;
    this.last = from.afterSequence;
    this.lastEpoch = this.epoch = from.epoch;
    this.sawData = true;
    this.resumedCall = true;
  }

  /** Where a re-opened call resumes exactly: undefined before the first data event, or when the service sends no epoch. */
  get resumePoint(): ResumePoint | undefined {
    if (this.last === undefined || this.lastEpoch === undefined || this.lastEpoch === 0n) return undefined;
    return { afterSequence: this.last, epoch: this.lastEpoch };
  }

  /** Whether a data event has been delivered (or the stream began after one). */
  get hasData(): boolean {
    return this.sawData;
  }

  /**
   * The stream was re-opened after a failure; `resumed`: with after_sequence + epoch of {@link resumePoint}
   * (the service replays what was missed), otherwise live (the next data event is checked against the last).
   */
  reopen(resumed = false): void {
    this.reopened = true;
    this.callStart = true;
    this.resumedCall = resumed;
    if (resumed) this.epoch = this.lastEpoch;
  }

  accept(event: E): Array<StreamItem<E>> {
    const status = statusOf(event);
    const [leading, resumed] = [this.callStart, this.resumedCall];
    this.callStart = this.resumedCall = false;
    if (status !== undefined) {
      const epoch = BigInt(status.epoch || "0");
      const subscribed = status.kind === StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED;
      if (epoch !== 0n && !(resumed && subscribed)) this.epoch = epoch;
      const item = { kind: "event" as const, event, sequence: undefined };
      // SUBSCRIBED within a call (not its first event) comes from a replay crossing a time the feed was not
      // subscribed (the service stopped, or nobody read an on-demand feed): nothing was recorded in between,
      // although the numbering goes on.
      const resubscribed = subscribed && !leading && this.sawData && !this.gapSinceData;
      if (status.kind !== StreamStatusKind.STREAM_STATUS_KIND_GAP && !resubscribed) return [item];
      this.gapSinceData = true;
      return [gap("server", status.message, { status, lastSequence: this.last }), item];
    }
    const isData = event.event !== undefined && event.event.$case !== "heartbeat";
    if (!isData) return [{ kind: "event", event, sequence: undefined }];

    const sequence = event.sequence !== undefined && event.sequence !== "0" ? BigInt(event.sequence) : undefined;
    const items: Array<StreamItem<E>> = [];
    if (sequence === undefined) {
      if (this.reopened && this.sawData) items.push(gap("reconnected", "reconnected: the stream carries no sequence numbers; how much was missed is unknown"));
    } else if (this.last !== undefined) {
      const last = this.last;
      if (this.epoch !== undefined && this.lastEpoch !== undefined && this.epoch !== 0n && this.lastEpoch !== 0n && this.epoch !== this.lastEpoch) {
        items.push(
          gap("restarted", `restarted: new epoch ${this.epoch} (was ${this.lastEpoch}); the feed's numbering began again, how much was missed is unknown`, {
            lastSequence: last,
            nextSequence: sequence,
            previousEpoch: this.lastEpoch,
            epoch: this.epoch,
          }),
        );
      } else if (sequence > last + 1n) {
        const missed = sequence - last - 1n;
        items.push(gap("sequence", `jumped: ${missed} missed (${last} → ${sequence})`, { missed, lastSequence: last, nextSequence: sequence }));
      } else if (sequence < last) {
        items.push(gap("restarted", `restarted: the numbering started over (${last} → ${sequence}); how much was missed is unknown`, { lastSequence: last, nextSequence: sequence }));
      }
    }
    if (sequence !== undefined) {
      this.last = sequence;
      this.lastEpoch = this.epoch;
    }
    this.sawData = true;
    this.reopened = false;
    this.gapSinceData = false;
    items.push(sequence === undefined ? { kind: "event", event, sequence } : { kind: "event", event, sequence, epoch: this.epoch });
    return items;
  }
}
