import { describe, expect, it } from "vitest";
import type { FeedEvent } from "./feedEvents.js";
import { SubscriberQueue } from "./subscriberQueue.js";

function queue(maxQueued: number, signal = new AbortController().signal, onClose = () => undefined) {
  return new SubscriberQueue<number>({ maxQueued, heartbeatMs: 50, staleAfterMs: 0, signal, now: Date.now, onClose });
}

describe("a consumer's queue", () => {
  it("delivers everything queued since the last read as one batch", async () => {
    const q = queue(100);
    for (let i = 0; i < 5; i++) q.push({ type: "data", value: i });
    const it = q[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value).toEqual([0, 1, 2, 3, 4].map((value) => ({ type: "data", value })));
    q.push({ type: "data", value: 5 });
    expect((await it.next()).value).toEqual([{ type: "data", value: 5 }]);
    q.close();
    expect((await it.next()).done).toBe(true);
  });

  it("drops the oldest data of a consumer that falls behind, keeps statuses, and says how much it dropped", async () => {
    const q = queue(10);
    q.push({ type: "status", status: { kind: "subscribed", atMs: 0, message: "" } });
    for (let i = 0; i < 100; i++) q.push({ type: "data", value: i });
    const batch = (await q[Symbol.asyncIterator]().next()).value as FeedEvent<number>[];
    const kept = batch.slice(2).map((e) => (e.type === "data" ? e.value : -1));
    expect(batch[0]).toMatchObject({ type: "status", status: { kind: "gap", message: `consumer fell behind: ${100 - kept.length} events dropped` } });
    expect(batch[1]).toMatchObject({ type: "status", status: { kind: "subscribed" } });
    // The newest events are kept, in order, and never more than maxQueued.
    expect(kept.length).toBeLessThanOrEqual(10);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 100 - kept.length + i));
  });

  it("in conflating mode keeps only the newest state behind a slow consumer, statuses in order", async () => {
    const q = new SubscriberQueue<number>({ maxQueued: 10, conflate: true, heartbeatMs: 50, staleAfterMs: 0, signal: new AbortController().signal, now: Date.now, onClose: () => undefined });
    for (let i = 0; i < 1_000; i++) q.push({ type: "data", value: i });
    q.push({ type: "status", status: { kind: "delayed", atMs: 0, message: "" } });
    for (let i = 1_000; i < 2_000; i++) q.push({ type: "data", value: i });
    const batch = (await q[Symbol.asyncIterator]().next()).value as FeedEvent<number>[];
    expect(batch).toEqual([{ type: "data", value: 999 }, { type: "status", status: { kind: "delayed", atMs: 0, message: "" } }, { type: "data", value: 1_999 }]);
  });

  it("sends a heartbeat when idle and ends when the consumer's signal aborts", async () => {
    const controller = new AbortController();
    let closed = 0;
    const q = queue(10, controller.signal, () => void closed++);
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject([{ type: "heartbeat" }]);
    controller.abort();
    expect((await it.next()).done).toBe(true);
    expect(closed).toBe(1);
  });

  it("throws the feed's terminal error to the consumer after the events queued before it", async () => {
    const q = queue(10);
    q.push({ type: "data", value: 1 });
    q.close(new Error("permission"));
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([{ type: "data", value: 1 }]);
    await expect(it.next()).rejects.toThrow("permission");
  });
});
