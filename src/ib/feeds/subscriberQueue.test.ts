import { describe, expect, it } from "vitest";
import type { FeedEvent } from "./feedEvents.js";
import { FeedLog } from "./feedLog.js";
import { ConsumerTooSlowError, SubscriberQueue, type OverflowPolicy, type ShedKind } from "./subscriberQueue.js";

interface Extra {
  signal?: AbortSignal;
  onClose?: () => void;
  snapshot?: () => FeedEvent<number>[];
  shed?: [ShedKind, number][];
  overflowed?: ConsumerTooSlowError[];
}

function consumer(log: FeedLog<number>, maxQueued: number, overflow: OverflowPolicy = "fail", extra: Extra = {}) {
  return new SubscriberQueue<number>({
    log,
    maxQueued,
    overflow,
    heartbeatMs: 50,
    staleAfterMs: 0,
    signal: extra.signal ?? new AbortController().signal,
    now: Date.now,
    onClose: extra.onClose ?? (() => undefined),
    ...(extra.snapshot === undefined ? {} : { snapshot: extra.snapshot }),
    onShed: (kind, n) => extra.shed?.push([kind, n]),
    onOverflow: (e) => extra.overflowed?.push(e),
  });
}

const data = (value: number): FeedEvent<number> => ({ type: "data", value, seq: value });
const status = (kind: "subscribed" | "delayed"): FeedEvent<number> => ({ type: "status", status: { kind, atMs: 0, message: "" } });
const next = async (q: SubscriberQueue<number>) => (await q[Symbol.asyncIterator]().next()).value as FeedEvent<number>[];

describe("a consumer of a shared feed log", () => {
  it("gets everything appended since its last read as one batch, and each event at once when it keeps up", async () => {
    const log = new FeedLog<number>(100);
    const q = consumer(log, 100);
    for (let i = 0; i < 5; i++) log.append(data(i), 0);
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([0, 1, 2, 3, 4].map(data));
    setTimeout(() => log.append(data(5), 0), 5);
    expect((await it.next()).value).toEqual([data(5)]);
    q.close();
    expect((await it.next()).done).toBe(true);
  });

  it("shares the events with other consumers, each from its own position, its own events first", async () => {
    const log = new FeedLog<number>(100);
    const early = consumer(log, 100);
    log.append(data(1), 0);
    const late = consumer(log, 100);
    late.push(status("subscribed"));
    log.append(data(2), 0);
    const [a, b] = [await next(early), await next(late)];
    expect(a).toEqual([data(1), data(2)]);
    expect(b).toEqual([status("subscribed"), data(2)]);
    expect(a[1]).toBe(b[1]); // the same event object
  });

  it("latest: a consumer far behind gets the newest state and the statuses it skipped; the seq jump shows what was conflated", async () => {
    const shed: [ShedKind, number][] = [];
    const log = new FeedLog<number>(10);
    const q = consumer(log, 10, "latest", { shed });
    for (let i = 1; i <= 500; i++) log.append(data(i), 0);
    log.append(status("delayed"), 0);
    for (let i = 501; i <= 1_000; i++) log.append(data(i), 0);
    expect(await next(q)).toEqual([status("delayed"), data(1_000)]);
    expect(shed).toEqual([["conflated", 999]]); // 1000 data events skipped, the newest delivered
  });

  it("latest: statuses after the newest state stay after it (a GAP is never followed by a quote from before it)", async () => {
    const log = new FeedLog<number>(10);
    const q = consumer(log, 10, "latest");
    log.append(status("delayed"), 0);
    for (let i = 1; i <= 20; i++) log.append(data(i), 0);
    const gap: FeedEvent<number> = { type: "status", status: { kind: "gap", atMs: 0, message: "reconnected" } };
    log.append(gap, 0);
    expect(await next(q)).toEqual([status("delayed"), data(20), gap]);
  });

  it("a consumer closed by a feed error keeps what it had not read yet, whatever the feed frees afterwards", async () => {
    const log = new FeedLog<number>(10);
    const q = consumer(log, 10);
    for (let i = 1; i <= 3; i++) log.append(data(i), 0);
    q.close(new Error("refused"));
    log.release(log.end); // the feed frees everything its open consumers have read
    for (let i = 4; i <= 30; i++) log.append(data(i), 0); // and goes on (a retried pinned feed)
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([data(1), data(2), data(3)]);
    await expect(it.next()).rejects.toThrow("refused");
  });

  it("snapshot: a consumer far behind gets the current state instead of the deltas it missed", async () => {
    const log = new FeedLog<number>(10);
    const q = consumer(log, 10, "snapshot", { snapshot: () => [{ type: "data", value: -25, seq: 25 }] });
    for (let i = 1; i <= 25; i++) log.append(data(i), 0);
    expect(await next(q)).toEqual([{ type: "data", value: -25, seq: 25 }]);
    // From there on it reads deltas again.
    log.append(data(26), 0);
    expect(await next(q)).toEqual([data(26)]);
  });

  it("fail: a consumer that falls maxQueued events behind is ended with ConsumerTooSlowError as soon as it is checked", async () => {
    let closed = 0;
    const overflowed: ConsumerTooSlowError[] = [];
    const log = new FeedLog<number>(10);
    const q = consumer(log, 10, "fail", { onClose: () => void closed++, overflowed });
    for (let i = 0; i < 10; i++) log.append(data(i), 0);
    q.checkOverflow();
    expect(q.isClosed).toBe(false); // exactly maxQueued behind is still fine
    log.append(data(10), 0);
    q.checkOverflow();
    expect(q.isClosed).toBe(true);
    expect(closed).toBe(1);
    expect(overflowed).toHaveLength(1);
    await expect(next(q)).rejects.toBeInstanceOf(ConsumerTooSlowError);
  });

  it("sends a heartbeat when idle and ends when the consumer's signal aborts", async () => {
    const controller = new AbortController();
    let closed = 0;
    const q = consumer(new FeedLog<number>(10), 10, "fail", { signal: controller.signal, onClose: () => void closed++ });
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject([{ type: "heartbeat" }]);
    controller.abort();
    expect((await it.next()).done).toBe(true);
    expect(closed).toBe(1);
  });

  it("after a terminal error, reads what was appended before it, then throws it", async () => {
    const log = new FeedLog<number>(10);
    const q = consumer(log, 10);
    log.append(data(1), 0);
    q.close(new Error("permission"));
    log.append(data(2), 0); // after the close: not for this consumer
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([data(1)]);
    await expect(it.next()).rejects.toThrow("permission");
  });

  it("a window that grows keeps the indices of what it holds", () => {
    const log = new FeedLog<number>(4);
    for (let i = 0; i < 6; i++) log.append(data(i), 0);
    log.ensureCapacity(8);
    expect(log.start).toBe(2);
    expect(log.read(2).map((e) => (e.type === "data" ? e.value : -1))).toEqual([2, 3, 4, 5]);
    for (let i = 6; i < 10; i++) log.append(data(i), 0);
    expect(log.read(2).map((e) => (e.type === "data" ? e.value : -1))).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
