import { describe, expect, it } from "vitest";
import type { FeedEvent } from "./feedEvents.js";
import type { FeedConsumer } from "./feedCursor.js";
import { FeedRecorder, type RecordingSettings } from "./feedRecorder.js";
import type { OverflowPolicy } from "./overflowPolicy.js";
import { ReplayRangeError, type ReplayStart } from "./replayCursor.js";
import { SharedFeed } from "./sharedFeed.js";
import type { FeedSource } from "./feedSource.js";
import { MemoryJournalStore } from "./testing/memoryJournal.js";
import { PlayedSource, textCodec as codec } from "./testing/playedSource.js";

// Review of issue 15's replay (SharedFeed + FeedRecorder + ReplayCursor over the in-memory journal). Each
// test was a bug found in review, fixed since: the comment above it says what went wrong and where.

/** How long a test waits for what it expects before failing: generous, for a loaded 2-core CI (it never waits for nothing). */
const WAIT_MS = 10_000;



/** What a consumer hears: replayed rows "r:<bytes>", live/pending data "d<value>#<seq>", statuses by kind. */
function word(e: FeedEvent<number>): string {
  if (e.type === "recorded") return `r:${new TextDecoder().decode(e.bytes)}`;
  if (e.type === "data") return `d${e.value}#${e.seq}`;
  if (e.type === "status") return e.status.kind;
  return "heartbeat";
}

/** Flushes are slow here (50 ms) so that events stay pending in the recorder while a replay switches to live. */
const SETTINGS: RecordingSettings = { flushEveryMs: 50, batchEvents: 100, snapshotEveryMs: 1_000 };

function setup(overflow: OverflowPolicy = "fail") {
  const store = new MemoryJournalStore();
  const clock = { now: 1_000 };
  const source = new PlayedSource(overflow);
  const recorder = new FeedRecorder<number>(store.openFeed("k", "trade", "SYM", clock.now), codec, SETTINGS, overflow === "snapshot" ? () => source.joinEvents() : undefined);
  const feed = new SharedFeed<number>("k", source, { now: () => clock.now, onIdle: () => undefined, isConnected: () => true }, recorder);
  return { store, source, recorder, feed, clock };
}

