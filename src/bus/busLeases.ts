import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { callHeadersOf, HEADER_METHOD, setCallHeaders, type BusCall } from "./busRpc.js";

/**
 * Stream leases over the bus (NATS request/reply), transport-neutral on both sides. An edge serving a
 * stream asks the provider for a lease with its client's call (token, request): the provider opens that
 * stream on its own gRPC server as a holder (auth, validation, limits, IB lines and errors exactly as for a
 * direct client), and answers with the join — the first events a joiner gets, and where the feed's rows
 * continue on the bus. The edge then serves the stream from JetStream. A lease lives while its edge renews
 * it (every second, all its leases in one message); one not renewed for LEASE_LAPSE_MS is cancelled, so an
 * edge killed with kill -9 releases its feeds (and IB lines) within that. A lease the provider ends (the
 * feed failed, the provider stops) is told to its edge with the status.
 */

/** Where a leased stream continues on the bus: the subject and stream of its feed's rows, after the join. */
export interface LeaseJoin {
  subject: string;
  stream: string;
  /** The symbol the feed's recorded bytes carry. */
  symbol: string;
  epoch: number;
  after: { seq: number; sub: number };
}

/** How a lease ended at the provider (a gRPC status: code, message, google.rpc.Status bytes). */
export interface LeaseEnd {
  code: number;
  message: string;
  details?: Uint8Array | undefined;
}

export type LeaseOpened =
  | { ok: true; join: LeaseJoin; bytes: Uint8Array; ended: Promise<LeaseEnd>; cancel(): void }
  | ({ ok: false } & LeaseEnd);

export type LeaseReply = { ok: true; id: string; join: LeaseJoin; bytes: Uint8Array } | ({ ok: false } & LeaseEnd);

export const LEASE_RENEW_MS = 1_000;
export const LEASE_LAPSE_MS = 3_000;
const RENEW_IDS_PER_MESSAGE = 10_000;

const subjects = (prefix: string) => ({ open: `${prefix}.lease.open`, renew: `${prefix}.lease.renew`, end: `${prefix}.lease.end` });

const H = Object.freeze({ id: "Ibp-Lease", inbox: "Ibp-Lease-Inbox", code: "Ibp-Code", message: "Ibp-Message", details: "Ibp-Details", subject: "Ibp-Subject", symbol: "Ibp-Symbol", stream: "Ibp-Stream", epoch: "Ibp-Epoch", after: "Ibp-After" });

function setEnd(h: ReturnType<typeof headers>, end: LeaseEnd): void {
  h.set(H.code, String(end.code));
  h.set(H.message, end.message.replace(/[\r\n]+/g, " "));
  if (end.details !== undefined) h.set(H.details, Buffer.from(end.details).toString("base64"));
}

function endOf(msg: Msg): LeaseEnd | undefined {
  const code = msg.headers?.get(H.code);
  if (code === undefined || code === "") return undefined;
  const details = msg.headers?.get(H.details);
  return { code: Number(code), message: msg.headers?.get(H.message) ?? "", ...(details ? { details: Buffer.from(details, "base64") } : {}) };
}

/**
 * The provider's side: opens each lease asked for with `open`, keeps it while renewed, cancels it when it
 * lapses or its edge ends it, and tells the edge when it ends by itself. Returns what stops serving (every
 * lease is cancelled then).
 */
