import type { ServerWritableStream } from "@grpc/grpc-js";
import type { LeaseEnd, LeaseEvents, LeaseJoin, LeaseReply } from "../bus/busLeases.js";
import type { BusCall } from "../bus/busRpc.js";
import { framedEntries } from "../bus/busBatch.js";
import { isLater, type FeedMessage, type FeedPosition, type ReadStart, type TimeStart } from "../bus/feedReader.js";
import { ApiError } from "../grpc/apiError.js";
import { replayRangeError } from "../grpc/requests/replayFields.js";
import { encodeBatch } from "../grpc/streamEncoding.js";
import { isFeedStream, readStreamRequest, type StreamRequest } from "../grpc/streamRequests.js";
import { CLIENT_NOT_READING } from "../grpc/handlers.js";
import type { Logger } from "../log/logger.js";
import type { FeedEvent, FeedStatus } from "../stream/feedEvents.js";
import { ReplayRangeError } from "../stream/replayCursor.js";
import { toServiceError } from "../grpc/statusDetails.js";
import { edgeBusLag, edgeStreams } from "./edgeMetrics.js";
import { status } from "@grpc/grpc-js";

/** What an edge needs to serve streams: leases from the provider, the feeds' rows from JetStream. */
export interface EdgeFeeds {
  lease(call: BusCall, events: LeaseEvents): Promise<LeaseReply>;
  release(id: string): void;
  findStart(stream: string, subject: string, after: FeedPosition): Promise<ReadStart>;
  findStartAt(stream: string, subject: string, atMs: number, snapshotEveryMs: number | undefined): Promise<TimeStart>;
  read(stream: string, subject: string, streamSeq: number, signal: AbortSignal): AsyncIterable<FeedMessage>;
}

export interface EdgeStreamSettings {
  heartbeatMs: number;
  staleAfterMs: number;
  /** How long a client may not read before its stream ends CLIENT_NOT_READING (as at the provider). */
  maxDrainWaitMs: number;
  /** How often the provider records a snapshot feed's state (STORE_SNAPSHOT_EVERY_MS, the same on edges): where a replay from a time looks for one. */
  snapshotEveryMs: number;
}

/** How an edge stream ends: OK, or a status with its google.rpc.Status bytes. */
export type StreamEnd = { code: 0 } | LeaseEnd;

const FROM_TIME_NOT_AT_EDGE = new ApiError(
  status.UNIMPLEMENTED,
  "start_time: candles from a time come from history (the store, IB), which an edge does not hold; open this stream on the provider (or the all-in-one process). Every other stream replays from a time here",
  "REPLAY_FROM_TIME_NOT_AT_EDGE",
);

interface FollowOptions {
  /** Replaying (REPLAY_COMPLETE once caught up) or live. */
  replaying: boolean;
  /** Where to read from on the bus (default: found after `from`). */
  streamSeq?: number;
  /** The last data sequence the client has (a jump after it is a GAP). */
  lastSeq?: number;
  /** A replay from a time: rows recorded before it are not sent. */
  atMs?: number;
  /** A replay from a snapshot: its rows are sent (later snapshots are not). */
  snapshotSeq?: number;
  /** SUBSCRIBED, said with the epoch of the first row sent (a replay from a time begins in the epoch it finds). */
  subscribedOwed?: string;
}

const notAtEdge = (method: string) =>
  new ApiError(status.UNIMPLEMENTED, `${method.slice(0, 120)} is not served by an edge (only the feed streams are): call it on the provider`, "NOT_SERVED_AT_EDGE");

/** Between two tries to lease a stream's feed again while its provider is away: from this, doubling, at most MAX_RELEASE_RETRY_MS (± half). */
const RELEASE_RETRY_MS = 500;
const MAX_RELEASE_RETRY_MS = 4_000;

/**
 * One client's stream at an edge. The provider grants a lease (it opens the stream as a holder: the same
 * auth, validation, limits and errors as a direct client, and the IB subscription is held for it), answers
 * with the join — the events a joiner gets — and where the feed's rows continue; the edge then sends the
 * join and the feed's rows from JetStream, as recorded (the provider's sequences and epochs), re-rendered
 * only where the client's rendering differs (another symbol spelling, a filter). A resume (after_sequence)
 * reads the rows after that event from JetStream, then says REPLAY_COMPLETE once it has caught up.
 * Heartbeats and STALE statuses are the edge's own, as the provider's cursor makes them for its clients.
 */
