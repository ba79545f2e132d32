import type { ServerWritableStream } from "@grpc/grpc-js";
import type { FeedEvent } from "../stream/feedEvents.js";

export interface ClientWriterSettings {
  heartbeatMs: number;
  staleAfterMs: number;
  /** How long a client may not read before its stream ends CLIENT_NOT_READING (as at the provider). */
  maxDrainWaitMs: number;
}

/**
 * Writing an edge stream's messages to its client: the client's reading paces the stream (a full connection
 * waits, at most maxDrainWaitMs, then `notReading`), and an idle stream gets heartbeats and a STALE status
 * once per period without data, as the provider's cursor gives its clients.
 */
export class EdgeClientWriter {
  private lastWriteMs = Date.now();
  private lastDataMs: number | undefined;
  private lastStaleMs: number | undefined;
  private idle: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(
    private readonly call: ServerWritableStream<Buffer, Buffer>,
    private readonly settings: ClientWriterSettings,
    /** The stream's events as its client's messages (its rendering). */
    private readonly encode: (events: FeedEvent<unknown>[]) => Buffer[],
    /** Aborted when the stream ends: nothing is written after. */
    private readonly ended: AbortSignal,
    /** The client did not read for maxDrainWaitMs. */
    private readonly notReading: () => void,
  ) {}

  /** Data went out now (what STALE measures from). */
  sawData(): void {
    this.lastDataMs = Date.now();
  }

  write(bytes: Buffer): boolean {
    if (this.ended.aborted || bytes.length === 0) return true;
    this.lastWriteMs = Date.now();
    return this.call.write(bytes);
  }

  /** Writes each event as its own message (statuses said between the rows). */
  tell(event: FeedEvent<unknown>): void {
    this.write(this.encode([event])[0]!);
  }

  /**
   * Writes the messages; waits while the client's connection is full (its reading paces the reading of the
   * bus), at most maxDrainWaitMs: false when the stream ended meanwhile or the client did not read.
   */
  async writeAll(messages: Buffer[]): Promise<boolean> {
    for (const m of messages) {
      if (this.write(m)) continue;
      this.draining = true;
      const drained = await new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          this.call.off("drain", onDrain);
          this.ended.removeEventListener("abort", onAbort);
          resolve(ok);
        };
        const onDrain = () => done(true);
        const onAbort = () => done(false);
        const timer = setTimeout(() => done(false), this.settings.maxDrainWaitMs);
        this.call.once("drain", onDrain);
        this.ended.addEventListener("abort", onAbort, { once: true });
      });
      this.draining = false;
      if (this.ended.aborted) return false;
      if (!drained) {
        this.notReading();
        return false;
      }
    }
    return !this.ended.aborted;
  }

  /** Heartbeats on an idle stream, and STALE once per period without data, until the stream ends. */
  keepAlive(): void {
    const { heartbeatMs, staleAfterMs } = this.settings;
    this.idle = setInterval(() => {
      const now = Date.now();
      // Nothing more for a client whose connection is full (a heartbeat would only queue behind).
      if (this.draining || now - this.lastWriteMs < heartbeatMs) return;
      const since = this.lastDataMs === undefined ? undefined : now - this.lastDataMs;
      if (staleAfterMs > 0 && since !== undefined && since >= staleAfterMs && (this.lastStaleMs === undefined || now - this.lastStaleMs >= staleAfterMs)) {
        this.lastStaleMs = now;
        this.tell({ type: "status", status: { kind: "stale", atMs: now, message: `no data for ${Math.round(since / 1000)} s`, sinceLastDataMs: since } });
      } else this.tell({ type: "heartbeat", atMs: now, lastDataMs: this.lastDataMs });
    }, Math.max(50, Math.floor(heartbeatMs / 4)));
    this.idle.unref();
    this.ended.addEventListener("abort", () => clearInterval(this.idle), { once: true });
  }
}
