import { describe, expect, it } from "vitest";
import type { FeedEvent } from "./feedEvents.js";
import { EventLog } from "./eventLog.js";
import { ConsumerTooSlowError, FeedCursor, type OverflowPolicy, type ShedKind } from "./feedCursor.js";

interface Extra {
  signal?: AbortSignal;
  onClose?: () => void;
  snapshot?: () => FeedEvent<number>[];
  shed?: [ShedKind, number][];
  overflowed?: ConsumerTooSlowError[];
  accepts?: (value: number) => boolean;
  now?: () => number;
  heartbeatMs?: number;
  staleAfterMs?: number;
}

function consumer(log: EventLog<number>, maxQueued: number, overflow: OverflowPolicy = "fail", extra: Extra = {}) {
  return new FeedCursor<number>({
    log,
    maxQueued,
    overflow,
    heartbeatMs: extra.heartbeatMs ?? 50,
    staleAfterMs: extra.staleAfterMs ?? 0,
    signal: extra.signal ?? new AbortController().signal,
    now: extra.now ?? Date.now,
    ...(extra.accepts === undefined ? {} : { accepts: extra.accepts }),
    onClose: extra.onClose ?? (() => undefined),
    ...(extra.snapshot === undefined ? {} : { snapshot: extra.snapshot }),
    onShed: (kind, n) => extra.shed?.push([kind, n]),
    onOverflow: (e) => extra.overflowed?.push(e),
  });
}

const data = (value: number): FeedEvent<number> => ({ type: "data", value, seq: value });
const status = (kind: "subscribed" | "delayed"): FeedEvent<number> => ({ type: "status", status: { kind, atMs: 0, message: "" } });
const next = async (q: FeedCursor<number>) => (await q[Symbol.asyncIterator]().next()).value as FeedEvent<number>[];

describe("a consumer of a shared feed log", () => {
  it("gets everything appended since its last read as one batch, and each event at once when it keeps up", async () => {
    const log = new EventLog<number>(100);
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
    const log = new EventLog<number>(100);
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
    const log = new EventLog<number>(10);
    const q = consumer(log, 10, "latest", { shed });
    for (let i = 1; i <= 500; i++) log.append(data(i), 0);
    log.append(status("delayed"), 0);
    for (let i = 501; i <= 1_000; i++) log.append(data(i), 0);
    expect(await next(q)).toEqual([status("delayed"), data(1_000)]);
    expect(shed).toEqual([["conflated", 999]]); // 1000 data events skipped, the newest delivered
  });

  it("latest: statuses after the newest state stay after it (a GAP is never followed by a quote from before it)", async () => {
    const log = new EventLog<number>(10);
    const q = consumer(log, 10, "latest");
    log.append(status("delayed"), 0);
    for (let i = 1; i <= 20; i++) log.append(data(i), 0);
    const gap: FeedEvent<number> = { type: "status", status: { kind: "gap", atMs: 0, message: "reconnected" } };
    log.append(gap, 0);
    expect(await next(q)).toEqual([status("delayed"), data(20), gap]);
  });

  it("a consumer closed by a feed error keeps what it had not read yet, whatever the feed frees afterwards", async () => {
    const log = new EventLog<number>(10);
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
    const log = new EventLog<number>(10);
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
    const log = new EventLog<number>(10);
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
    const q = consumer(new EventLog<number>(10), 10, "fail", { signal: controller.signal, onClose: () => void closed++ });
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject([{ type: "heartbeat" }]);
    controller.abort();
    expect((await it.next()).done).toBe(true);
    expect(closed).toBe(1);
  });

  it("after a terminal error, reads what was appended before it, then throws it", async () => {
    const log = new EventLog<number>(10);
    const q = consumer(log, 10);
    log.append(data(1), 0);
    q.close(new Error("permission"));
    log.append(data(2), 0); // after the close: not for this consumer
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([data(1)]);
    await expect(it.next()).rejects.toThrow("permission");
  });

  it("a window that grows keeps the indices of what it holds", () => {
    const log = new EventLog<number>(4);
    for (let i = 0; i < 6; i++) log.append(data(i), 0);
    log.ensureCapacity(8);
    expect(log.start).toBe(2);
    expect(log.read(2).map((e) => (e.type === "data" ? e.value : -1))).toEqual([2, 3, 4, 5]);
    for (let i = 6; i < 10; i++) log.append(data(i), 0);
    expect(log.read(2).map((e) => (e.type === "data" ? e.value : -1))).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("skips the data its consumer does not want, keeping statuses and sequence numbers", async () => {
    const log = new EventLog<number>(100);
    const q = consumer(log, 100, "fail", { accepts: (n) => n % 2 === 0 });
    for (let i = 1; i <= 4; i++) log.append(data(i), 0);
    log.append(status("delayed"), 0);
    expect(await next(q)).toEqual([data(2), data(4), status("delayed")]);
  });

  it("is the one producer of heartbeats: a consumer of a busy feed none of whose data it wants hears one every heartbeatMs", async () => {
    let clock = 0;
    const log = new EventLog<number>(1_000);
    const q = consumer(log, 1_000, "fail", { accepts: () => false, now: () => clock, heartbeatMs: 250 });
    const heard: FeedEvent<number>[][] = [];
    const reading = (async () => {
      for await (const batch of q) heard.push(batch);
    })();
    // 1000 ms of this clock with an unwanted event every 10 ms.
    for (let i = 1; i <= 100; i++) {
      clock += 10;
      log.append(data(i), clock);
      await new Promise((resolve) => setImmediate(resolve));
    }
    q.close();
    await reading;
    expect(heard.map((b) => b.map((e) => e.type))).toEqual([["heartbeat"], ["heartbeat"], ["heartbeat"], ["heartbeat"]]);
    // Its heartbeats' last data time is its own (none delivered), not the busy feed's.
    expect(heard.map((b) => (b[0] as { lastDataMs?: number }).lastDataMs)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("says stale once per period when its feed has had no data for staleAfterMs", async () => {
    let clock = 0;
    const log = new EventLog<number>(100);
    log.append(data(1), clock);
    const q = consumer(log, 100, "fail", { now: () => clock, heartbeatMs: 20, staleAfterMs: 1_000 });
    const it = q[Symbol.asyncIterator]();
    clock = 1_500;
    const first = (await it.next()).value as FeedEvent<number>[];
    expect(first).toEqual([{ type: "status", status: { kind: "stale", atMs: 1_500, message: "no data for 2 s", sinceLastDataMs: 1_500 } }]);
    clock = 1_600; // within the same period: a plain heartbeat
    expect(((await it.next()).value as FeedEvent<number>[])[0]!.type).toBe("heartbeat");
    q.close();
  });
});
