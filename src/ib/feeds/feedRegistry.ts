import type { GatewayConnection } from "../connection/gatewayConnection.js";
import type { SubscriptionKind, SubscriptionSnapshot } from "./subscriptionSnapshot.js";
import { recordShed } from "../../metrics/streamMetrics.js";
import { SharedFeed } from "../../stream/sharedFeed.js";
import type { FeedSource } from "../../stream/feedSource.js";
import type { FeedConsumer } from "../../stream/feedCursor.js";
import type { JournalStore } from "../../stream/feedJournal.js";
import { FeedRecorder, type FeedCodec, type RecordingSettings } from "../../stream/feedRecorder.js";
import { SERVICE_LINES, type ClientLines, type LineConsumerOptions } from "./clientLines.js";
import type { LineKind } from "./lineBudget.js";

/** The IB line each kind of subscription holds (account updates and order events hold none). */
const LINE_OF: Record<SubscriptionKind, LineKind | undefined> = {
  tick: "marketDataLines",
  candle: "marketDataLines", // reqRealTimeBars
  trade: "tickByTick",
  orderBook: "depth",
  account: undefined,
  orders: undefined,
};

export interface FeedDescriptor {
  key: string;
  kind: SubscriptionKind;
  marketType: string;
  symbol: string;
  interval?: string;
}

/** Where and how every feed's events are recorded (the store's journal; the API's encoding of each kind). */
export interface FeedRecording {
  store: JournalStore;
  codec: (kind: SubscriptionKind) => FeedCodec<unknown>;
  settings: RecordingSettings;
}

interface Entry {
  feed: SharedFeed<unknown>;
  descriptor: FeedDescriptor;
}

/**
 * All live shared feeds, by key. Carries the connection's life to them: a lost Gateway tells every
 * consumer "reconnecting"; a reconnect (or IB's 1101 "data lost") reopens every feed at IB and marks a
 * gap; 1100 marks them stale and 1102 live again.
 */
export class FeedRegistry {
  private readonly feeds = new Map<string, Entry>();

  constructor(
    private readonly connection: GatewayConnection,
    private readonly now: () => number = Date.now,
    /** The clients' lines: charged per consumer (consume, pin), given back when a feed ends. */
    private readonly lines?: ClientLines,
    /** Records every feed while it runs (none: nothing is kept, no stream can start in the past). */
    private readonly recording?: FeedRecording,
  ) {
    connection.on("lost", () => {
      for (const { feed } of this.feeds.values()) feed.connectionLost();
    });
    connection.on("ready", ({ reconnected }) => {
      if (!reconnected) return;
      for (const { feed } of this.feeds.values()) feed.reopen("reconnected to the Gateway: events between the loss and now may be missing");
    });
    connection.on("ibConnectivity", ({ up, dataLost, code }) => {
      for (const { feed } of this.feeds.values()) {
        if (!up) feed.announce("stale", "IB lost connectivity to its servers; data is stale until it is restored", code);
        else if (dataLost) feed.reopen(`IB connectivity restored, data lost (IB ${code}): resubscribed`);
        else feed.resume(`IB connectivity restored, data maintained (IB ${code})`, code);
      }
    });
  }

  /** The running feed for the descriptor's key, or a new one built from `source()` (not opened yet). */
  acquire<T>(descriptor: FeedDescriptor, source: () => FeedSource<T>): SharedFeed<T> {
    const existing = this.feeds.get(descriptor.key);
    if (existing !== undefined) return existing.feed as SharedFeed<T>;
    const feedSource = source();
    const feed = new SharedFeed<T>(descriptor.key, feedSource, {
      now: this.now,
      isConnected: () => this.connection.isReady,
      onIdle: (f) => {
        if (this.feeds.get(f.key)?.feed !== f) return;
        this.feeds.delete(f.key);
        this.lines?.ended(f.key);
      },
      onShed: (shed, events) => recordShed(descriptor.kind, shed, events),
    }, this.recorderFor(descriptor, feedSource));
    this.feeds.set(descriptor.key, { feed: feed as SharedFeed<unknown>, descriptor });
    return feed;
  }

  /** A new feed instance's recorder: the journal continued, the state recorded as snapshots where it is one (the book, the account). */
  private recorderFor<T>(descriptor: FeedDescriptor, source: FeedSource<T>): FeedRecorder<T> | undefined {
    if (this.recording === undefined) return undefined;
    const { store, codec, settings } = this.recording;
    const journal = store.openFeed(descriptor.key, descriptor.kind, descriptor.symbol, this.now());
    const state = source.overflow === "snapshot" && source.joinEvents !== undefined ? () => source.joinEvents!() : undefined;
    return new FeedRecorder<T>(journal, codec(descriptor.kind) as FeedCodec<T>, settings, state);
  }

  /**
   * A consumer of the feed (acquired as above), charged to `options.client`'s lines (SERVICE_LINES when
   * none is named): refused before anything is requested when the client or IB has no line left (see
   * ClientLines). The charge is given back when `options.signal` aborts or the feed ends.
   */
  consume<T>(descriptor: FeedDescriptor, source: () => FeedSource<T>, options: LineConsumerOptions<T>): FeedConsumer<T> {
    const line = LINE_OF[descriptor.kind];
    const release = line === undefined || this.lines === undefined ? () => undefined : this.lines.charge(options.client ?? SERVICE_LINES, line, descriptor.key);
    try {
      const cursor = this.acquire(descriptor, source).subscribe(options);
      if (cursor.isClosed) release();
      else options.signal.addEventListener("abort", release, { once: true });
      return cursor;
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Keeps the feed open with no consumer (configured `active` subscriptions), its line charged to SERVICE_LINES. */
  pin<T>(descriptor: FeedDescriptor, source: () => FeedSource<T>): void {
    const line = LINE_OF[descriptor.kind];
    const release =
      line === undefined || this.lines === undefined || this.lines.holds(SERVICE_LINES, descriptor.key) ? () => undefined : this.lines.charge(SERVICE_LINES, line, descriptor.key);
    try {
      this.acquire(descriptor, source).pin(true);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The latest data of a running feed (e.g. the current quote), without subscribing. */
  peek<T>(key: string): T | undefined {
    return (this.feeds.get(key)?.feed as SharedFeed<T> | undefined)?.latest();
  }

  snapshots(): SubscriptionSnapshot[] {
    return [...this.feeds.values()].map(({ feed, descriptor }) => ({
      key: descriptor.key,
      kind: descriptor.kind,
      marketType: descriptor.marketType,
      symbol: descriptor.symbol,
      interval: descriptor.interval ?? "",
      consumers: feed.consumerCount + (feed.isPinned ? 1 : 0),
      configured: feed.isConfigured,
      lastMessageAt: feed.lastMessageAt === undefined ? undefined : new Date(feed.lastMessageAt),
      lastSequence: feed.lastSequence,
      epoch: feed.epoch,
      state: feed.currentState,
      requestedAtIb: feed.isRequestedUpstream,
      waiting: feed.currentWait,
    }));
  }

  closeAll(): void {
    for (const { feed } of this.feeds.values()) feed.close();
    this.feeds.clear();
    this.lines?.clear();
  }
}