export class EdgeStream {
  private readonly abort = new AbortController();
  private leaseId: string | undefined;
  private lastWriteMs = Date.now();
  private lastDataMs: number | undefined;
  private lastStaleMs: number | undefined;
  private idle: NodeJS.Timeout | undefined;
  private ended = false;
  private draining = false;
  /** What the stream is doing (the edge's streams gauge); "releasing": its feed asked for again. */
  private phase: "replay" | "live" | "releasing" | undefined;
  private releasing = false;
  private symbol = "";
  private epoch = 0;

  constructor(
    private readonly call: ServerWritableStream<Buffer, Buffer>,
    private readonly forward: BusCall,
    private readonly feeds: EdgeFeeds,
    private readonly settings: EdgeStreamSettings,
    private readonly log: Logger,
    /** Called once when the stream ends: how (undefined: its client cancelled it). */
    private readonly onEnd: (end: StreamEnd | undefined) => void,
  ) {
    call.once("cancelled", () => this.finish(undefined));
  }

  private request!: StreamRequest;

  async run(): Promise<void> {
    if (this.ended) return;
    const { method } = this.forward;
    if (!isFeedStream(method)) return this.finish(errorEnd(notAtEdge(method)));
    // Read as its handler reads it; a replay from a time is refused before the provider is asked (no IB
    // request for nothing). A request the handler would refuse goes to the provider, which says why.
    let request: StreamRequest | undefined;
    try {
      request = readStreamRequest(method, this.forward.body, Date.now());
    } catch {
      request = undefined;
    }
    if (request?.start !== undefined && "atMs" in request.start && request.fromHistory === true) return this.finish(errorEnd(FROM_TIME_NOT_AT_EDGE));
    const granted = await this.feeds.lease(this.forward, this.events());
    if (!granted.ok) return this.finish(granted);
    if (this.ended) return this.feeds.release(granted.id); // the client left while the lease was granted
    this.leaseId = granted.id;
    if (request === undefined) return this.finish({ code: status.INTERNAL, message: "the edge could not read a request its provider accepted" });
    this.request = request;
    const { start } = request;
    const { join } = granted;
    this.symbol = join.symbol;
    this.epoch = join.epoch;
    this.armIdle();
    try {
      if (start === undefined) {
        this.write(Buffer.from(granted.bytes));
        await this.follow(join, { epoch: join.epoch, ...join.after }, { replaying: false, lastSeq: join.after.seq });
        return this.finish({ code: 0 });
      }
      if ("atMs" in start) {
        await this.replayFrom(join, start.atMs, request.snapshots === true);
        return this.finish({ code: 0 });
      }
      if (start.epoch === join.epoch && start.afterSeq > join.after.seq) {
        throw new ReplayRangeError(`sequence ${start.afterSeq} has not been reached in epoch ${start.epoch} (the newest is ${join.after.seq})`, "sequence", undefined);
      }
      const from: FeedPosition = { epoch: start.epoch, seq: start.afterSeq, sub: 0 };
      const found = await this.feeds.findStart(join.stream, join.subject, from);
      const first = found.first;
      // Not on the bus any more (retention deleted what followed), or an epoch the bus never had: continue live, saying so.
      const lost = first !== undefined && found.oldest && (first.epoch !== start.epoch || isLater(first, { epoch: start.epoch, seq: start.afterSeq + 1, sub: 0 }));
      if (lost || (first === undefined && start.epoch !== join.epoch)) {
        const [subscribed, ...state] = framedEntries(granted.bytes);
        const why = `cannot resume after ${start.afterSeq} of epoch ${start.epoch}: those events are no longer on the bus (retention, or another epoch); continuing live`;
        this.write(Buffer.concat([subscribed ?? Buffer.alloc(0), ...this.encode([this.status("gap", why), this.status("replay-complete", "live from here", join.epoch)]), ...state]));
        await this.follow(join, { epoch: join.epoch, ...join.after }, { replaying: false, lastSeq: join.after.seq });
      } else {
        const opening = [this.status("subscribed", `resuming after ${start.afterSeq} of epoch ${start.epoch} from the bus`, start.epoch)];
        // A newer epoch that follows says why itself (its first row: the GAP its provider recorded; see follow).
        // Nothing after it on the bus yet: caught up already.
        if (first === undefined) opening.push(this.status("replay-complete", `nothing to replay after ${start.afterSeq} of epoch ${start.epoch}; live from here`, join.epoch));
        await this.writeAll(this.encode(opening));
        await this.follow(join, from, { replaying: first !== undefined, streamSeq: found.streamSeq, ...(first !== undefined && first.epoch !== start.epoch ? {} : { lastSeq: start.afterSeq }) });
      }
      this.finish({ code: 0 });
    } catch (err) {
      if (err instanceof ReplayRangeError) return this.finish(errorEnd(replayRangeError(err)));
      if (this.abort.signal.aborted) return this.finish(undefined);
      this.log.error({ err, method: this.forward.method }, "an edge stream failed reading the bus");
      this.finish({ code: status.UNAVAILABLE, message: "the edge lost the feed's rows on the bus; resume with after_sequence (here or at another edge)" });
    }
  }

