import { headers } from "@nats-io/transport-node";
import type { Logger } from "../log/logger.js";
import type { JournalPosition, RecordedEvent } from "../stream/feedJournal.js";
import type { FeedTap, FeedTaps, TappedFeed } from "../stream/feedTap.js";
import { busDuplicates, busInFlight, busPublished, busPublishFailures, busQueued, busShed } from "./busMetrics.js";
import type { BusSettings } from "./busSettings.js";
import { batchesOf, payloadOf, rowsHeader, timesHeader } from "./busBatch.js";
import { accountToken, feedSubject, isBusFeedKind, publicFeedKey, streamOf, type BusFeedKind } from "./busSubjects.js";
import type { JetStreamAcks } from "./jetStreamAcks.js";

/** What the publisher needs to know of the feeds it names (the adapter, in the app). */
export interface BusDirectory {
  /** The account the Gateway serves; undefined until connected (publishing waits for it). */
  account(): string | undefined;
  /** A running feed's market type and canonical symbol, by key; undefined once it has ended. */
  feed(key: string): { market: string; symbol: string } | undefined;
}

/** Headers every message carries (besides Nats-Msg-Id): who it is of, and where it sits in its feed. */
export const BUS_HEADERS = Object.freeze({ feed: "Ibp-Feed", epoch: "Ibp-Epoch", seq: "Ibp-Seq", sub: "Ibp-Sub", rows: "Ibp-Rows", time: "Ibp-Time", times: "Ibp-Times", shed: "Ibp-Shed" });

/** One feed instance's outlet, named once it can be (the account known, the feed registered). */
interface Outlet {
  feed: TappedFeed;
  kind: BusFeedKind;
  subject: string | undefined;
  publicKey: string;
  /** Rows of this feed shed and not yet told of: the next message sent says so (Ibp-Shed). */
  shed?: { from: JournalPosition; to: JournalPosition };
}

/** One message: a batch of one feed's rows (busBatch.ts). */
interface Outgoing {
  outlet: Outlet;
  rows: RecordedEvent[];
  /** Queue order: retried publishes go back in it where they were. */
  order: number;
  /** The rows of the feed shed before this message (`seq:sub-seq:sub`), fixed when it is first sent: a retry says the same. */
  shedBefore?: string;
}

/** Counts of events (rows), but `failures` and `inFlight`, which count messages. */
export interface BusPublisherStats {
  published: number;
  duplicates: number;
  /** Shed because the queue was full (the bus slow or away). */
  shed: number;
  /** Shed because the feed ended before it could be named (refused at once, before its first event). */
  unroutable: number;
  /** Shed because their message was larger than the bus takes (its max_payload): retried, it would block every feed. */
  tooLarge: number;
  failures: number;
  queued: number;
  inFlight: number;
}

type PublishSettings = Pick<BusSettings, "subjectPrefix" | "maxQueued" | "maxInFlight"> & {
  /** The largest batch in bytes (busBatch.ts batchBytesFor the server's max_payload; default MAX_BATCH_BYTES). */
  maxBatchBytes?: number;
};

/** After a failed publish, publishing pauses this long, doubling per failure up to MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 2_000;
/** While shedding, a log line at most this often (with the counts since the previous one). */
const SHED_LOG_EVERY_MS = 10_000;

/**
 * Publishes every tapped feed's events to JetStream, pipelined: up to maxInFlight publishes await their
 * acknowledgement at once (one at a time would cap it at the round trip), matched by JetStreamAcks. Never in the way of
 * the feeds: `events` only queues; when the bus is slow or away the queue stays bounded by shedding its
 * oldest events (counted, logged, in metrics) while the IB side and local clients are served as before. A
 * failed publish is retried with the same Nats-Msg-Id, so JetStream stores it once.
 */
