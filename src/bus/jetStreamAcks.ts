import { createInbox, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";

/** JetStream's answer to one publish: stored (or a duplicate of a stored message), or not. */
export type PublishOutcome = { ok: true; duplicate: boolean; streamSeq: number } | { ok: false; error: string; tooLarge?: true };

/** What this module needs of a connection (a NatsConnection). */
type Connection = Pick<NatsConnection, "publish" | "subscribe">;

/**
 * Publishes to JetStream and matches the acknowledgements itself, as nats.go's PublishAsync does: one
 * reply subscription for every publish (`<inbox>.<token>`), one timer sweeping the late ones. nats.js's
 * `js.publish` is a request per message (a promise, a timer and two Error objects with their stacks):
 * ~45 µs of CPU per message here, a core at ~20k msgs/s; this costs a fraction (BENCHMARKS: see the note).
 * The JetStream ack is JSON: {"stream","seq","duplicate"?} or {"error":{"description",…}}; a 503 status
 * says no stream (or no JetStream) took the subject.
 */
export class JetStreamAcks {
  private readonly inbox = createInbox();
  private readonly pending = new Map<string, { sentMs: number; done: (outcome: PublishOutcome) => void }>();
  private readonly subscription: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private next = 0;

  constructor(
    private readonly nc: Connection,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.subscription = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err !== null) return; // the subscription ends with the connection; what is pending times out
        const token = msg.subject.slice(this.inbox.length + 1);
        const entry = this.pending.get(token);
        if (entry === undefined) return; // answered after its timeout: already retried (and deduplicated)
        this.pending.delete(token);
        entry.done(outcomeOf(msg.data, msg.headers));
      },
    });
    this.sweep = setInterval(() => this.expire(), Math.max(50, Math.min(250, timeoutMs / 4)));
    this.sweep.unref();
  }

  /** Publishes `payload`; `done` is called once with JetStream's answer, or a timeout after timeoutMs. */
  publish(subject: string, payload: Uint8Array, headers: MsgHdrs, done: (outcome: PublishOutcome) => void): void {
    const token = (this.next++).toString(36);
    this.pending.set(token, { sentMs: this.now(), done });
    try {
      this.nc.publish(subject, payload, { reply: `${this.inbox}.${token}`, headers });
    } catch (err) {
      // A closed connection throws at once; so does a message over the server's max_payload (for good: tooLarge).
      this.pending.delete(token);
      const error = err instanceof Error ? err.message : String(err);
      done(/max_payload/i.test(error) ? { ok: false, error, tooLarge: true } : { ok: false, error });
    }
  }

  /** Publishes awaiting their answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Every pending publish fails (the connection is gone: their answers will not come). */
  failAll(reason: string): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const e of entries) e.done({ ok: false, error: reason });
  }

  close(): void {
    clearInterval(this.sweep);
    this.subscription.unsubscribe();
    this.failAll("closed");
  }

  private expire(): void {
    const late = this.now() - this.timeoutMs;
    const expired: ((outcome: PublishOutcome) => void)[] = [];
    // Insertion order is sending order: the first one still in time ends the sweep.
    for (const [token, entry] of this.pending) {
      if (entry.sentMs > late) break;
      this.pending.delete(token);
      expired.push(entry.done);
    }
    for (const done of expired) done({ ok: false, error: `no acknowledgement within ${this.timeoutMs} ms` });
  }
}

function outcomeOf(data: Uint8Array, headers: MsgHdrs | undefined): PublishOutcome {
  if (data.length === 0) return { ok: false, error: headers?.code === 503 ? "no stream takes the subject (503 no responders)" : `status ${headers?.code ?? "none"} ${headers?.description ?? ""}`.trim() };
  let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: { description?: string; code?: number } };
  try {
    ack = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")) as typeof ack;
  } catch {
    return { ok: false, error: "an acknowledgement that is not JSON" };
  }
  if (ack.error !== undefined) return { ok: false, error: `${ack.error.code ?? ""} ${ack.error.description ?? "JetStream error"}`.trim() };
  if (typeof ack.stream !== "string" || typeof ack.seq !== "number") return { ok: false, error: "an acknowledgement without stream and seq" };
  return { ok: true, duplicate: ack.duplicate === true, streamSeq: ack.seq };
}