export function serveLeases(
  nc: NatsConnection,
  prefix: string,
  open: (call: BusCall) => Promise<LeaseOpened>,
  lapseMs = LEASE_LAPSE_MS,
  /** Whether this side's connection to the bus is down now: no lease lapses meanwhile (its renewals cannot come). */
  disconnected: () => boolean = () => false,
): { close(): Promise<void>; readonly size: number } {
  const s = subjects(prefix);
  const leases = new Map<string, { renewedMs: number; cancel(): void }>();
  /** Never throws: a connection gone meanwhile loses the message (the edge sees its renewals unanswered). */
  const send = (to: string, payload: Uint8Array | undefined, h: ReturnType<typeof headers>) => {
    if (nc.isClosed()) return;
    try {
      nc.publish(to, payload, { headers: h });
    } catch {
      // See above.
    }
  };
  const tell = (inbox: string, id: string, end: LeaseEnd) => {
    const h = headers();
    h.set(H.id, id);
    setEnd(h, end);
    send(inbox, undefined, h);
  };
  const opens = nc.subscribe(s.open, {
    queue: "providers",
    callback: (err, msg) => {
      if (err !== null || msg.reply === undefined) return;
      const id = msg.headers?.get(H.id) ?? "";
      const inbox = msg.headers?.get(H.inbox) ?? "";
      const call: BusCall = { method: msg.headers?.get(HEADER_METHOD) ?? "", headers: callHeadersOf(msg), body: msg.data };
      const reply = msg.reply;
      void open(call).then(
        (opened) => {
          const h = headers();
          if (!opened.ok) {
            setEnd(h, opened);
            return send(reply, undefined, h);
          }
          let ended = false;
          leases.set(id, { renewedMs: Date.now(), cancel: () => ((ended = true), opened.cancel()) });
          void opened.ended.then((end) => {
            leases.delete(id);
            if (!ended) tell(inbox, id, end);
          });
          h.set(H.subject, opened.join.subject);
          h.set(H.stream, opened.join.stream);
          h.set(H.symbol, encodeURIComponent(opened.join.symbol));
          h.set(H.epoch, String(opened.join.epoch));
          h.set(H.after, `${opened.join.after.seq}:${opened.join.after.sub}`);
          try {
            nc.publish(reply, opened.bytes, { headers: h });
          } catch (err) {
            leases.get(id)?.cancel();
            leases.delete(id);
            const fail = headers();
            setEnd(fail, { code: 13, message: `the provider could not send the lease's join over the bus: ${err instanceof Error ? err.message : String(err)}` });
            send(reply, undefined, fail);
          }
        },
        (error: unknown) => {
          const h = headers();
          setEnd(h, { code: 13, message: `internal error: ${error instanceof Error ? error.message : String(error)}` });
          send(reply, undefined, h);
        },
      );
    },
  });
  // Renewals: the ids an edge still holds; the answer names those this provider does not know (it
  // restarted, or they lapsed): the edge opens them again.
  const renewals = nc.subscribe(s.renew, {
    queue: "providers",
    callback: (err, msg) => {
      if (err !== null) return;
      const now = Date.now();
      const unknown: string[] = [];
      for (const id of msg.string().split("\n")) {
        if (id === "") continue;
        const lease = leases.get(id);
        if (lease === undefined) unknown.push(id);
        else lease.renewedMs = now;
      }
      if (msg.reply !== undefined) msg.respond(unknown.join("\n"));
    },
  });
  const ends = nc.subscribe(s.end, {
    callback: (err, msg) => {
      if (err !== null) return;
      for (const id of msg.string().split("\n")) {
        leases.get(id)?.cancel();
        leases.delete(id);
      }
    },
  });
  const sweepEveryMs = Math.min(LEASE_RENEW_MS, lapseMs / 2);
  let lastSweepMs = Date.now();
  const sweep = setInterval(() => {
    const now = Date.now();
    const late = now - lastSweepMs > 2 * sweepEveryMs;
    lastSweepMs = now;
    // The bus away, or this process stalled (timers run before the renewals waiting in the socket are read):
    // the renewals could not be heard, so every lease gets a whole period again.
    if (late || disconnected()) {
      for (const lease of leases.values()) lease.renewedMs = now;
      return;
    }
    for (const [id, lease] of leases) {
      if (now - lease.renewedMs <= lapseMs) continue;
      leases.delete(id);
      lease.cancel();
    }
  }, sweepEveryMs);
  sweep.unref();
  const drain = (sub: Subscription) => (nc.isClosed() ? Promise.resolve() : sub.drain().catch(() => undefined));
  return {
    get size() {
      return leases.size;
    },
    close: async () => {
      clearInterval(sweep);
      await Promise.all([drain(opens), drain(renewals), drain(ends)]);
      for (const lease of leases.values()) lease.cancel();
      leases.clear();
    },
  };
}

/** What an edge's lease hears after it was granted. */
export interface LeaseEvents {
  /** The provider ended it (the stream's status: the client's stream ends with it). */
  ended(end: LeaseEnd): void;
  /** The provider no longer knows it (it restarted) or cannot be reached: the edge opens it again. */
  lost(): void;
}

/** The edge's side: opens leases, renews them all every second, ends them when their clients leave. */
export class LeaseClient {
  private readonly leases = new Map<string, LeaseEvents>();
  /** Leases asked for and not answered yet: an end the provider sent before its grant was read is kept here. */
  private readonly pending = new Map<string, LeaseEnd | undefined>();
  private readonly inbox = createInbox();
  private readonly sub: Subscription;
  private readonly timer: NodeJS.Timeout;
  private readonly s: ReturnType<typeof subjects>;
  private next = 0;
  private renewing = false;

