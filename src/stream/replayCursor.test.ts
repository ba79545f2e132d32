import { describe, expect, it } from "vitest";
import type { FeedEvent } from "./feedEvents.js";
import type { FeedConsumer } from "./feedCursor.js";
import { FeedRecorder, type RecordingSettings } from "./feedRecorder.js";
import type { OverflowPolicy } from "./overflowPolicy.js";
import { ReplayRangeError, type ReplayStart } from "./replayCursor.js";
import { SharedFeed } from "./sharedFeed.js";
import { MemoryJournalStore } from "./testing/memoryJournal.js";
import { PlayedSource, textCodec as codec } from "./testing/playedSource.js";

// The replay seam: SharedFeed + FeedRecorder + ReplayCursor over an in-memory journal (a named seam:
// MemoryJournalStore commits a setImmediate later, as the store's writer does) and a source the test plays.

const WAIT_MS = 2_000;



/** What a consumer hears, as words: replayed bytes decoded, live data "d<value>#<seq>", statuses by kind. */
function word(e: FeedEvent<number>): string {
  if (e.type === "recorded") return new TextDecoder().decode(e.bytes);
  if (e.type === "data") return `d${e.value}#${e.seq}`;
  if (e.type === "status") return e.status.kind;
  return "heartbeat";
}

const SETTINGS: RecordingSettings = { flushEveryMs: 1, batchEvents: 100, snapshotEveryMs: 1_000 };

function setup(store = new MemoryJournalStore(), overflow: OverflowPolicy = "fail", clock = { now: 1_000 }) {
  const source = new PlayedSource(overflow);
  const recorder = new FeedRecorder<number>(store.openFeed("k", "trade", "SYM", clock.now), codec, SETTINGS, overflow === "snapshot" ? () => source.joinEvents() : undefined);
  const feed = new SharedFeed<number>("k", source, { now: () => clock.now, onIdle: () => undefined, isConnected: () => true }, recorder);
  return { store, source, recorder, feed, clock };
}

