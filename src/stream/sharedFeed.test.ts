// Over 400 lines on purpose: one behaviour table of SharedFeed, with the fake source and the recording
// consumer (≈ 150 lines) that every test shares; split it by behaviour if it grows further.
import { afterEach, describe, expect, it } from "vitest";
import type { FeedEvent, FeedStatus } from "./feedEvents.js";
import type { FeedCursor } from "./feedCursor.js";
import { ConsumerTooSlowError, type OverflowPolicy, type ShedKind } from "./overflowPolicy.js";
import { SharedFeed, type SharedFeedHooks } from "./sharedFeed.js";
import type { ConsumerOptions } from "./consumerOptions.js";
import type { FeedSink, FeedSource } from "./feedSource.js";

/** How long any wait in this file may take before the test fails with what was heard. */
const WAIT_MS = 2_000;

/**
 * The seam under test: a FeedSource that records its opens and closes and hands the test the sink of
 * the subscription it has open, so the test plays upstream (data, status, restart, fail).
 */
class FakeSource implements FeedSource<number> {
  opens = 0;
  closes = 0;
  /** What joinEvents() returns: the current state as data (a book, an account). */
  joinState: number[] = [];
  /** open() throws this (a refusal such as a line limit). */
  refuseOpen: Error | undefined;
  /** open() reports this through the sink before it returns (a source that refuses at once). */
  failWhileOpening: Error | undefined;
  /** What the open subscription's isRequested() says (a source holding its upstream request back says false). */
  requested = true;
  private current: FeedSink<number> | undefined;
  private readonly openWaiters: (() => void)[] = [];

  constructor(readonly overflow: OverflowPolicy = "fail") {}

  /** The sink of the open subscription (throws if none is open: a test must not play a closed upstream). */
  get sink(): FeedSink<number> {
    if (this.current === undefined) throw new Error("the fake source is not open");
    return this.current;
  }

  get isOpen(): boolean {
    return this.current !== undefined;
  }

  open(sink: FeedSink<number>) {
    if (this.refuseOpen !== undefined) throw this.refuseOpen;
    this.opens++;
    this.current = sink;
    for (const wake of this.openWaiters.splice(0)) wake();
    if (this.failWhileOpening !== undefined) sink.fail(this.failWhileOpening);
    return {
      isRequested: () => this.requested,
      close: () => {
        this.closes++;
        if (this.current === sink) this.current = undefined;
      },
    };
  }

  joinEvents(): number[] {
    return [...this.joinState];
  }

  /** Resolves at the next open(); fails after WAIT_MS. */
  nextOpen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the source was not opened again within ${WAIT_MS} ms`)), WAIT_MS);
      this.openWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** An event as a short word: "d7#3" is data 7 numbered 3, a status is its kind. */
function word(e: FeedEvent<number>): string {
  if (e.type === "data") return `d${e.value}#${e.seq}`;
  if (e.type === "status") return e.status.kind;
  return "heartbeat";
}

