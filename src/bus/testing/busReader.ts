import { jetstream, type ConsumerMessages } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { UntilOptions } from "../../testing/until.js";
import { rowsOf } from "../busBatch.js";
import { BUS_HEADERS } from "../busPublisher.js";

/** A row read from the bus: its message's subject and ids, its bytes and its place in the feed. */
export interface BusMessage {
  subject: string;
  /** The stream's own sequence. */
  streamSeq: number;
  /** The row's bytes (one framed event; an account update's: several). */
  data: Uint8Array;
  /** The whole message it came in (its batch). */
  message: Uint8Array;
  feed: string;
  epoch: string;
  seq: number;
  sub: number;
  kind: string;
  msgId: string;
}

/** Reads a JetStream stream's messages on one subject from the start (an ordered consumer), as a consumer of the bus would. */
export class BusReader {
  readonly messages: BusMessage[] = [];
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  private constructor(
    private readonly nc: NatsConnection,
    private readonly iter: ConsumerMessages,
  ) {}

  static async open(url: string, stream: string, subject: string): Promise<BusReader> {
    const nc = await connect({ servers: url });
    const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: subject });
    const reader = new BusReader(nc, await consumer.consume());
    void reader.read();
    return reader;
  }

  private async read(): Promise<void> {
    for await (const m of this.iter) {
      const h = (name: string) => m.headers?.get(name) ?? "";
      // A message is a batch of the feed's rows: one BusMessage per row, its place from Ibp-Rows.
      for (const place of rowsOf(m.data, h(BUS_HEADERS.rows)))
        this.messages.push({
          subject: m.subject,
          streamSeq: m.seq,
          data: place.bytes,
          message: m.data,
          feed: h(BUS_HEADERS.feed),
          epoch: h(BUS_HEADERS.epoch),
          seq: place.seq,
          sub: place.sub,
          kind: place.kind,
          msgId: h("Nats-Msg-Id"),
        });
      for (const w of this.waiters.filter((w) => w.pred())) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Resolves, woken by the messages, when `pred` holds (rejects after timeoutMs). */
  until(pred: () => boolean, { what, timeoutMs = 5_000 }: UntilOptions): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.messages.length} messages read)`)), timeoutMs);
      this.waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async close(): Promise<void> {
    await this.iter.close();
    await this.nc.close();
  }
}
