import type { GatewayConnection } from "../connection/gatewayConnection.js";
import type { SubscriptionKind, SubscriptionSnapshot } from "./subscriptionSnapshot.js";
import { recordShed } from "../../metrics/streamMetrics.js";
import { SharedFeed, type FeedSource } from "../../stream/sharedFeed.js";

export interface FeedDescriptor {
  key: string;
  kind: SubscriptionKind;
  marketType: string;
  symbol: string;
  interval?: string;
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
    const feed = new SharedFeed<T>(descriptor.key, source(), {
      now: this.now,
      isConnected: () => this.connection.isReady,
      onIdle: (f) => {
        if (this.feeds.get(f.key)?.feed === f) this.feeds.delete(f.key);
      },
      onShed: (shed, events) => recordShed(descriptor.kind, shed, events),
    });
    this.feeds.set(descriptor.key, { feed: feed as SharedFeed<unknown>, descriptor });
    return feed;
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
      state: feed.currentState,
      requestedAtIb: feed.isRequestedUpstream,
      waiting: feed.currentWait,
    }));
  }

  closeAll(): void {
    for (const { feed } of this.feeds.values()) feed.close();
    this.feeds.clear();
  }
}
