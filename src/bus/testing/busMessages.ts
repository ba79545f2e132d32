import type { JetStreamClient } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import type { RecordedEvent } from "../../stream/feedJournal.js";
import { payloadOf, rowsHeader, timesHeader } from "../busBatch.js";
import { BUS_HEADERS } from "../busPublisher.js";

/** Publishes `rows` as one message of a feed's, with the headers the provider's publisher sets; its stream sequence. */
export async function publishRows(js: JetStreamClient, subject: string, epoch: number, rows: readonly RecordedEvent[]): Promise<number> {
  const h = headers();
  h.set(BUS_HEADERS.epoch, String(epoch));
  h.set(BUS_HEADERS.rows, rowsHeader(rows));
  h.set(BUS_HEADERS.time, String(rows[0]!.timeMs));
  if (rows.length > 1) h.set(BUS_HEADERS.times, timesHeader(rows));
  return (await js.publish(subject, payloadOf(rows), { headers: h })).seq;
}

/** `count` data rows from `first`, each one framed event of one byte (its seq), recorded at `timeMs`. */
export function dataRows(first: number, count: number, timeMs = 1): RecordedEvent[] {
  return Array.from({ length: count }, (_, i) => ({ seq: first + i, sub: 0, timeMs, kind: "data" as const, bytes: Uint8Array.from([0x0a, 0x01, (first + i) & 0xff]) }));
}