export class BusPublisher implements FeedTaps {
  private queue: (Outgoing | undefined)[] = [];
  private head = 0;
  /** Events in the queue (its batches' rows). */
  private queuedEvents = 0;
  private order = 0;
  private inFlight = 0;
  /** Events in the messages in flight: with the queue's, at most 2 × maxQueued held (a message is up to 1,000). */
  private inFlightEvents = 0;
  /** Failed publishes, put back at the front of the queue once nothing is in flight (in their order). */
  private retry: Outgoing[] = [];
  private pausedUntil = 0;
  private pauseMs = FIRST_PAUSE_MS;
  private connected = true;
  private timer: NodeJS.Timeout | undefined;
  private drainScheduled = false;
  private closed = false;
  private troubleSince: number | undefined;
  private shedSinceLog = 0;
  private lastShedLogMs = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly counts = { published: 0, duplicates: 0, shed: 0, unroutable: 0, tooLarge: 0, failures: 0 };
  private readonly addresses = new Map<string, { market: string; symbol: string }>();
  /** The newest instance's outlet of each feed key (a key's instances share its subject). */
  private readonly outlets = new Map<string, Outlet>();

  constructor(
    private readonly acks: Pick<JetStreamAcks, "publish">,
    private readonly directory: BusDirectory,
    private readonly settings: PublishSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  open(feed: TappedFeed): FeedTap {
    // Order events stay on the provider (an edge does not serve OrderService): recorded, not published.
    if (!isBusFeedKind(feed.kind)) return { events: () => undefined, close: () => undefined };
    const outlet: Outlet = { feed, kind: feed.kind, subject: undefined, publicKey: feed.key };
    this.outlets.set(feed.key, outlet);
    return {
      events: (rows) => this.enqueue(outlet, rows),
      close: () => undefined,
    };
  }

  /**
   * Where a running feed's rows go: its subject and the JetStream stream holding them (an edge reads them
   * there); undefined when the feed is not running or cannot be named yet (the account not known).
   */
  addressOf(key: string): { subject: string; stream: string } | undefined {
    const outlet = this.outlets.get(key);
    if (outlet === undefined) return undefined;
    const subject = this.route(outlet);
    return subject === undefined || subject === "wait" ? undefined : { subject, stream: streamOf(this.settings.subjectPrefix, outlet.kind).name };
  }

  stats(): BusPublisherStats {
    return { ...this.counts, queued: this.queuedEvents, inFlight: this.inFlight };
  }

  /** The connection to the bus went away or came back: publishing pauses meanwhile (nothing would be acknowledged). */
  setConnected(up: boolean): void {
    this.connected = up;
    if (up) {
      this.pausedUntil = 0;
      this.schedule();
    }
  }

  /** Publishes what is queued (for at most `graceMs`), then nothing more. */
  async close(graceMs: number): Promise<void> {
    if (this.queue.length - this.head + this.inFlight + this.retry.length > 0 && this.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
        this.schedule();
      });
    }
    this.closed = true;
    clearTimeout(this.timer);
    // In flight too: the connection closes next, their answers will not come.
    const left = this.queuedEvents + this.inFlightEvents + this.retry.reduce((n, r) => n + r.rows.length, 0);
    if (left > 0) this.log.warn({ events: left }, "stopping with events not published to the bus");
  }

  private enqueue(outlet: Outlet, rows: readonly RecordedEvent[]): void {
    if (this.closed) return;
    for (const batch of batchesOf(rows, this.settings.maxBatchBytes)) this.push({ outlet, rows: batch, order: this.order++ });
    this.shedBeyondLimit();
    this.schedule();
  }

  private push(item: Outgoing): void {
    this.queue.push(item);
    this.queuedEvents += item.rows.length;
  }

  /** The queue's next batch, taken out of it. */
  private take(): Outgoing {
    const item = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    this.queuedEvents -= item.rows.length;
    return item;
  }

  /**
   * The queue's oldest batches go while it holds more than maxQueued events: the freshest are the ones worth
   * sending late.
   */
  private shedBeyondLimit(): void {
    let excess = 0;
    while (this.queuedEvents > this.settings.maxQueued && this.head < this.queue.length) {
      const item = this.take();
      excess += item.rows.length;
      noteShed(item);
      busShed.inc({ kind: item.outlet.kind, reason: "queue-full" }, item.rows.length);
    }
    if (excess <= 0) return;
    this.counts.shed += excess;
    this.shedSinceLog += excess;
    const now = this.now();
    if (now - this.lastShedLogMs >= SHED_LOG_EVERY_MS) {
      this.log.warn({ shed: this.shedSinceLog, shedTotal: this.counts.shed, queued: this.settings.maxQueued, connected: this.connected }, "the bus is not keeping up: its queue is full, the oldest events are shed (local clients are served as before)");
      this.lastShedLogMs = now;
      this.shedSinceLog = 0;
    }
  }

  private schedule(delayMs = 0): void {
    if (this.closed) return;
    if (delayMs > 0) {
      if (this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, delayMs);
        this.timer.unref();
      }
      return;
    }
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    // After the current turn: the flushes of every feed recorded in it go out together.
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.settings.maxInFlight && this.head < this.queue.length && (this.inFlight === 0 || this.inFlightEvents + this.queue[this.head]!.rows.length <= this.settings.maxQueued)) {
      // Checked per publish: one can fail at once (a closed connection) and pause publishing.
      if (this.closed || !this.connected) return;
      const wait = this.pausedUntil - this.now();
      if (wait > 0) return this.schedule(wait);
      const subject = this.route(this.queue[this.head]!.outlet);
      if (subject === "wait") return this.schedule(FIRST_PAUSE_MS);
      const item = this.take();
      if (subject === undefined) {
        this.counts.unroutable += item.rows.length;
        busShed.inc({ kind: item.outlet.kind, reason: "unroutable" }, item.rows.length);
        continue;
      }
      this.send(item, subject);
    }
    // Compact now and then: the array is not shifted per event.
    if (this.head > 4_096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.updateGauges();
    // What was left may have been shed as unroutable, with no answer to wait for.
    this.wakeIfIdle();
  }

  /** The outlet's subject: "wait" while the account is not known yet; undefined when the feed can no longer be named. */
  private route(outlet: Outlet): string | "wait" | undefined {
    if (outlet.subject !== undefined) return outlet.subject;
    // An account feed is of the account its key names (`account/<id>`), whichever is active by now; the
    // market feeds are published under the active account's.
    const accountId = outlet.kind === "account" ? outlet.feed.key.slice("account/".length) : this.directory.account();
    if (accountId === undefined) return "wait";
    // A key names one instrument and market for good: remembered, so that a later instance gone before its
    // first publish (refused at once, cancelled in the same turn) is still named.
    const described = this.addresses.get(outlet.feed.key) ?? this.directory.feed(outlet.feed.key);
    if (described === undefined && outlet.kind !== "account") return undefined;
    if (described !== undefined) this.addresses.set(outlet.feed.key, described);
    const account = accountToken(accountId);
    outlet.publicKey = publicFeedKey(outlet.feed.key, outlet.kind, account);
    outlet.subject = feedSubject(this.settings.subjectPrefix, account, { key: outlet.feed.key, kind: outlet.kind, market: described?.market ?? "", symbol: described?.symbol ?? "" });
    return outlet.subject;
  }

  private send(item: Outgoing, subject: string): void {
    const { outlet, rows } = item;
    const first = rows[0]!;
    const epoch = String(outlet.feed.epoch);
    const seq = String(first.seq);
    const sub = String(first.sub);
    const h = headers();
    h.set(BUS_HEADERS.feed, outlet.publicKey);
    h.set(BUS_HEADERS.epoch, epoch);
    h.set(BUS_HEADERS.seq, seq);
    h.set(BUS_HEADERS.sub, sub);
    h.set(BUS_HEADERS.rows, rowsHeader(rows));
    h.set(BUS_HEADERS.time, String(first.timeMs));
    if (rows.length > 1) h.set(BUS_HEADERS.times, timesHeader(rows));
    // Consumers see missing data sequences, but not a missing status: the range shed is said outright.
    if (item.shedBefore === undefined && outlet.shed !== undefined) {
      const { from, to } = outlet.shed;
      item.shedBefore = `${from.seq}:${from.sub}-${to.seq}:${to.sub}`;
      outlet.shed = undefined;
    }
    if (item.shedBefore !== undefined) h.set(BUS_HEADERS.shed, item.shedBefore);
    // A batch is named by its first position and its length: a retry sends the same batch, stored once.
    h.set("Nats-Msg-Id", `${outlet.publicKey}:${epoch}:${seq}:${sub}+${rows.length}`);
    this.inFlight++;
    this.inFlightEvents += rows.length;
    this.acks.publish(subject, payloadOf(rows), h, (outcome) => {
      this.inFlightEvents -= rows.length;
      if (outcome.ok) {
        this.counts.published += rows.length;
        busPublished.inc({ kind: outlet.kind }, rows.length);
        if (outcome.duplicate) {
          this.counts.duplicates += rows.length;
          busDuplicates.inc({ kind: outlet.kind }, rows.length);
        }
      } else if (outcome.tooLarge === true) {
        // The same message would be refused again: shed, not retried (nor a pause: the bus is fine).
        this.counts.tooLarge += rows.length;
        noteShed(item);
        busShed.inc({ kind: outlet.kind, reason: "too-large" }, rows.length);
        this.log.warn({ feed: outlet.publicKey, seq: first.seq, sub: first.sub, rows: rows.length, error: outcome.error }, "a message larger than the bus takes (its max_payload) is shed");
        return this.settled(undefined);
      } else {
        this.counts.failures++;
        busPublishFailures.inc();
        this.retry.push(item);
      }
      this.settled(outcome.ok ? undefined : outcome.error);
    });
  }

  /** A publish was answered: `error` undefined when stored. */
  private settled(error: string | undefined): void {
    this.inFlight--;
    const now = this.now();
    if (error === undefined) {
      this.pauseMs = FIRST_PAUSE_MS;
      if (this.troubleSince !== undefined) {
        this.log.info({ troubleMs: now - this.troubleSince, shedTotal: this.counts.shed, failures: this.counts.failures }, "publishing to the bus again");
        this.troubleSince = undefined;
      }
    } else {
      if (this.troubleSince === undefined) {
        this.troubleSince = now;
        this.log.warn({ error, maxQueued: this.settings.maxQueued }, "a publish to the bus failed: retrying; events wait in a bounded queue, the oldest are shed when it is full");
      }
      if (this.pausedUntil <= now) {
        this.pausedUntil = now + this.pauseMs;
        this.pauseMs = Math.min(this.pauseMs * 2, MAX_PAUSE_MS);
      }
    }
    if (this.inFlight === 0 && this.retry.length > 0) {
      const retry = this.retry.sort((a, b) => a.order - b.order);
      this.retry = [];
      this.queue.splice(this.head, 0, ...retry);
      this.queuedEvents += retry.reduce((n, r) => n + r.rows.length, 0);
      this.shedBeyondLimit();
    }
    this.wakeIfIdle();
    this.schedule();
  }

  /** Nothing queued, retried or in flight: close() need not wait any longer. */
  private wakeIfIdle(): void {
    if (this.inFlight === 0 && this.retry.length === 0 && this.head === this.queue.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private updateGauges(): void {
    busQueued.set(this.queuedEvents);
    busInFlight.set(this.inFlight);
  }
}

/** Notes a batch's rows as shed, on its feed's outlet (the range grows until a message tells of it). */
function noteShed(item: Outgoing): void {
  const first = item.rows[0]!;
  const last = item.rows[item.rows.length - 1]!;
  item.outlet.shed = { from: item.outlet.shed?.from ?? { seq: first.seq, sub: first.sub }, to: { seq: last.seq, sub: last.sub } };
}
