import { StreamStatusKind, type StreamStatus } from "../../gen/ibprovider/v1/types.js";
import type { StreamGap, StreamItem } from "./streamItem.js";

/**
 * The shape every stream event of the API has: a oneof `event` and, on market data, the shared feed's
 * `sequence` (uint64 as a decimal string, "0" on statuses and heartbeats).
 */
export interface StreamEvent {
  event?: { $case: string; value: unknown } | undefined;
  sequence?: string;
}

function statusOf(event: StreamEvent): StreamStatus | undefined {
  return event.event?.$case === "status" ? (event.event.value as StreamStatus) : undefined;
}

function gap(cause: StreamGap["cause"], fields: Partial<Omit<StreamGap, "kind" | "cause">> = {}): StreamGap {
  return { kind: "gap", cause, missed: undefined, lastSequence: undefined, nextSequence: undefined, status: undefined, ...fields };
}

/**
 * Turns the events of one logical stream (across re-opened calls) into stream items, reporting gaps.
 *
 * The service numbers data events per shared feed, +1 per event, the same for every subscriber and never
 * reset while the feed lives. So across a reconnect: next = last + 1 is seamless, a jump is exactly the
 * events missed, and a smaller one means the feed was re-created (the numbers started over). The same
 * number again is no gap and is delivered: one account update gives several events with one number, and
 * a state handed to a (re)joining subscriber (the L1 quote, the book snapshot, the account) carries the
 * number of the last event it includes — a full state, which the consumer applies like any other.
 */
export class SequenceTracker<E extends StreamEvent> {
  private last: bigint | undefined;
  private sawData = false;
  private reopened = false;

  /** The stream was re-opened after a failure: the next data event is checked against the last one. */
  reopen(): void {
    this.reopened = true;
  }

  accept(event: E): Array<StreamItem<E>> {
    const status = statusOf(event);
    if (status !== undefined) {
      const item = { kind: "event" as const, event, sequence: undefined };
      return status.kind === StreamStatusKind.STREAM_STATUS_KIND_GAP ? [gap("server", { status, lastSequence: this.last }), item] : [item];
    }
    const isData = event.event !== undefined && event.event.$case !== "heartbeat";
    if (!isData) return [{ kind: "event", event, sequence: undefined }];

    const sequence = event.sequence !== undefined && event.sequence !== "0" ? BigInt(event.sequence) : undefined;
    const items: Array<StreamItem<E>> = [];
    if (sequence === undefined) {
      if (this.reopened && this.sawData) items.push(gap("reconnected"));
    } else if (this.last !== undefined) {
      if (sequence > this.last + 1n) {
        items.push(gap("sequence", { missed: sequence - this.last - 1n, lastSequence: this.last, nextSequence: sequence }));
      } else if (sequence < this.last) {
        items.push(gap("restarted", { lastSequence: this.last, nextSequence: sequence }));
      }
    }
    if (sequence !== undefined) this.last = sequence;
    this.sawData = true;
    this.reopened = false;
    items.push({ kind: "event", event, sequence });
    return items;
  }
}
