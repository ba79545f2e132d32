import { describe, expect, it } from "vitest";
import type { FeedEvent } from "./feedEvents.js";
import { ConsumerTooSlowError, SubscriberQueue, type OverflowPolicy, type ShedKind } from "./subscriberQueue.js";

function queue(maxQueued: number, overflow: OverflowPolicy = "fail", extra: { signal?: AbortSignal; onClose?: () => void; snapshot?: () => FeedEvent<number>[]; shed?: [ShedKind, number][] } = {}) {
  return new SubscriberQueue<number>({
    maxQueued,
    overflow,
    heartbeatMs: 50,
    staleAfterMs: 0,
    signal: extra.signal ?? new AbortController().signal,
    now: Date.now,
    onClose: extra.onClose ?? (() => undefined),
    ...(extra.snapshot === undefined ? {} : { snapshot: extra.snapshot }),
    onShed: (kind, n) => extra.shed?.push([kind, n]),
  });
}

const data = (value: number): FeedEvent<number> => ({ type: "data", value, seq: value });
const status = (kind: "subscribed" | "delayed"): FeedEvent<number> => ({ type: "status", status: { kind, atMs: 0, message: "" } });

describe("a consumer's queue", () => {
  it("delivers everything queued since the last read as one batch, and each event at once to a consumer that keeps up", async () => {
    const q = queue(100);
    for (let i = 0; i < 5; i++) q.push(data(i));
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([0, 1, 2, 3, 4].map(data));
    q.push(data(5));
    expect((await it.next()).value).toEqual([data(5)]);
    q.close();
    expect((await it.next()).done).toBe(true);
  });

  it("latest: a consumer far behind gets the newest state; statuses stay in order; the seq jump shows what was conflated", async () => {
    const shed: [ShedKind, number][] = [];
    const q = queue(10, "latest", { shed });
    q.push(status("subscribed"));
    for (let i = 0; i < 1_000; i++) q.push(data(i));
    q.push(status("delayed"));
    for (let i = 1_000; i < 1_005; i++) q.push(data(i));
    const batch = (await q[Symbol.asyncIterator]().next()).value as FeedEvent<number>[];
    expect(batch[0]).toEqual(status("subscribed"));
    // Never more than maxQueued data events, the newest ones, in order.
    const values = batch.filter((e) => e.type === "data").map((e) => e.value);
    expect(values.length).toBeLessThanOrEqual(10);
    expect(values.at(-1)).toBe(1_004);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(batch).toContainEqual(status("delayed"));
    expect(shed.every(([kind]) => kind === "conflated")).toBe(true);
    expect(shed.reduce((n, [, k]) => n + k, 0)).toBe(1_005 - values.length);
  });

  it("snapshot: a consumer far behind gets the current state instead of the deltas it missed", async () => {
    let current = 0;
    const q = queue(10, "snapshot", { snapshot: () => [{ type: "data", value: -current, seq: current }] });
    for (let i = 1; i <= 25; i++) {
      current = i; // the state includes delta i before it is pushed, as a book does
      q.push(data(i));
    }
    const batch = (await q[Symbol.asyncIterator]().next()).value as FeedEvent<number>[];
    // Overflow at 21 (10 queued): replaced by the state as of 21; then deltas 22..25.
    expect(batch).toEqual([{ type: "data", value: -21, seq: 21 }, data(22), data(23), data(24), data(25)]);
  });

  it("fail: a consumer that falls maxQueued events behind is ended with ConsumerTooSlowError, not silently thinned", async () => {
    let closed = 0;
    const q = queue(10, "fail", { onClose: () => void closed++ });
    for (let i = 0; i < 11; i++) q.push(data(i));
    expect(q.isClosed).toBe(true);
    expect(closed).toBe(1);
    await expect(q[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(ConsumerTooSlowError);
  });

  it("sends a heartbeat when idle and ends when the consumer's signal aborts", async () => {
    const controller = new AbortController();
    let closed = 0;
    const q = queue(10, "fail", { signal: controller.signal, onClose: () => void closed++ });
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject([{ type: "heartbeat" }]);
    controller.abort();
    expect((await it.next()).done).toBe(true);
    expect(closed).toBe(1);
  });

  it("throws the feed's terminal error to the consumer after the events queued before it", async () => {
    const q = queue(10);
    q.push(data(1));
    q.close(new Error("permission"));
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([data(1)]);
    await expect(it.next()).rejects.toThrow("permission");
  });
});