/** A consumer read in the background: what it heard (heartbeats left out), and how it ended. */
class Reading {
  readonly events: FeedEvent<number>[] = [];
  error: unknown;
  done = false;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly cursor: FeedCursor<number>, readonly controller: AbortController) {
    void (async () => {
      try {
        for await (const batch of cursor) {
          this.events.push(...batch.filter((e) => e.type !== "heartbeat"));
          this.notify();
        }
      } catch (err) {
        this.error = err;
      } finally {
        this.done = true;
        this.notify();
      }
    })();
  }

  get words(): string[] {
    return this.events.map(word);
  }

  get data(): Extract<FeedEvent<number>, { type: "data" }>[] {
    return this.events.filter((e): e is Extract<FeedEvent<number>, { type: "data" }> => e.type === "data");
  }

  statuses(kind: FeedStatus["kind"]): FeedStatus[] {
    return this.events.flatMap((e) => (e.type === "status" && e.status.kind === kind ? [e.status] : []));
  }

  /** Waits until `condition` holds, woken by what this consumer hears; bounded by WAIT_MS. */
  async until(condition: (r: this) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!condition(this)) {
      if (this.done) throw new Error(`the consumer ended before ${what}; heard [${this.words.join(", ")}], error ${String(this.error)}`);
      const remaining = deadline - Date.now();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; heard [${this.words.join(", ")}]`)), Math.max(remaining, 0));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the consumer heard `count` events in all. */
  heard(count: number): Promise<void> {
    return this.until((r) => r.events.length >= count, `${count} events`);
  }

  ended(): Promise<void> {
    return this.until((r) => r.done, "the end of the stream");
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

const feeds: SharedFeed<number>[] = [];

afterEach(() => {
  for (const feed of feeds.splice(0)) feed.close();
});

/** A feed over a fake source, with a clock and a connection flag the test moves. */
function setup(options: { overflow?: OverflowPolicy; retryPinnedMs?: number } = {}) {
  const source = new FakeSource(options.overflow);
  const world = {
    clock: 1_000,
    connected: true,
    idle: [] as SharedFeed<unknown>[],
    shed: [] as [ShedKind, number][],
  };
  const hooks: SharedFeedHooks = {
    now: () => world.clock,
    isConnected: () => world.connected,
    onIdle: (f) => void world.idle.push(f),
    onShed: (kind, events) => void world.shed.push([kind, events]),
    ...(options.retryPinnedMs === undefined ? {} : { retryPinnedMs: options.retryPinnedMs }),
  };
  const feed = new SharedFeed<number>("AAPL@SMART:quotes", source, hooks);
  feeds.push(feed);
  return { feed, source, world };
}

/** Subscribes a consumer (no heartbeats or stale statuses of its own within a test) and reads it. */
function consume(feed: SharedFeed<number>, options: Partial<ConsumerOptions<number>> = {}): Reading {
  const controller = new AbortController();
  const cursor = feed.subscribe({ heartbeatMs: 60_000, staleAfterMs: 0, ...options, signal: options.signal ?? controller.signal });
  return new Reading(cursor, controller);
}

describe("a shared feed over one upstream subscription", () => {
  it("opens the source once for the first consumer; a joiner gets 'subscribed' then the feed's state numbered as of its last event; the last one leaving closes the source and the feed goes idle", async () => {
    const { feed, source, world } = setup();
    const a = consume(feed);
    expect(source.opens).toBe(1);
    source.sink.data(1);
    source.sink.data(2);
    await a.until((r) => r.data.length === 2, "two data events");

    source.joinState = [100, 101]; // the current state as data (e.g. the book's levels)
    const b = consume(feed);
    expect(source.opens).toBe(1);
    expect(feed.consumerCount).toBe(2);
    await b.heard(4);
    expect(b.words).toEqual(["subscribed", "live", "d100#2", "d101#2"]); // not a replay of d1, d2
    expect(b.statuses("subscribed")[0]!.message).toBe("joined the shared IB subscription");

    source.sink.data(3);
    await Promise.all([a.until((r) => r.data.length === 3, "d3"), b.until((r) => r.data.length === 3, "d3")]);
    expect(a.words).toEqual(["subscribed", "d1#1", "d2#2", "d3#3"]);
    expect(b.words.at(-1)).toBe("d3#3");

    a.controller.abort();
    await a.ended();
    expect(source.closes).toBe(0);
    expect(world.idle).toEqual([]);
    b.controller.abort();
    await b.ended();
    expect(source.closes).toBe(1);
    expect(feed.consumerCount).toBe(0);
    expect(world.idle).toEqual([feed]);
  });

  it("numbers data 1, 2, 3… per feed and hands every consumer the very same event objects", async () => {
    const { feed, source } = setup();
    const other = setup();
    const [a, b] = [consume(feed), consume(feed)];
    const c = consume(other.feed);
    for (const v of [10, 20, 30]) source.sink.data(v);
    other.source.sink.data(99);
    await Promise.all([a, b].map((r) => r.until((x) => x.data.length === 3, "three data events")));
    await c.until((r) => r.data.length === 1, "one data event");
    expect(a.data.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(b.data.map((e) => e.value)).toEqual([10, 20, 30]);
    for (let i = 0; i < 3; i++) expect(a.data[i]).toBe(b.data[i]);
    expect(c.data.map((e) => e.seq)).toEqual([1]); // another feed numbers its own data
  });

  it("on a lost connection consumers hear 'reconnecting' and the source is closed; the reopen says 'gap' and the numbering goes on", async () => {
    const { feed, source, world } = setup();
    const a = consume(feed);
    source.sink.data(1);
    source.sink.data(2);
    world.clock = 5_000;
    world.connected = false;
    feed.connectionLost();
    expect(source.closes).toBe(1);
    expect(source.isOpen).toBe(false);
    await a.until((r) => r.statuses("reconnecting").length === 1, "reconnecting");
    expect(a.statuses("reconnecting")[0]!.atMs).toBe(5_000);

    world.connected = true;
    feed.reopen("reconnected to the Gateway");
    expect(source.opens).toBe(2);
    source.sink.data(3);
    await a.until((r) => r.data.length === 3, "d3");
    expect(a.words).toEqual(["subscribed", "d1#1", "d2#2", "reconnecting", "gap", "d3#3"]);
  });

  it("a source that fills gaps says the reopen's GAP itself (what it filled) before its data; if data comes first the feed's GAP precedes it", async () => {
    const { feed, source } = setup();
    Object.assign(source, { fillsGaps: true });
    const a = consume(feed);
    source.sink.data(1);
    feed.reopen("reconnected to the Gateway");
    source.sink.status("gap", "gap 14:01–14:03: 2 candles backfilled from IB history");
    source.sink.data(2);
    await a.until((r) => r.data.length === 2, "d2");
    feed.reopen("reconnected again");
    source.sink.data(3); // the source said nothing: the feed's own GAP comes first
    await a.until((r) => r.data.length === 3, "d3");
    expect(a.words).toEqual(["subscribed", "d1#1", "gap", "d2#2", "gap", "d3#3"]);
    expect(a.statuses("gap").map((g) => g.message)).toEqual(["gap 14:01–14:03: 2 candles backfilled from IB history", "reconnected again"]);
  });

  it("an upstream restart (a bust) reopens the source and marks the gap with its IB code, the numbering going on", async () => {
    const { feed, source } = setup();
    const a = consume(feed);
    source.sink.data(1);
    source.sink.restart("trade bust", 10225);
    expect([source.opens, source.closes]).toEqual([2, 1]);
    source.sink.data(2);
    await a.until((r) => r.data.length === 2, "d2");
    expect(a.words).toEqual(["subscribed", "d1#1", "gap", "d2#2"]);
    expect(a.statuses("gap")[0]!.ibCode).toBe(10225);
  });

  it("while the Gateway is away a new consumer hears 'reconnecting' and nothing is opened; the reconnect opens it", async () => {
    const { feed, source, world } = setup();
    world.connected = false;
    const a = consume(feed);
    await a.heard(2);
    expect(a.words).toEqual(["subscribed", "reconnecting"]);
    expect(source.opens).toBe(0);

    world.connected = true;
    feed.reopen("reconnected to the Gateway");
    expect(source.opens).toBe(1);
    source.sink.data(7);
    await a.until((r) => r.data.length === 1, "d7");
    expect(a.words).toEqual(["subscribed", "reconnecting", "gap", "d7#1"]);
  });

  // BUG (src/stream/sharedFeed.ts, subscribe): after connectionLost() the feed's `open` is undefined, so a
  // new consumer is not "joining" (no current state pushed) and the `!isConnected() && state !== "reconnecting"`
  // guard skips the direct "reconnecting" too: the joiner hears only "subscribed" (message "IB subscription
  // opened") and is told nothing of the outage until the reconnect's "gap".
  it("a consumer joining a feed whose Gateway connection was lost hears 'reconnecting' too", async () => {
    const { feed, source, world } = setup();
    const a = consume(feed);
    source.sink.data(1);
    world.connected = false;
    feed.connectionLost();
    const b = consume(feed);
    expect(source.opens).toBe(1);
    feed.announce("advisory", "marker: everything before this was delivered");
    await b.until((r) => r.statuses("advisory").length === 1, "the marker");
    await a.until((r) => r.statuses("advisory").length === 1, "the marker");
    expect(b.words.slice(0, -1)).toContain("reconnecting");
  });

  it("a joiner during a trouble state hears the feed's state first, then the trouble state; resume after 1102 announces the data kind the feed had, not live", async () => {
    const { feed, source } = setup();
    const a = consume(feed);
    source.sink.status("delayed", "delayed market data", 10167);
    source.sink.data(1);
    feed.announce("stale", "IB lost connectivity to its servers", 1100);
    source.joinState = [1];
    const b = consume(feed);
    await b.heard(4);
    expect(b.words).toEqual(["subscribed", "delayed", "d1#1", "stale"]);

    feed.resume("IB connectivity restored, data maintained", 1102);
    await Promise.all([a, b].map((r) => r.until((x) => x.words.at(-1) === "delayed" && x.words.length === 5, "the data kind after 1102")));
    expect(a.words).toEqual(["subscribed", "delayed", "d1#1", "stale", "delayed"]);
    expect(b.statuses("delayed")[1]!.ibCode).toBe(1102);
    expect(b.statuses("live")).toEqual([]);
    expect(feed.currentState).toBe("delayed");
  });

  // BUG (src/stream/sharedFeed.ts, subscribe): a joiner hears only the feed's *current* state; when that is a
  // trouble state (stale, gap, ...) it never hears the data kind (delayed/frozen) the others heard, so it takes
  // delayed data for live until the next data-kind status (which data resuming after "stale" does not send).
  it("a joiner during a trouble state on a delayed feed is told the data is delayed", async () => {
    const { feed, source } = setup();
    consume(feed);
    source.sink.status("delayed", "delayed market data", 10167);
    source.sink.data(1);
    feed.announce("stale", "IB lost connectivity to its servers", 1100);
    source.joinState = [1];
    const b = consume(feed);
    await b.heard(3);
    await b.until((r) => r.words.includes("stale"), "stale");
    expect(b.words.slice(0, b.words.indexOf("stale"))).toContain("delayed");
  });

  it("a source holding its request back says what it waits for and until when: to its consumers, to joiners, in 'stale', and as not requested upstream", async () => {
    const { feed, source, world } = setup();
    const a = consume(feed, { heartbeatMs: 20, staleAfterMs: 30 });
    source.sink.data(1);
    source.requested = false;
    source.sink.waiting("waiting for IB's historical pacing budget", 61_000);
    await a.until((r) => r.statuses("waiting").length === 1, "the waiting status");
    expect(a.statuses("waiting")[0]).toMatchObject({ message: "waiting for IB's historical pacing budget", untilMs: 61_000 });
    expect(feed.currentState).toBe("waiting");
    expect(feed.currentWait).toEqual({ message: "waiting for IB's historical pacing budget", untilMs: 61_000 });
    expect(feed.isRequestedUpstream).toBe(false);

    source.joinState = [1];
    const b = consume(feed);
    await b.until((r) => r.statuses("waiting").length === 1, "the joiner's waiting status");
    expect(b.statuses("waiting")[0]).toMatchObject({ message: "waiting for IB's historical pacing budget", untilMs: 61_000 });

    // No data for a while: the stale status says why, not a bare "no data".
    world.clock += 5_000;
    await a.until((r) => r.statuses("stale").length >= 1, "a stale status");
    expect(a.statuses("stale")[0]).toMatchObject({ message: "no data for 5 s: waiting for IB's historical pacing budget", untilMs: 61_000 });

    source.requested = true;
    source.sink.data(2);
    expect(feed.currentWait).toBeUndefined();
    expect(feed.isRequestedUpstream).toBe(true);
  });

  it("a pinned feed stays open with no consumer and counts as configured", async () => {
    const { feed, source, world } = setup();
    feed.pin(true);
    expect(source.opens).toBe(1);
    expect([feed.isPinned, feed.isConfigured, feed.consumerCount]).toEqual([true, true, 0]);
    source.sink.data(1);
    const a = consume(feed);
    source.sink.data(2);
    await a.until((r) => r.data.length === 1, "d2");
    expect(a.words).toEqual(["subscribed", "live", "d2#2"]);
    a.controller.abort();
    await a.ended();
    expect(source.closes).toBe(0);
    expect(world.idle).toEqual([]);
  });

  it("a failure on a pinned feed ends its consumers with the error and retries after retryPinnedMs, the numbering going on", async () => {
    const { feed, source, world } = setup({ retryPinnedMs: 10 });
    feed.pin(true);
    const a = consume(feed);
    source.sink.data(1);
    const reopened = source.nextOpen();
    source.sink.fail(new Error("max number of tickers reached"));
    expect(source.closes).toBe(1);
    expect(feed.currentState).toBe("limit-exceeded");
    await a.ended();
    expect((a.error as Error).message).toBe("max number of tickers reached");
    expect(a.words).toEqual(["subscribed", "d1#1"]); // what came before the error, then the error
    expect(world.idle).toEqual([]);

    await reopened;
    expect(source.opens).toBe(2);
    const b = consume(feed);
    source.sink.data(2);
    await b.until((r) => r.data.length === 1, "d2");
    expect(b.data[0]!.seq).toBe(2);
  });

  it("a configured feed whose source fails while opening stays pinned and is retried, not dropped", async () => {
    const { feed, source, world } = setup({ retryPinnedMs: 10 });
    source.failWhileOpening = new Error("max number of tickers reached");
    const reopened = source.nextOpen();
    feed.pin(true);
    expect([feed.isPinned, feed.isConfigured, world.idle]).toEqual([true, true, []]);
    source.failWhileOpening = undefined;
    await reopened; // the first, failed open
    await source.nextOpen(); // the retry
    expect(source.opens).toBe(2);
    expect(source.closes).toBe(1);
  });

  it("a failure on an unpinned feed ends every consumer with the error, closes the source and the feed goes idle", async () => {
    const { feed, source, world } = setup();
    const [a, b] = [consume(feed), consume(feed)];
    const error = new Error("no market data permissions");
    source.sink.fail(error);
    await Promise.all([a.ended(), b.ended()]);
    expect([a.error, b.error]).toEqual([error, error]);
    expect(source.closes).toBe(1);
    expect(feed.consumerCount).toBe(0);
    // Called twice in fact (by the last consumer's close, then by the failure itself); the registry's
    // onIdle is idempotent, so only its being called is asserted.
    expect(world.idle).toContain(feed);
  });

  // BUG (src/stream/sharedFeed.ts, ensureOpen): `this.open = this.source.open(sink)` is assigned after open()
  // returns, so a source that calls sink.fail() while opening is failed (consumers ended, onIdle) and then
  // still recorded as open: its subscription is never closed (leaked upstream line). A sink.restart() while
  // opening likewise leaks the inner reopen's subscription.
  it("a source that fails while opening is closed again", async () => {
    const { feed, source, world } = setup();
    source.failWhileOpening = new Error("refused");
    const a = consume(feed);
    await a.ended();
    expect((a.error as Error).message).toBe("refused");
    expect(world.idle).toContain(feed);
    expect(source.closes).toBe(source.opens);
  });

  it("a refused open throws to the subscriber and leaves nothing open or registered", () => {
    const { feed, source, world } = setup();
    source.refuseOpen = new Error("max number of tickers reached");
    expect(() => feed.subscribe({ signal: new AbortController().signal })).toThrow("max number of tickers reached");
    expect([source.opens, feed.consumerCount]).toEqual([0, 0]);
    expect(world.idle).toEqual([feed]);
    expect(() => feed.pin(true)).toThrow("max number of tickers reached");
    expect(feed.isPinned).toBe(false);
  });

  it("a consumer aborted before it subscribes leaves nothing open and ends at once", async () => {
    const { feed, source, world } = setup();
    const controller = new AbortController();
    controller.abort();
    const gone = consume(feed, { signal: controller.signal });
    await gone.ended();
    expect(gone.events).toEqual([]);
    expect([source.opens, feed.consumerCount]).toEqual([0, 0]);
    expect(world.idle).toEqual([feed]);

    // Joining a running feed, it does not disturb the others either.
    const a = consume(feed);
    const alsoGone = consume(feed, { signal: controller.signal });
    await alsoGone.ended();
    expect([source.opens, source.closes, feed.consumerCount]).toEqual([1, 0, 1]);
    source.sink.data(1);
    await a.until((r) => r.data.length === 1, "d1");
  });

  it("fail policy: a consumer that stops reading is ended with ConsumerTooSlowError at the upkeep after it falls maxQueued behind, while one that reads keeps everything", async () => {
    const { feed, source, world } = setup({ overflow: "fail" });
    const overflowed: ConsumerTooSlowError[] = [];
    const slowController = new AbortController();
    const slow = feed.subscribe({ signal: slowController.signal, maxQueued: 10, heartbeatMs: 60_000, staleAfterMs: 0, onOverflow: (e) => void overflowed.push(e) });
    const reader = consume(feed, { maxQueued: 10 });
    for (let i = 1; i <= 300; i++) {
      source.sink.data(i);
      if (i === 255) expect(slow.isClosed).toBe(false); // 245 beyond its bound, but not checked yet
      if (i === 256) expect(slow.isClosed).toBe(true); // the upkeep every 256 appends
      await reader.until((r) => r.data.length === i, `d${i}`);
    }
    expect(overflowed).toHaveLength(1);
    expect(overflowed[0]).toBeInstanceOf(ConsumerTooSlowError);
    expect(overflowed[0]!.maxQueued).toBe(10);
    expect(world.shed).toEqual([["overflow", 256]]);
    await expect(slow[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(ConsumerTooSlowError);

    expect(reader.done).toBe(false);
    expect(reader.data.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(feed.consumerCount).toBe(1);
  });

  it("gives each consumer only the data it accepts, statuses and numbering untouched", async () => {
    const { feed, source } = setup();
    const even = consume(feed, { accepts: (v) => v % 2 === 0 });
    const all = consume(feed);
    for (let v = 1; v <= 4; v++) source.sink.data(v);
    feed.announce("advisory", "end of the test's data");
    await Promise.all([even, all].map((r) => r.until((x) => x.words.includes("advisory"), "the advisory")));
    expect(even.words).toEqual(["subscribed", "d2#2", "d4#4", "advisory"]);
    expect(all.words).toEqual(["subscribed", "d1#1", "d2#2", "d3#3", "d4#4", "advisory"]);
  });
});
