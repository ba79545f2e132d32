import { describe, expect, it } from "vitest";
import { dataRows, positions, storeFiles, T0 } from "./testing/eventStoreFixture.js";

// Review of issue 15's journal (EventStore as the stream core's FeedJournal). Each test was a
// bug found in review, fixed since: the comment above it says what went wrong.

const { open } = storeFiles("ibp-review-");

describe("review: the journal a replay reads", () => {
  // Found in review (fixed; medium): FeedJournal.read promises "every row appended so far, committed or still queued", but the
  // EventStore's Journal.read adds only *its own instance's* queue (this.buffer) to the committed rows. When
  // an instance closes and the next opens before the writer has run (the last client of an on-demand feed
  // drops and resumes while the writer is behind or the file is locked by the operator's CLI — back-off up to
  // 1 s), the next instance's replay misses the previous instance's queued rows: a false GAP ("not recorded
  // (a store write failed)") for data, silence for statuses. Fix: keep the queue per Feed (shared by its
  // instances), not per Journal, or have read() consult every instance's queue of the feed.
  it("a new instance's journal reads the rows its predecessor appended and the writer has not committed yet", () => {
    const store = open();
    const first = store.events.openFeed("trade:MSFT", "trade", "MSFT", T0);
    first.append(dataRows(1, 3));
    first.close(); // the instance ends; its rows still wait for the writer
    const second = store.events.openFeed("trade:MSFT", "trade", "MSFT", T0 + 1);
    second.append(dataRows(4, 4));
    expect(positions(second.read({ seq: 0, sub: 0 }, 100))).toEqual(["1.0", "2.0", "3.0", "4.0"]); // got: ["4.0"]
  });
});

describe("review: numbering across a restart", () => {
  // Found in review (fixed; medium): rows shed at the end of an instance (the writer 100,000 rows behind when it closes: a flood)
  // move the journal's `last` in memory (Journal.append's shed branch) but never reach the file: the row's
  // last_seq stays at the last *inserted* row, and the close is written as clean (shedding does not mark
  // the journal broken). After a restart the next instance continues the same epoch from that older last_seq:
  // it numbers new events with the sequences the shed events had — which clients received live. A client
  // resuming with (epoch, the last shed sequence) is then told it has events it never saw ("same epoch +
  // sequence ⇒ the same event" broken). Fix: a journal that shed rows closes as broken (next instance: a new
  // epoch, brokenFrom = last inserted), or write the shed tail's last position with the close.
  it("after rows were shed at the end of an instance, the next process never reuses their sequences in the same epoch", async () => {
    let store = open();
    const first = store.events.openFeed("trade:MSFT", "trade", "MSFT", T0);
    first.append(dataRows(1, 100_000)); // the writer's bound: whatever comes next is shed
    first.append(dataRows(100_001, 100_005));
    expect(store.events.shedRows).toBe(5);
    first.close();
    store.close(); // a clean stop: everything queued is written
    store = open();
    const next = store.events.openFeed("trade:MSFT", "trade", "MSFT", T0 + 1);
    // Either numbering continues after every sequence handed out, or a new epoch says the old one is incomplete.
    const reused = next.epoch === first.epoch && next.last.seq < 100_005;
    expect({ epoch: next.epoch, lastSeq: next.last.seq, reused }).toMatchObject({ reused: false }); // got: same epoch, lastSeq 100000
  });
});
