import { describe, expect, it } from "vitest";
import type { TickEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind, type Tick } from "../../gen/ibprovider/v1/types.js";
import { SequenceTracker, type StreamEvent } from "./sequenceTracker.js";

const tick = (sequence: number): TickEvent => ({ event: { $case: "tick", value: { symbol: "BTCUSDT" } as Tick }, sequence: String(sequence) });
const status = (kind: StreamStatusKind): TickEvent => ({ event: { $case: "status", value: { kind, time: undefined, message: "", ibCode: 0, sinceLastData: undefined, until: undefined, epoch: "0" } }, sequence: "0" });
const heartbeat: TickEvent = { event: { $case: "heartbeat", value: { time: undefined, lastDataTime: undefined } }, sequence: "0" };

function feed<E extends StreamEvent>(tracker: SequenceTracker<E>, events: E[]): string[] {
  return events.flatMap((e) => tracker.accept(e)).map((item) => {
    if (item.kind === "event") return `${item.event.event?.$case}${item.sequence ?? ""}`;
    if (item.kind === "gap") return `gap:${item.cause}:${item.missed ?? "?"}`;
    return "reconnecting";
  });
}

describe("gap detection from the feed's sequence numbers", () => {
  it("passes consecutive data events, statuses and heartbeats through unchanged", () => {
    expect(feed(new SequenceTracker(), [status(StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED), tick(7), tick(8), heartbeat, tick(9)])).toEqual(["status", "tick7", "tick8", "heartbeat", "tick9"]);
  });

  it("reports a jump with the exact number of events missed (conflated ticks, or across a reconnect)", () => {
    const tracker = new SequenceTracker<TickEvent>();
    feed(tracker, [tick(1), tick(2)]);
    tracker.reopen();
    const items = [tick(6)].flatMap((e) => tracker.accept(e));
    expect(items[0]).toEqual({ kind: "gap", cause: "sequence", missed: 3n, lastSequence: 2n, nextSequence: 6n, status: undefined });
    expect(items[1]).toMatchObject({ kind: "event", sequence: 6n });
  });

  it("resumes seamlessly when the re-opened stream continues at last + 1", () => {
    const tracker = new SequenceTracker<TickEvent>();
    feed(tracker, [tick(4)]);
    tracker.reopen();
    expect(feed(tracker, [status(StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED), tick(5)])).toEqual(["status", "tick5"]);
  });

  it("delivers the state a re-opened stream starts with (it repeats the last number) without a gap", () => {
    const tracker = new SequenceTracker<TickEvent>();
    feed(tracker, [tick(4)]);
    tracker.reopen();
    expect(feed(tracker, [tick(4), tick(5)])).toEqual(["tick4", "tick5"]);
  });

  it("delivers every event of one update sharing a number (an account update: summary and assets)", () => {
    expect(feed(new SequenceTracker(), [tick(7), tick(7), tick(7), tick(8)])).toEqual(["tick7", "tick7", "tick7", "tick8"]);
  });

  it("reports a restarted feed (numbers start over) as a gap of unknown size", () => {
    const tracker = new SequenceTracker<TickEvent>();
    feed(tracker, [tick(40), tick(41)]);
    tracker.reopen();
    expect(feed(tracker, [tick(1), tick(2)])).toEqual(["gap:restarted:?", "tick1", "tick2"]);
  });

  it("turns the service's GAP status into a gap item, keeping the status event", () => {
    const items = new SequenceTracker<TickEvent>().accept(status(StreamStatusKind.STREAM_STATUS_KIND_GAP));
    expect(items.map((i) => i.kind)).toEqual(["gap", "event"]);
    expect(items[0]).toMatchObject({ cause: "server", missed: undefined });
  });

  it("reports a re-opened stream without sequence numbers (accounts) as a gap of unknown size, once", () => {
    // Account events carry no sequence field.
    const tracker = new SequenceTracker<StreamEvent>();
    const unsequenced: StreamEvent = { event: { $case: "position", value: {} } };
    feed(tracker, [unsequenced]);
    tracker.reopen();
    expect(feed(tracker, [unsequenced, unsequenced])).toEqual(["gap:reconnected:?", "position", "position"]);
  });
});
