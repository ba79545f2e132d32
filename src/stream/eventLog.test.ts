import { describe, expect, it } from "vitest";
import type { FeedEvent } from "./feedEvents.js";
import { EventLog } from "./eventLog.js";

const data = (seq: number): FeedEvent<number> => ({ type: "data", value: seq * 10, seq });
const gap: FeedEvent<number> = { type: "status", status: { kind: "gap", atMs: 0, message: "reconnected" } };

describe("a feed's event log as the replay seam", () => {
  it("gives the events after a sequence number, statuses in their places, and says nothing was lost", () => {
    const log = new EventLog<number>(100);
    for (let i = 1; i <= 3; i++) log.append(data(i), i * 1_000);
    log.append(gap, 3_500);
    for (let i = 4; i <= 5; i++) log.append(data(i), i * 1_000);
    expect(log.eventsFrom({ afterSeq: 3 })).toEqual({ events: [gap, data(4), data(5)], complete: true });
    expect(log.eventsFrom({ afterSeq: 5 })).toEqual({ events: [], complete: true });
    expect(log.eventsFrom({ afterSeq: 0 }).events).toHaveLength(6);
  });

  it("gives the events appended from a time on", () => {
    const log = new EventLog<number>(100);
    for (let i = 1; i <= 5; i++) log.append(data(i), i * 1_000);
    expect(log.eventsFrom({ atMs: 3_000 })).toEqual({ events: [data(3), data(4), data(5)], complete: true });
    expect(log.eventsFrom({ atMs: 9_000 })).toEqual({ events: [], complete: true });
  });

  it("says incomplete when the start is no longer held (overwritten or freed), giving what it still has", () => {
    const log = new EventLog<number>(4);
    for (let i = 1; i <= 10; i++) log.append(data(i), i * 1_000);
    expect(log.eventsFrom({ afterSeq: 2 })).toEqual({ events: [data(7), data(8), data(9), data(10)], complete: false });
    expect(log.eventsFrom({ atMs: 1_000 }).complete).toBe(false);
    expect(log.eventsFrom({ afterSeq: 8 })).toEqual({ events: [data(9), data(10)], complete: true });
    log.release(log.end); // every consumer has read everything
    expect(log.eventsFrom({ afterSeq: 8 })).toEqual({ events: [], complete: false });
    // A client that has the newest event misses nothing, whatever was freed.
    expect(log.eventsFrom({ afterSeq: 10 })).toEqual({ events: [], complete: true });
    expect(log.eventsFrom({ atMs: 10_001 })).toEqual({ events: [], complete: true });
  });

  it("counts a freed status after the start as missed, and a freed event at the start time as missed", () => {
    const log = new EventLog<number>(100);
    log.append(data(1), 1_000);
    log.append(data(2), 1_000);
    log.append(gap, 1_500);
    log.append(data(3), 2_000);
    log.release(1); // data 1 freed
    expect(log.eventsFrom({ atMs: 1_000 })).toEqual({ events: [data(2), gap, data(3)], complete: false });
    expect(log.eventsFrom({ afterSeq: 1 })).toEqual({ events: [data(2), gap, data(3)], complete: true });
    log.release(3); // data 2 and the gap freed
    expect(log.eventsFrom({ afterSeq: 2 })).toEqual({ events: [data(3)], complete: false }); // the gap came after 2
    expect(log.eventsFrom({ atMs: 1_600 })).toEqual({ events: [data(3)], complete: true });
  });

  it("keeps events' times when its window grows", () => {
    const log = new EventLog<number>(2);
    log.append(data(1), 1_000);
    log.append(data(2), 2_000);
    log.ensureCapacity(8);
    log.append(data(3), 3_000);
    expect(log.eventsFrom({ atMs: 2_000 }).events).toEqual([data(2), data(3)]);
  });
});