/** Reads a consumer in the background until `until` holds for what it heard. */
function read(consumer: FeedConsumer<number>) {
  const heard: string[] = [];
  let ended: Error | undefined | "done";
  const waiters: (() => void)[] = [];
  void (async () => {
    try {
      for await (const batch of consumer) {
        heard.push(...batch.filter((e) => e.type !== "heartbeat").map(word));
        for (const w of waiters.splice(0)) w();
      }
      ended = "done";
    } catch (err) {
      ended = err as Error;
    }
    for (const w of waiters.splice(0)) w();
  })();
  return {
    heard,
    get ended() {
      return ended;
    },
    async until(pred: (heard: string[]) => boolean, what: string): Promise<void> {
      const giveUp = Date.now() + WAIT_MS;
      while (!pred(heard)) {
        if (Date.now() > giveUp) throw new Error(`${what}: heard ${heard.length} (… ${heard.slice(-8).join(" ")}), ended ${String(ended)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 20);
        });
      }
    },
  };
}

const dataSeqs = (heard: string[]) => heard.filter((w) => w.startsWith("d")).map((w) => Number(w.split("#")[1]));
const contiguous = (xs: number[]) => xs.every((x, i) => i === 0 || x === xs[i - 1]! + 1);

/** A consumer held to 50 events behind (a replay must never trip it); `keep`: one that holds the feed open, unbounded. */
function subscribe(feed: SharedFeed<number>, start?: ReplayStart | "keep", maxQueued = start === "keep" ? 1_000_000 : 50) {
  const controller = new AbortController();
  const consumer = feed.subscribe({ signal: controller.signal, heartbeatMs: 60_000, staleAfterMs: 0, maxQueued, ...(start === undefined || start === "keep" ? {} : { start }) });
  return { consumer, stop: () => controller.abort() };
}

describe("resume after a sequence", () => {
  it("gives every event after it exactly once — written, still pending and live — with REPLAY_COMPLETE at the switch", async () => {
    const { feed, source } = setup();
    const first = subscribe(feed);
    const witness = read(first.consumer);
    for (let v = 1; v <= 30; v++) source.sink!.data(v);
    await new Promise((r) => setImmediate(r)); // some written…
    await new Promise((r) => setTimeout(r, 5));
    for (let v = 31; v <= 40; v++) source.sink!.data(v); // …some still pending
    const resumed = subscribe(feed, { afterSeq: 12, epoch: feed.epoch });
    const r = read(resumed.consumer);
    await r.until((h) => h.includes("replay-complete"), "the replay");
    for (let v = 41; v <= 45; v++) source.sink!.data(v);
    await r.until((h) => dataSeqs(h).includes(45), "live after the replay");
    const seqs = dataSeqs(r.heard);
    expect(seqs[0]).toBe(13);
    expect(seqs.at(-1)).toBe(45);
    expect(contiguous(seqs)).toBe(true);
    expect(r.heard[0]).toBe("subscribed");
    expect(r.heard.indexOf("replay-complete")).toBe(r.heard.indexOf("d40#40") + 1);
    expect(r.heard[r.heard.indexOf("replay-complete") + 1]).toBe("live"); // the feed's state now
    await witness.until((h) => dataSeqs(h).includes(45), "the witness");
    resumed.stop();
    first.stop();
  });

  it("a slow replay never makes the feed drop its reader: 5,000 events behind a feed that keeps appending", async () => {
    const { feed, source } = setup();
    const keep = subscribe(feed, "keep"); // keeps the feed open
    read(keep.consumer);
    for (let v = 1; v <= 5_000; v++) source.sink!.data(v);
    const replaying = subscribe(feed, { afterSeq: 0, epoch: feed.epoch });
    const r = read(replaying.consumer);
    // While the replay pages through the journal, the feed appends far more than the consumer's bound (50).
    for (let v = 5_001; v <= 6_000; v++) source.sink!.data(v);
    await r.until((h) => dataSeqs(h).includes(6_000), "every event");
    expect(r.ended).toBeUndefined();
    const seqs = dataSeqs(r.heard);
    expect(seqs.length).toBe(6_000);
    expect(contiguous(seqs)).toBe(true);
    replaying.stop();
    keep.stop();
  });

  it("switches to live without a gap while the feed keeps recording every turn (rows handed to the journal during the catch-up)", async () => {
    const { feed, source } = setup();
    const keep = subscribe(feed, "keep");
    read(keep.consumer);
    let v = 0;
    let flooding = true;
    const flood = () => {
      for (let i = 0; i < 150; i++) source.sink!.data(++v); // more than a batch: handed to the journal at once
      if (flooding) setImmediate(flood);
    };
    flood();
    while (v < 2_000) await new Promise((r) => setImmediate(r));
    // Once live, a consumer 150 events behind each turn needs a bound above that (the replay itself has none).
    const replays = [0, 100, 1_000].map((afterSeq) => read(subscribe(feed, { afterSeq, epoch: feed.epoch }, 10_000).consumer));
    for (const r of replays) await r.until((h) => h.includes("replay-complete") && dataSeqs(h).length > 3_000, "replay then live");
    flooding = false;
    for (const r of replays) expect(contiguous(dataSeqs(r.heard))).toBe(true);
    keep.stop();
  });

  it("a sequence not reached yet is a ReplayRangeError before anything is sent; an unknown epoch is a GAP, then live", async () => {
    const { feed, source } = setup();
    const keep = subscribe(feed);
    source.sink!.data(1);
    expect(() => subscribe(feed, { afterSeq: 5, epoch: feed.epoch })).toThrow(ReplayRangeError);
    const other = subscribe(feed, { afterSeq: 1, epoch: 42 });
    const r = read(other.consumer);
    await r.until((h) => h.includes("replay-complete"), "the switch");
    source.sink!.data(2);
    await r.until((h) => h.includes("d2#2"), "live");
    expect(r.heard.slice(0, 4)).toEqual(["subscribed", "gap", "replay-complete", "live"]);
    other.stop();
    keep.stop();
  });

  it("the feed ending during a replay ends the consumer without REPLAY_COMPLETE", async () => {
    const { feed, source } = setup();
    const keep = subscribe(feed, "keep");
    for (let v = 1; v <= 3_000; v++) source.sink!.data(v);
    await new Promise((r) => setTimeout(r, 10));
    const replaying = subscribe(feed, { afterSeq: 0, epoch: feed.epoch });
    const r = read(replaying.consumer);
    source.sink!.fail(new Error("upstream gone"));
    await r.until(() => r.ended !== undefined, "the end");
    expect(r.heard).not.toContain("replay-complete");
    keep.stop();
  });
});

describe("numbering across instances", () => {
  it("continues after a clean close under the same epoch, and a replay crosses the instances with the status between them", async () => {
    const store = new MemoryJournalStore();
    const a = setup(store);
    const c = subscribe(a.feed);
    for (let v = 1; v <= 5; v++) a.source.sink!.data(v);
    c.stop(); // the last consumer leaves: the instance ends, its journal closes
    await new Promise((r) => setTimeout(r, 10));
    const b = setup(store);
    expect(b.feed.epoch).toBe(a.feed.epoch);
    const keep = subscribe(b.feed);
    b.source.sink!.data(6);
    const r = read(subscribe(b.feed, { afterSeq: 3, epoch: a.feed.epoch }).consumer);
    await r.until((h) => h.includes("replay-complete"), "the replay");
    expect(r.heard).toEqual(["subscribed", "d4#4", "d5#5", "gap", "d6#6", "replay-complete", "live"]);
    keep.stop();
  });

  it("after a crash a new epoch starts: resuming the old one beyond what it recorded replays the new epoch from its start", async () => {
    const store = new MemoryJournalStore();
    const a = setup(store);
    const old = a.feed.epoch;
    const c = subscribe(a.feed);
    for (let v = 1; v <= 5; v++) a.source.sink!.data(v);
    await new Promise((r) => setTimeout(r, 10));
    store.crash("k"); // the instance never closed its journal
    a.clock.now += 1_000;
    const b = setup(store, "fail", a.clock);
    expect(b.feed.epoch).not.toBe(old);
    const keep = subscribe(b.feed);
    b.source.sink!.data(100);
    const r = read(subscribe(b.feed, { afterSeq: 7, epoch: old }).consumer); // the client saw 6 and 7, never recorded
    await r.until((h) => h.includes("replay-complete"), "the replay");
    expect(r.heard).toEqual(["subscribed", "gap", "gap", "d100#6", "replay-complete", "live"]);
    c.stop();
    keep.stop();
  });
});

describe("start from a time", () => {
  it("a snapshot feed starts at the snapshot before the time, then its deltas; later snapshots are left out", async () => {
    const { feed, source, clock } = setup(undefined, "snapshot");
    const keep = subscribe(feed);
    source.state = [0];
    source.sink!.data(1); // snapshot (first data) recorded after #1
    clock.now += 1_500;
    source.state = [10];
    source.sink!.data(2); // a second snapshot after #2 (snapshotEveryMs passed)
    clock.now += 100;
    source.sink!.data(3);
    const startMs = clock.now - 50;
    clock.now += 100;
    source.sink!.data(4);
    const r = read(subscribe(feed, { atMs: startMs }).consumer);
    await r.until((h) => h.includes("replay-complete"), "the replay");
    expect(r.heard).toEqual(["subscribed", "d10#2", "d3#3", "d4#4", "replay-complete", "live"]);
    keep.stop();
  });

  it("older than the oldest recorded event is a ReplayRangeError naming it", () => {
    const { feed, clock } = setup();
    expect(() => subscribe(feed, { atMs: clock.now - 10 })).toThrow(/oldest event retained/);
  });
});
