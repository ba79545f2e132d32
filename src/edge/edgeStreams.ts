import type { ServerWritableStream } from "@grpc/grpc-js";
import type { LeaseEnd, LeaseEvents, LeaseJoin, LeaseReply } from "../bus/busLeases.js";
import type { BusCall, CallReply } from "../bus/busRpc.js";
import { framedEntries } from "../bus/busBatch.js";
import { isLater, type FeedMessage, type FeedPosition, type ReadStart, type TimeStart } from "../bus/feedReader.js";
import { ApiError } from "../grpc/apiError.js";
import { candleReplayMessage, historyCandlesEvent } from "../grpc/candlesFromHistory.js";
import { timestampToMs } from "../grpc/mapping/protoTime.js";
import { replayRangeError } from "../grpc/requests/replayFields.js";
import { encodeBatch } from "../grpc/streamEncoding.js";
import { isFeedStream, readStreamRequest, type StreamRequest } from "../grpc/streamRequests.js";
import { CLIENT_NOT_READING } from "../grpc/handlers.js";
import type { Logger } from "../log/logger.js";
import type { FeedEvent, FeedStatus } from "../stream/feedEvents.js";
import { ReplayRangeError } from "../stream/replayCursor.js";
import { toServiceError } from "../grpc/statusDetails.js";
import { candleHistoryAtEdge, candleStartOf } from "./edgeCandleHistory.js";
import { EdgeClientWriter, type ClientWriterSettings } from "./edgeClientWriter.js";
import { edgeBusLag, edgeStreams } from "./edgeMetrics.js";
import { status } from "@grpc/grpc-js";

/** What an edge needs to serve streams: leases from the provider, the feeds' rows from JetStream. */
export interface EdgeFeeds {
  lease(call: BusCall, events: LeaseEvents): Promise<LeaseReply>;
  release(id: string): void;
  findStart(stream: string, subject: string, after: FeedPosition): Promise<ReadStart>;
  findStartAt(stream: string, subject: string, atMs: number, snapshotEveryMs: number | undefined): Promise<TimeStart>;
  read(stream: string, subject: string, streamSeq: number, signal: AbortSignal): AsyncIterable<FeedMessage>;
  /** A unary call on the provider (a candle stream's history from a time). */
  call(call: BusCall, cancelled?: AbortSignal): Promise<CallReply>;
}

export interface EdgeStreamSettings extends ClientWriterSettings {
  /** How often the provider records a snapshot feed's state (STORE_SNAPSHOT_EVERY_MS, the same on edges): where a replay from a time looks for one. */
  snapshotEveryMs: number;
}