  /**
   * A replay from a time, from the bus (as the provider's from its journal): a feed of events from its first
   * row recorded at or after `atMs`; a snapshot feed from the newest snapshot recorded at or before it, then
   * every row after. SUBSCRIBED names the epoch the replayed rows begin in; REPLAY_COMPLETE once caught up.
   */
  private async replayFrom(join: LeaseJoin, atMs: number, snapshots: boolean): Promise<void> {
    const found = await this.feeds.findStartAt(join.stream, join.subject, atMs, snapshots ? this.settings.snapshotEveryMs : undefined);
    if ("tooEarly" in found) {
      const when = new Date(atMs).toISOString();
      const oldest = found.oldestMs === undefined ? "none is on the bus" : `the oldest on the bus is at ${new Date(found.oldestMs).toISOString()}`;
      throw snapshots
        ? new ReplayRangeError(`no snapshot of the state is recorded at or before ${when} on the bus: ${oldest}`, "time", found.oldestMs)
        : new ReplayRangeError(`nothing is recorded that early on the bus: ${found.oldestMs === undefined ? "nothing is" : `the oldest event retained is at ${new Date(found.oldestMs).toISOString()}`}`, "time", found.oldestMs);
    }
    const from = found.snapshot ?? { epoch: 0, seq: -1, sub: 0 };
    await this.follow(join, from, { replaying: true, streamSeq: found.streamSeq, ...(found.snapshot === undefined ? { atMs } : { snapshotSeq: found.snapshot.seq }), subscribedOwed: `replaying from ${new Date(atMs).toISOString()} from the bus` });
  }