function read(consumer: FeedConsumer<number>) {
  const heard: string[] = [];
  let ended: unknown;
  let done = false;
  void (async () => {
    try {
      for await (const batch of consumer) heard.push(...batch.filter((e) => e.type !== "heartbeat").map(word));
    } catch (err) {
      ended = err;
    }
    done = true;
  })();
  return {
    heard,
    get ended() {
      return ended;
    },
    get done() {
      return done;
    },
    async until(pred: () => boolean, what: string): Promise<void> {
      const giveUp = Date.now() + WAIT_MS;
      while (!pred()) {
        if (Date.now() > giveUp) throw new Error(`${what}: heard ${heard.join(" ")}; ended ${String(ended)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

function subscribe(feed: SharedFeed<number>, start?: ReplayStart, extra: { accepts?: (v: number) => boolean } = {}) {
  const controller = new AbortController();
  const consumer = feed.subscribe({ signal: controller.signal, heartbeatMs: 60_000, staleAfterMs: 0, maxQueued: 1_000_000, ...extra, ...(start === undefined ? {} : { start }) });
  return { consumer, stop: () => controller.abort() };
}

const committed = () => new Promise((r) => setTimeout(r, 120)); // past a flush (50 ms) and its commit

describe("review: replay → live switch", () => {
  // Found in review (fixed; high): the events still pending in the recorder at the switch (ReplayCursor.replay → this.pending(
  // recorder.pendingAfter(…)), recorded less than flushEveryMs = 25 ms before) are handed to the consumer as
  // plain data events without the consumer's `accepts` filter — that filter lives only in FeedCursor.takeBatch,
  // and the renderings filter only *recorded* rows (numberedRendering's `accepts`, in rerender). So a
  // StreamCandles complete_only resume gets the forming (incomplete) candles of the last flush interval, and a
  // StreamAccount resume for "futures" gets spot positions. Fix: give ReplayFeed the consumer's `accepts` and
  // apply it to data events in ReplayCursor.pending, as FeedCursor.takeBatch does.
  it("events pending at the switch go through the consumer's accepts filter (complete_only, account market)", async () => {
    const { feed, source } = setup();
    const keep = subscribe(feed);
    read(keep.consumer);
    for (let v = 1; v <= 4; v++) source.sink!.data(v * 2); // even values: accepted
    await committed();
    source.sink!.data(9); // odd: not for this consumer; still pending in the recorder (flushed 50 ms later)
    source.sink!.data(10);
    const r = read(subscribe(feed, { afterSeq: 0, epoch: feed.epoch }, { accepts: (v) => v % 2 === 0 }).consumer);
    await r.until(() => r.heard.includes("replay-complete"), "the switch");
    expect(r.heard).toContain("d10#6"); // the pending events come at the switch, as data events…
    expect(r.heard).not.toContain("d9#5"); // …but the rejected one with them (got: d9#5 d10#6 replay-complete)
    keep.stop();
  });

  // Found in review (fixed; medium; a narrow window): a replay from a time whose start falls after every *committed* row starts
  // after `journal.last` (ReplayCursor.resolveTime: `journal.positionBefore(atMs) ?? journal.last`). But `last`
  // is the last row *appended* (FeedJournal.last, EventStore Journal.append moves it at once), not the last
  // committed: rows appended after the catch-up's waiter was registered and not committed when the
  // continuation runs (EventStore: a writer more than ROWS_PER_JOB behind, the rest in the next slice) are
  // skipped for good — neither read (they are before the start) nor pending (already handed over). Seen with
  // "start_time = now" during a burst. Fix: in resolveTime, when `journal.unsettled > 0` wait again (as
  // replay() does), or fall back to the last *committed* position rather than `last`.
  it("a replay from a time misses no event handed to the journal and not yet committed when the start is resolved", async () => {
    const { feed, source, recorder, clock } = setup();
    const keep = subscribe(feed);
    read(keep.consumer);
    for (let v = 1; v <= 3; v++) source.sink!.data(v);
    await committed();
    clock.now += 1_000; // (fixed: the journal's queries see the rows still queued for the writer)
    const startMs = clock.now;
    // A burst: a full batch (100) is handed to the journal at once, committed a writer turn later.
    for (let v = 4; v <= 103; v++) source.sink!.data(v);
    const injected = recorder.journal.read({ seq: 3, sub: 0 }, 200).length === 100;
    const r = read(subscribe(feed, { atMs: startMs }).consumer);
    await r.until(() => r.heard.includes("replay-complete"), "the switch");
    source.sink!.data(104);
    await r.until(() => r.heard.includes("d104#104"), "live");
    expect(injected).toBe(true);
    const seqs = r.heard.filter((w) => /^(r:)?d/.test(w)).map((w) => Number(w.split("#")[1]));
    expect(seqs[0]).toBe(4); // got: 104 — 4…103 (recorded at or after the start) were skipped
    expect(seqs.length).toBe(101);
    keep.stop();
  });
});

describe("review: where a replay may start", () => {
  // Found in review (fixed; medium): on a snapshot feed (depth, account) the OUT_OF_RANGE a replay from a time gets names an oldest
  // time it cannot start from either. planFor checks the start against `journal.oldest()` — the oldest *row*
  // (here the instance's "subscribed" note, recorded before the first snapshot; after retention, a delta whose
  // snapshot was deleted) — and resolveTime then finds no snapshot at or before the start and throws with
  // `journal.oldest()?.timeMs` again. A client retrying at the time it was told is refused for ever; and the
  // error comes after SUBSCRIBED, although ReplayCursor's doc promises range errors "before anything is sent".
  // Fix: for snapshot feeds, the oldest start is the oldest snapshot's time (check it in planFor, name it in
  // the error) — or start at the first snapshot after an earlier start.
  it("a snapshot feed's replay from the oldest time its OUT_OF_RANGE names is served", async () => {
    const { feed, source, clock } = setup("snapshot");
    const keep = subscribe(feed);
    read(keep.consumer);
    clock.now += 100;
    source.state = [5];
    source.sink!.data(5); // the first snapshot, 100 ms after the instance's first row
    clock.now += 100;
    source.sink!.data(6);
    await committed();
    let atMs = feed.epoch - 50; // before anything: refused, with the oldest time to start from
    for (let attempt = 0; attempt < 2; attempt++) {
      let r: ReturnType<typeof read>;
      try {
        r = read(subscribe(feed, { atMs }).consumer);
      } catch (err) {
        expect(err).toBeInstanceOf(ReplayRangeError);
        atMs = (err as ReplayRangeError).oldestMs!;
        continue;
      }
      await r.until(() => r.done || r.heard.includes("replay-complete"), "the replay");
      if (r.ended instanceof ReplayRangeError) {
        atMs = r.ended.oldestMs!;
        continue;
      }
      expect(r.heard).toContain("r:d6#2");
      expect(r.heard).toContain("replay-complete");
      keep.stop();
      return;
    }
    throw new Error(`a start at the oldest time named (${atMs}) was refused again`);
  });

  // Found in review (fixed; medium): a replaying consumer is never told the feed's current data kind or trouble state. For a
  // live joiner SharedFeed.subscribeLive pushes "delayed"/"frozen" (and "reconnecting", "waiting", "stale")
  // after SUBSCRIBED; with `detached` it returns before that ("hears the feed's state from its journal"), but
  // a replay from a time after that status was recorded never crosses it: the client gets REPLAY_COMPLETE
  // "live from here" and delayed data that passes for live. Fix: at attach (or with the first yield), push the
  // same state statuses subscribeLive gives a joiner (the data kind unless live, the current trouble state).
  it("a replay from a time says the data is delayed when the feed is delivering delayed data", async () => {
    const { feed, source, clock } = setup();
    const keep = subscribe(feed);
    read(keep.consumer);
    source.sink!.status("delayed", "IB sends delayed data (10167)");
    source.sink!.data(1);
    clock.now += 1_000;
    const startMs = clock.now;
    source.sink!.data(2);
    await committed();
    const joiner = read(subscribe(feed).consumer);
    await joiner.until(() => joiner.heard.includes("subscribed"), "the joiner");
    expect(joiner.heard).toContain("delayed"); // a live joiner is told
    const r = read(subscribe(feed, { atMs: startMs }).consumer);
    await r.until(() => r.heard.includes("replay-complete"), "the replay");
    source.sink!.data(3);
    await r.until(() => r.heard.includes("d3#3"), "live");
    expect(r.heard.some((w) => w === "delayed" || w === "r:delayed")).toBe(true); // got: subscribed r:d2#2 replay-complete d3#3
    keep.stop();
  });

  // Found in review (fixed; low): after retention deleted a data row but kept the statuses recorded after it (rows are deleted by
  // time, and statuses share the data event's seq), `oldest().position.seq` is the seq of a data event that
  // is gone, and planFor's `retainedFrom` accepts a resume right before it: the replay reports the deleted
  // event as "not recorded (a store write failed)" instead of "no longer retained". Fix: retainedFrom =
  // oldest.position.sub > 0 ? oldest.position.seq + 1 : oldest.position.seq.
  it("a resume right before a data event retention deleted hears 'no longer retained', not a failed write", async () => {
    const { feed, source, store } = setup();
    const keep = subscribe(feed);
    read(keep.consumer);
    for (let v = 1; v <= 5; v++) source.sink!.data(v);
    source.sink!.status("stale", "no data");
    source.sink!.data(6);
    await committed();
    // Retention deleted up to and including data event 5 (its status after it, at 5.1, is newer and kept).
    const rows = store.feeds.get("k")!.rows;
    rows.splice(0, rows.findIndex((row) => row.kind === "status" && row.seq === 5));
    const gaps: string[] = [];
    const replaying = subscribe(feed, { afterSeq: 4, epoch: feed.epoch });
    void (async () => {
      for await (const batch of replaying.consumer) for (const e of batch) if (e.type === "status" && e.status.kind === "gap") gaps.push(e.status.message);
    })();
    const until = Date.now() + WAIT_MS;
    while (gaps.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(gaps[0]).toMatch(/no longer retained/); // got: "events 5…5 were not recorded (a store write failed): not replayed"
    replaying.stop();
    keep.stop();
  });
});

describe("review: rows queued for the writer", () => {
  // Found in review (fixed; medium): since 0edf21c a journal's read() gives the rows still queued for the writer, but planFor
  // still judges what is retained by `journal.oldest()` — committed rows only — falling back to the recorder's
  // *unflushed* events (firstPendingSeq / firstPendingMs). While a feed's first rows wait for the writer (a
  // new instance; the writer busy with a large GetCandles write or backing off from the operator's lock), a
  // client resuming after an event it received live is told "no longer retained; continuing live" and loses
  // what it missed for good, although every row is readable (a start_time there gets OUT_OF_RANGE "nothing is
  // recorded that early"). Fix: oldest() (or planFor) must count the queued rows as read() does — the oldest
  // of committed ∪ queued.
  it("a resume after an event whose row still waits for the writer replays from there, not 'no longer retained'", async () => {
    const { feed, source, recorder } = setup();
    const keep = subscribe(feed);
    read(keep.consumer);
    for (let v = 1; v <= 5; v++) source.sink!.data(v);
    recorder.flush(); // handed to the journal, not yet committed (the writer runs a turn later)
    source.sink!.data(6); // not flushed yet
    const r = read(subscribe(feed, { afterSeq: 2, epoch: feed.epoch }).consumer);
    await r.until(() => r.heard.includes("replay-complete"), "the switch");
    expect(r.heard).not.toContain("gap"); // got: subscribed gap("… no longer retained; continuing live") replay-complete
    expect(r.heard.filter((w) => /^(r:)?d/.test(w))).toEqual(["r:d3#3", "r:d4#4", "r:d5#5", "d6#6"]);
    keep.stop();
  });
});

describe("review: a refused start", () => {
  // Found in review (fixed; low): a start the journal cannot serve is refused only after the upstream subscription was opened.
  // SharedFeed.subscribe creates the detached live cursor first (subscribeLive → openFor → ensureOpen: at IB,
  // reqMktData/reqMktDepth, a line taken) and only then builds the ReplayCursor, whose planFor throws
  // ReplayRangeError; on an idle feed every refused request costs an IB subscribe + cancel and a new journal
  // instance (its "subscribed again" rows). A client retrying a bad start in a loop churns IB's request budget
  // (50 msg/s). Fix: plan the replay (planFor needs only the journal and the feed's seq) before opening.
  it("a start the journal cannot serve is refused without opening the upstream subscription", () => {
    const store = new MemoryJournalStore();
    let opens = 0;
    const source: FeedSource<number> = { overflow: "fail", open: () => (opens++, { close: () => undefined }) };
    const recorder = new FeedRecorder<number>(store.openFeed("k", "trade", "SYM", 1_000), codec, SETTINGS);
    const feed = new SharedFeed<number>("k", source, { now: () => 1_000, onIdle: () => undefined, isConnected: () => true }, recorder);
    expect(() => subscribe(feed, { afterSeq: 5, epoch: feed.epoch })).toThrow(ReplayRangeError);
    expect(opens).toBe(0); // got: 1 — opened at IB, then cancelled
  });
});