/** How an edge stream ends: OK, or a status with its google.rpc.Status bytes. */
export type StreamEnd = { code: 0 } | LeaseEnd;

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
  /** Data rows the client already has in another form (candles history gave): skipped until the first that is not. */
  already?: (bytes: Uint8Array) => boolean;
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
  private readonly out: EdgeClientWriter;
  private leaseId: string | undefined;
  private ended = false;
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
    this.out = new EdgeClientWriter(call, settings, (events) => this.encode(events), this.abort.signal, () => this.finish(errorEnd(CLIENT_NOT_READING)));
  }

  private request!: StreamRequest;

  async run(): Promise<void> {
    if (this.ended) return;
    const { method } = this.forward;
    if (!isFeedStream(method)) return this.finish(errorEnd(notAtEdge(method)));
    // Read as its handler reads it; a request the handler would refuse goes to the provider, which says why.
    let request: StreamRequest | undefined;
    try {
      request = readStreamRequest(method, this.forward.body, Date.now());
    } catch {
      request = undefined;
    }
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
    this.out.keepAlive();
    try {
      if (start === undefined) {
        this.out.write(Buffer.from(granted.bytes));
        await this.follow(join, { epoch: join.epoch, ...join.after }, { replaying: false, lastSeq: join.after.seq });
        return this.finish({ code: 0 });
      }
      if ("atMs" in start) {
        if (request.fromHistory === true) await this.candlesFrom(join, granted.bytes, start.atMs);
        else await this.replayFrom(join, start.atMs, request.snapshots === true);
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
        this.out.write(Buffer.concat([subscribed ?? Buffer.alloc(0), ...this.encode([this.status("gap", why), this.status("replay-complete", "live from here", join.epoch)]), ...state]));
        await this.follow(join, { epoch: join.epoch, ...join.after }, { replaying: false, lastSeq: join.after.seq });
      } else {
        const opening = [this.status("subscribed", `resuming after ${start.afterSeq} of epoch ${start.epoch} from the bus`, start.epoch)];
        // A newer epoch that follows says why itself (its first row: the GAP its provider recorded; see follow).
        // Nothing after it on the bus yet: caught up already.
        if (first === undefined) opening.push(this.status("replay-complete", `nothing to replay after ${start.afterSeq} of epoch ${start.epoch}; live from here`, join.epoch));
        await this.out.writeAll(this.encode(opening));
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

  /**
   * Candles from a time, as the provider's handler serves them (candlesFromHistory.ts): SUBSCRIBED, the
   * complete candles of history from `atMs` (GetCandles on the provider: its store, then IB), REPLAY_COMPLETE,
   * then the feed from the join — its forming candle and its rows from the bus, without the candles history
   * already gave (the lease was granted first, so nothing completed meanwhile is missed).
   */
  private async candlesFrom(join: LeaseJoin, joinBytes: Uint8Array, atMs: number): Promise<void> {
    const [subscribed, ...state] = framedEntries(joinBytes);
    if (subscribed !== undefined) this.out.write(Buffer.from(subscribed));
    const history = await candleHistoryAtEdge(this.forward, (c, cancelled) => this.feeds.call(c, cancelled), { atMs, toMs: Date.now() }, this.abort.signal);
    if (!history.ok) return this.finish(history.end);
    const { candles } = history;
    const lastStart = candles.length === 0 ? Number.NEGATIVE_INFINITY : timestampToMs(candles[candles.length - 1]!.time!);
    const replayed = candles.length === 0 ? [] : [historyCandlesEvent(candles, candles[0]!.symbol)];
    const complete = this.status("replay-complete", candleReplayMessage(candles.length, atMs), join.epoch);
    if (!(await this.out.writeAll(this.encode([...replayed, complete])))) return;
    const already = (bytes: Uint8Array) => (candleStartOf(bytes) ?? Number.POSITIVE_INFINITY) <= lastStart;
    this.out.write(Buffer.concat(state.filter((entry) => !already(entry))));
    await this.follow(join, { epoch: join.epoch, ...join.after }, { replaying: false, lastSeq: join.after.seq, already });
  }

  /** The feed's rows after `from`, live: forwarded until the stream ends. */
  private async follow(join: LeaseJoin, from: FeedPosition, options: FollowOptions): Promise<void> {
    const { streamSeq, lastSeq, atMs, snapshotSeq } = options;
    let { replaying, subscribedOwed, already } = options;
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
          if (already !== undefined) {
            if (already(row.bytes)) {
              seq = row.seq;
              continue;
            }
            already = undefined;
          }
          if (seq !== undefined && message.epoch === this.epoch && row.seq > seq + 1) events.push(this.status("gap", `events ${seq + 1}…${row.seq - 1} are not on the bus: not delivered`));
          this.out.sawData();
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
      if (!(await this.out.writeAll(this.encode(events)))) return;
      edgeBusLag.observe({ phase: lagPhase }, Math.max(0, Date.now() - message.timeMs) / 1000);
    }
  }

  private encode(events: FeedEvent<unknown>[]): Buffer[] {
    return encodeBatch(events, this.request.rendering, false);
  }

  private status(kind: FeedStatus["kind"], message: string, epoch?: number): FeedEvent<unknown> {
    return { type: "status", status: { kind, atMs: Date.now(), message, ...(epoch === undefined ? {} : { epoch }) } };
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
    if (this.request !== undefined) this.out.tell(this.status("reconnecting", "the provider is away (restarting, or the bus was): the feed is asked for again; its events continue from the bus"));
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
    this.out.tell(this.status(kind, message));
  }

  /** Ends the stream from outside (the server stops). */
  stop(end: StreamEnd): void {
    this.finish(end);
  }

  /** Ends the stream (undefined: the client cancelled it), once: the lease released, the reading stopped. */
  private finish(end: StreamEnd | undefined): void {
    if (this.ended) return;
    this.ended = true;
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