  /** The feed's rows after `from`, live: forwarded until the stream ends. */
  private async follow(join: LeaseJoin, from: FeedPosition, options: FollowOptions): Promise<void> {
    const { streamSeq, lastSeq, atMs, snapshotSeq } = options;
    let { replaying, subscribedOwed } = options;
    const startSeq = streamSeq ?? (await this.feeds.findStart(join.stream, join.subject, from)).streamSeq;
    let at = from;
    let seq = lastSeq;
    let pastSnapshot = false;
    this.setPhase(replaying ? "replay" : "live");
    for await (const message of this.feeds.read(join.stream, join.subject, startSeq, this.abort.signal)) {
      const lagPhase = replaying ? "replay" : "live";
      const events: FeedEvent<unknown>[] = [];
      if (message.shed !== undefined && isLater({ epoch: message.epoch, ...message.shed.to }, at)) {
        events.push(this.status("gap", `events ${message.shed.from.seq}…${message.shed.to.seq} were shed on the way to the bus (its publisher fell behind): not delivered`));
      }
      for (let i = 0; i < message.rows.length; i++) {
        const row = message.rows[i]!;
        const pos = { epoch: message.epoch, seq: row.seq, sub: row.sub };
        if (!isLater(pos, at)) continue;
        // A replay from a time: not the rows recorded before it.
        if (atMs !== undefined && message.rowTimes[i]! < atMs) {
          at = pos;
          continue;
        }
        if (subscribedOwed !== undefined) {
          events.push(this.status("subscribed", subscribedOwed, message.epoch));
          subscribedOwed = undefined;
        }
        // Numbering that starts afresh in a newer epoch (a provider that had no recording of the feed took
        // over): its first rows say "recording started", not why — the GAP is said here. (A provider that had
        // the recording says GAP itself, in a row numbered after the old epoch's last.)
        if (at.epoch > 0 && pos.epoch > at.epoch && row.seq === 0) events.push(this.status("gap", `the feed's numbering starts again in epoch ${pos.epoch} (another provider took over without this feed's recording): what happened after ${at.seq} of epoch ${at.epoch} is missing`, pos.epoch));
        at = pos;
        // Later snapshots repeat what the deltas said (the join carried the state); a replay from a time on a
        // snapshot feed starts with one.
        if (row.kind === "snapshot") {
          if (snapshotSeq === undefined || pastSnapshot || row.seq !== snapshotSeq) continue;
        } else if (snapshotSeq !== undefined) pastSnapshot = true;
        if (row.kind === "data") {
          if (seq !== undefined && message.epoch === this.epoch && row.seq > seq + 1) events.push(this.status("gap", `events ${seq + 1}…${row.seq - 1} are not on the bus: not delivered`));
          this.lastDataMs = Date.now();
        }
        if (row.kind !== "status") seq = row.seq;
        this.epoch = message.epoch;
        // As the provider's replay hands its journal's rows on (a snapshot row is data, numbered as its state).
        events.push({ type: "recorded", seq: row.kind === "status" ? 0 : row.seq, data: row.kind !== "status", bytes: row.bytes, symbol: this.symbol });
      }
      if (replaying && message.pending === 0) {
        replaying = false;
        if (subscribedOwed !== undefined) {
          events.push(this.status("subscribed", subscribedOwed, join.epoch));
          subscribedOwed = undefined;
        }
        if (!this.releasing) this.setPhase("live");
        events.push(this.status("replay-complete", `replayed from the bus after ${from.seq} of epoch ${from.epoch}; live from here`, this.epoch));
      }
      if (events.length === 0) continue;
      if (!(await this.writeAll(this.encode(events)))) return;
      edgeBusLag.observe({ phase: lagPhase }, Math.max(0, Date.now() - message.timeMs) / 1000);
    }
  }

  private encode(events: FeedEvent<unknown>[]): Buffer[] {
    return encodeBatch(events, this.request.rendering, false);
  }

  private status(kind: FeedStatus["kind"], message: string, epoch?: number): FeedEvent<unknown> {
    return { type: "status", status: { kind, atMs: Date.now(), message, ...(epoch === undefined ? {} : { epoch }) } };
  }

  private write(bytes: Buffer): boolean {
    if (this.ended || bytes.length === 0) return true;
    this.lastWriteMs = Date.now();
    return this.call.write(bytes);
  }

