import { describe, expect, it } from "vitest";
import type { FeedEvent } from "./feedEvents.js";
import { EventLog } from "./eventLog.js";

const data = (seq: number): FeedEvent<number> => ({ type: "data", value: seq * 10, seq });
const gap: FeedEvent<number> = { type: "status", status: { kind: "gap", atMs: 0, message: "reconnected" } };

describe("a feed's event log", () => {
  it("keeps a window of the latest events by absolute index, and frees what every consumer has read", () => {
    const log = new EventLog<number>(4);
    for (let s = 1; s <= 6; s++) log.append(data(s), s * 1_000);
    expect(log.start).toBe(2);
    expect(log.end).toBe(6);
    expect(log.read(2)).toEqual([data(3), data(4), data(5), data(6)]);
    log.release(4);
    expect(log.read(2)).toEqual([data(5), data(6)]);
    expect(log.lastDataAtMs).toBe(6_000);
  });

  it("keeps statuses apart, so that a consumer skipped ahead still hears them with the newest data in its place", () => {
    const log = new EventLog<number>(3);
    log.append(data(1), 1);
    log.append(gap, 2);
    for (let s = 2; s <= 5; s++) log.append(data(s), s);
    expect(log.statusesSince(0)).toEqual([gap]);
    expect(log.conflated(0)).toEqual([gap, data(5)]);
  });

  it("grows its window keeping every event's index", () => {
    const log = new EventLog<number>(2);
    log.append(data(1), 1);
    log.append(data(2), 2);
    log.ensureCapacity(4);
    log.append(data(3), 3);
    expect(log.read(0)).toEqual([data(1), data(2), data(3)]);
    expect(log.windowSize).toBe(4);
  });
});