  constructor(
    private readonly nc: NatsConnection,
    prefix: string,
    private readonly renewMs = LEASE_RENEW_MS,
  ) {
    this.s = subjects(prefix);
    this.sub = nc.subscribe(this.inbox, {
      callback: (err, msg) => {
        if (err !== null) return;
        const id = msg.headers?.get(H.id) ?? "";
        const end = endOf(msg);
        if (end === undefined) return;
        // The end can overtake the grant (two subjects): kept until the grant is read.
        if (this.pending.has(id)) return void this.pending.set(id, end);
        const lease = this.leases.get(id);
        if (lease === undefined) return;
        this.leases.delete(id);
        lease.ended(end);
      },
    });
    this.timer = setInterval(() => void this.renew(), renewMs);
    this.timer.unref();
  }

  get size(): number {
    return this.leases.size;
  }

  /** Asks for a lease; `events` hears of it from then on (once granted). */
  /**
   * Asks for a lease; `events` hears of it from then on (once granted). Waits up to `timeoutMs`: a provider
   * just started resolves every feed's contract with IB first, behind IB's pacing.
   */
  async open(call: BusCall, events: LeaseEvents, timeoutMs = 30_000): Promise<LeaseReply> {
    const id = `${this.inbox.slice(-12)}.${++this.next}`;
    const h = headers();
    h.set(H.id, id);
    h.set(H.inbox, this.inbox);
    h.set(HEADER_METHOD, call.method);
    setCallHeaders(h, call.headers);
    let msg: Msg;
    this.pending.set(id, undefined);
    try {
      msg = await this.nc.request(this.s.open, call.body, { headers: h, timeout: timeoutMs });
    } catch (err) {
      this.pending.delete(id);
      const text = err instanceof Error ? err.message : String(err);
      if (/no responders|503/i.test(text)) return { ok: false, code: 14, message: "no provider answers on the bus (none running, or none with its IB connection)" };
      // Given up: a grant that comes after all is ended at once (or lapses, unrenewed), not held for no one.
      this.endAtProvider([id]);
      return { ok: false, code: 14, message: `the provider did not grant the stream's lease: ${text}` };
    }
    const early = this.pending.get(id);
    this.pending.delete(id);
    const end = endOf(msg) ?? early;
    if (end !== undefined) return { ok: false, ...end };
    const [seq, sub] = (msg.headers?.get(H.after) ?? "").split(":").map(Number);
    const join: LeaseJoin = { subject: msg.headers?.get(H.subject) ?? "", stream: msg.headers?.get(H.stream) ?? "", symbol: decodeURIComponent(msg.headers?.get(H.symbol) ?? ""), epoch: Number(msg.headers?.get(H.epoch)), after: { seq: seq ?? 0, sub: sub ?? 0 } };
    this.leases.set(id, events);
    return { ok: true, id, join, bytes: msg.data };
  }

  /** The lease's client left: the provider cancels it now (not when it lapses). */
  release(id: string): void {
    if (this.leases.delete(id)) this.endAtProvider([id]);
  }

  private endAtProvider(ids: string[]): void {
    if (ids.length === 0 || this.nc.isClosed()) return;
    try {
      this.nc.publish(this.s.end, ids.join("\n"));
    } catch {
      // The connection is gone: the leases lapse at the provider.
    }
  }

  private async renew(): Promise<void> {
    if (this.leases.size === 0 || this.renewing || this.nc.isClosed()) return;
    this.renewing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const ids = [...this.leases.keys()];
      // Bounded by a timer of our own too: a request sent while the connection is away must not hold renewing for good.
      const gaveUp = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), this.renewMs)));
      // In parts that fit a message (an id is ≈ 16 bytes; 10,000 are ≈ 170 KB).
      const parts: string[][] = [];
      for (let i = 0; i < ids.length; i += RENEW_IDS_PER_MESSAGE) parts.push(ids.slice(i, i + RENEW_IDS_PER_MESSAGE));
      const replies = await Promise.race([Promise.all(parts.map((part) => this.nc.request(this.s.renew, part.join("\n"), { timeout: this.renewMs }))), gaveUp]);
      for (const reply of replies) for (const id of reply.string().split("\n")) this.lose(id);
    } catch (err) {
      // Nobody answers: the provider is gone (a standby or a restart will not know these leases).
      if (/no responders|503/i.test(err instanceof Error ? err.message : String(err))) for (const id of [...this.leases.keys()]) this.lose(id);
    } finally {
      clearTimeout(timer);
      this.renewing = false;
    }
  }

  private lose(id: string): void {
    const lease = this.leases.get(id);
    if (lease === undefined) return;
    this.leases.delete(id);
    lease.lost();
  }

  close(): void {
    clearInterval(this.timer);
    const ids = [...this.leases.keys()];
    this.leases.clear();
    this.endAtProvider(ids);
    this.sub.unsubscribe();
  }
}