  /**
   * Writes the messages; waits while the client's connection is full (its reading paces the reading of the
   * bus), at most maxDrainWaitMs: a client that does not read then is ended CLIENT_NOT_READING, as at the provider.
   */
  private async writeAll(messages: Buffer[]): Promise<boolean> {
    for (const m of messages) {
      if (this.write(m)) continue;
      this.draining = true;
      const drained = await new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          this.call.off("drain", onDrain);
          this.abort.signal.removeEventListener("abort", onAbort);
          resolve(ok);
        };
        const onDrain = () => done(true);
        const onAbort = () => done(false);
        const timer = setTimeout(() => done(false), this.settings.maxDrainWaitMs);
        this.call.once("drain", onDrain);
        this.abort.signal.addEventListener("abort", onAbort, { once: true });
      });
      this.draining = false;
      if (this.abort.signal.aborted) return false;
      if (!drained) {
        this.finish(errorEnd(CLIENT_NOT_READING));
        return false;
      }
    }
    return !this.abort.signal.aborted;
  }

  /** Heartbeats on an idle stream, and STALE once per period without data (as the provider's cursor does). */
  private armIdle(): void {
    const { heartbeatMs, staleAfterMs } = this.settings;
    this.idle = setInterval(() => {
      const now = Date.now();
      // Nothing more for a client whose connection is full (a heartbeat would only queue behind).
      if (this.draining || now - this.lastWriteMs < heartbeatMs) return;
      const since = this.lastDataMs === undefined ? undefined : now - this.lastDataMs;
      if (staleAfterMs > 0 && since !== undefined && since >= staleAfterMs && (this.lastStaleMs === undefined || now - this.lastStaleMs >= staleAfterMs)) {
        this.lastStaleMs = now;
        this.write(this.encode([{ type: "status", status: { kind: "stale", atMs: now, message: `no data for ${Math.round(since / 1000)} s`, sinceLastDataMs: since } }])[0]!);
      } else this.write(this.encode([{ type: "heartbeat", atMs: now, lastDataMs: this.lastDataMs }])[0]!);
    }, Math.max(50, Math.floor(heartbeatMs / 4)));
    this.idle.unref();
  }

  private events(): LeaseEvents {
    return {
      // The provider stopping (UNAVAILABLE) is not this stream's end: it is asked for again, as after a crash.
      ended: (end) => (end.code === status.UNAVAILABLE ? void this.leaseAgain() : this.finish(end)),
      lost: () => void this.leaseAgain(),
    };
  }

  /** The provider no longer holds the lease (it restarted, or the bus was away longer than a lease): asked again until granted. */
  private async leaseAgain(): Promise<void> {
    if (this.ended || this.releasing) return;
    this.releasing = true;
    const was = this.phase;
    this.setPhase("releasing");
    try {
      await this.askAgain();
    } finally {
      this.releasing = false;
      if (!this.ended && was !== undefined) this.setPhase(was === "replay" ? "live" : was);
    }
  }

  private setPhase(phase: "replay" | "live" | "releasing" | undefined): void {
    if (this.phase === phase) return;
    if (this.phase !== undefined) edgeStreams.dec({ phase: this.phase });
    if (phase !== undefined) edgeStreams.inc({ phase });
    this.phase = phase;
  }

  private async askAgain(): Promise<void> {
    this.leaseId = undefined;
    if (this.request !== undefined) this.write(this.encode([this.status("reconnecting", "the provider is away (restarting, or the bus was): the feed is asked for again; its events continue from the bus")])[0]!);
    for (let attempt = 0; !this.ended; attempt++) {
      const again = await this.feeds.lease(this.forward, this.events());
      if (this.ended) {
        if (again.ok) this.feeds.release(again.id);
        return;
      }
      if (again.ok) {
        this.leaseId = again.id;
        return;
      }
      // Refused for good (the client's token revoked, a limit): the stream ends with it.
      if (again.code !== status.UNAVAILABLE && again.code !== status.DEADLINE_EXCEEDED) return this.finish(again);
      this.log.debug({ method: this.forward.method, code: again.code, reason: again.message }, "the feed's lease is not granted yet: asking again");
      // Backing off, each stream at its own moment: a provider starting meets the edges' streams spread out, not all at once.
      await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_RELEASE_RETRY_MS, RELEASE_RETRY_MS * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random())));
    }
  }

  /** A status of the edge's own (its bus connection lost or back), said if the stream has begun. */
  tell(kind: FeedStatus["kind"], message: string): void {
    if (this.ended || this.request === undefined) return;
    this.write(this.encode([this.status(kind, message)])[0]!);
  }

  /** Ends the stream from outside (the server stops). */
  stop(end: StreamEnd): void {
    this.finish(end);
  }

  /** Ends the stream (undefined: the client cancelled it), once: the lease released, the reading stopped. */
  private finish(end: StreamEnd | undefined): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.idle);
    this.setPhase(undefined);
    this.abort.abort();
    if (this.leaseId !== undefined) this.feeds.release(this.leaseId);
    this.onEnd(end);
  }
}

/** An error of ours as a stream's end: its code, message and google.rpc.Status bytes (as toServiceError sends them). */
export function errorEnd(error: ApiError): LeaseEnd {
  const sent = toServiceError(error);
  const details = sent.metadata.get("grpc-status-details-bin")[0];
  return { code: sent.code, message: sent.details, ...(Buffer.isBuffer(details) ? { details } : {}) };
}
