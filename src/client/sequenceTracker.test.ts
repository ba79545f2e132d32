import { describe, expect, it } from "vitest";
import type { TickEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import { StreamStatusKind, type Tick } from "../../gen/ibprovider/v1/types.js";
import { SequenceTracker, type StreamEvent } from "./sequenceTracker.js";

const tick = (sequence: number): TickEvent => ({ event: { $case: "tick", value: { symbol: "BTCUSDT" } as Tick }, sequence: String(sequence) });
const status = (kind: StreamStatusKind, epoch = 0, message = ""): TickEvent => ({ event: { $case: "status", value: { kind, time: undefined, message, ibCode: 0, sinceLastData: undefined, until: undefined, epoch: String(epoch) } }, sequence: "0" });
const subscribed = (epoch: number) => status(StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED, epoch);
const heartbeat: TickEvent = { event: { $case: "heartbeat", value: { time: undefined, lastDataTime: undefined } }, sequence: "0" };

function feed<E extends StreamEvent>(tracker: SequenceTracker<E>, events: E[]): string[] {
  return events.flatMap((e) => tracker.accept(e)).map((item) => {
    if (item.kind === "event") return `${item.event.event?.$case}${item.sequence ?? ""}`;
    if (item.kind === "gap") return `gap:${item.cause}:${item.missed ?? item.epoch ?? "?"}`;
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
    expect(items[0]).toEqual({ kind: "gap", cause: "sequence", missed: 3n, lastSequence: 2n, nextSequence: 6n, status: undefined, message: "jumped: 3 missed (2 → 6)" });
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

  it("reports a restarted feed (numbers start over, a service that sends no epochs) as a gap of unknown size", () => {
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

  it("tells a restart (the epoch changed) from a jump (same epoch, numbers skipped): the numbering may even go on upward", () => {
    const tracker = new SequenceTracker<TickEvent>();
    expect(feed(tracker, [subscribed(7), tick(40), tick(44)])).toEqual(["status", "tick40", "gap:sequence:3", "tick44"]);
    tracker.reopen();
    const items = [subscribed(9), tick(45)].flatMap((e) => tracker.accept(e));
    expect(items[1]).toMatchObject({ kind: "gap", cause: "restarted", missed: undefined, previousEpoch: 7n, epoch: 9n, lastSequence: 44n, nextSequence: 45n });
    expect((items[1] as { message: string }).message).toMatch(/^restarted: new epoch 9 \(was 7\)/);
    expect(items[2]).toMatchObject({ kind: "event", sequence: 45n, epoch: 9n });
  });

  it("gives the resume point (last data sequence and its epoch) once data came with a known epoch", () => {
    const tracker = new SequenceTracker<TickEvent>();
    feed(tracker, [tick(3)]);
    expect(tracker.resumePoint).toBeUndefined(); // no epoch: a service that sends none cannot resume
    feed(tracker, [subscribed(5), tick(4), heartbeat]);
    expect(tracker.resumePoint).toEqual({ afterSequence: 4n, epoch: 5n });
  });

  it("on a resumed call, keeps the replayed events in the epoch they were asked for although SUBSCRIBED names the live one", () => {
    // After an abrupt restart of the service: events 5..6 of epoch 7 were recorded, then epoch 9 continues at 7.
    const tracker = new SequenceTracker<TickEvent>({ afterSequence: 4n, epoch: 7n });
    const gapNote = status(StreamStatusKind.STREAM_STATUS_KIND_GAP, 9, "epoch 7 was recorded up to 6 only");
    const replayComplete = status(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE, 9);
    const items = [subscribed(9), tick(5), tick(6)].flatMap((e) => tracker.accept(e));
    expect(items.map((i) => (i.kind === "event" ? i.epoch : i.kind))).toEqual([undefined, 7n, 7n]);
    expect(tracker.resumePoint).toEqual({ afterSequence: 6n, epoch: 7n });
    expect(feed(tracker, [gapNote, subscribed(9), tick(7), replayComplete, tick(8)])).toEqual(["gap:server:?", "status", "status", "gap:restarted:9", "tick7", "status", "tick8"]);
    expect(tracker.resumePoint).toEqual({ afterSequence: 8n, epoch: 9n });
  });

  it("an exact resume yields the replayed events with no gap", () => {
    const tracker = new SequenceTracker<TickEvent>();
    feed(tracker, [subscribed(7), tick(1), tick(2)]);
    tracker.reopen(true);
    expect(feed(tracker, [subscribed(7), tick(3), tick(4), status(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE, 7), tick(5)])).toEqual(["status", "tick3", "tick4", "status", "tick5"]);
  });

  it("reports a replay crossing a time the feed was not subscribed (SUBSCRIBED within the stream) although the numbering goes on", () => {
    const tracker = new SequenceTracker<TickEvent>({ afterSequence: 4n, epoch: 7n });
    const again = status(StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED, 7, "subscribed again after 5: nothing was recorded in between");
    expect(feed(tracker, [subscribed(7), tick(5), again, tick(6)])).toEqual(["status", "tick5", "gap:server:?", "status", "tick6"]);
  });
});
