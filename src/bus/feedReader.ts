import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type StoredMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { JournalPosition } from "../stream/feedJournal.js";
import { placesOf, rowsOf, timesOf, type BusRow } from "./busBatch.js";
import { BUS_HEADERS } from "./busPublisher.js";

/**
 * A feed's rows read back from JetStream (an edge's side of the bus): from a position — the first
 * message holding a row after it, found by a binary search over the stream's messages of the feed's
 * subject — then live, through an ordered consumer (JetStream redelivers from where it was after a
 * reconnect). Positions order across epochs by the epoch first (an epoch is the time it began).
 */

/** A row's place in its feed across epochs. */
export interface FeedPosition extends JournalPosition {
  epoch: number;
}

/** Whether `a` comes after `b`. */
export function isLater(a: FeedPosition, b: FeedPosition): boolean {
  return a.epoch !== b.epoch ? a.epoch > b.epoch : a.seq > b.seq || (a.seq === b.seq && a.sub > b.sub);
}

/** One message of a feed: its rows (positions, kinds, bytes) and what the publisher said of it. */
export interface FeedMessage {
  streamSeq: number;
  epoch: number;
  rows: BusRow[];
  /** Each row's recording time at the provider (ms), in the rows' order. */
  rowTimes: number[];
  /** The rows shed before this message (the publisher could not keep up), if any. */
  shed: { from: JournalPosition; to: JournalPosition } | undefined;
  /** Messages of the subject after this one when it was delivered (0: caught up). */
  pending: number;
  /** When its first row was recorded at the provider (ms). */
  timeMs: number;
}

/** Where a read starts: the message, and whether it is the subject's oldest retained one. */
export interface ReadStart {
  streamSeq: number;
  /** The first row after the position (undefined: none stored yet — the read waits for it). */
  first: FeedPosition | undefined;
  /** Whether nothing of the subject is retained before that message (retention deleted the older rows). */
  oldest: boolean;
}

function headerOf(h: MsgHdrs | undefined, name: string): string {
  return h?.get(name) ?? "";
}

/** The first and last row positions of a stored message (from its headers only). */
function spanOf(m: StoredMsg): { first: FeedPosition; last: FeedPosition } {
  const epoch = Number(headerOf(m.header, BUS_HEADERS.epoch));
  const places = placesOf(headerOf(m.header, BUS_HEADERS.rows));
  const first = places[0]!;
  const last = places[places.length - 1]!;
  return { first: { epoch, seq: first.seq, sub: first.sub }, last: { epoch, seq: last.seq, sub: last.sub } };
}

/**
 * The message to read from so that every row after `after` is read: the subject's first message whose last
 * row is after it. The stream's last sequence is read before the subject's last message, so that a subject
 * with no message yet starts after every message stored then (its first comes later) — no race with the
 * publisher.
 */
export async function findStart(jsm: JetStreamManager, stream: string, subject: string, after: FeedPosition): Promise<ReadStart> {
  const info = await jsm.streams.info(stream);
  const last = await jsm.direct.getMessage(stream, { last_by_subj: subject });
  if (last === null) return { streamSeq: info.state.last_seq + 1, first: undefined, oldest: false };
  if (!isLater(spanOf(last).last, after)) return { streamSeq: last.seq + 1, first: undefined, oldest: false };
  // Binary search: the smallest stream sequence whose next message of the subject ends after `after`.
  const next = (seq: number) => jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
  const oldest = await next(Math.max(1, info.state.first_seq));
  if (oldest === null) return { streamSeq: last.seq, first: spanOf(last).first, oldest: false };
  let lo = oldest.seq;
  let hi = last.seq;
  let found = isLater(spanOf(oldest).last, after) ? oldest : last;
  if (found !== oldest) {
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await next(mid);
      if (m === null || m.seq > hi) break;
      if (isLater(spanOf(m).last, after)) {
        found = m;
        hi = mid;
      } else lo = m.seq + 1;
    }
  }
  return { streamSeq: found.seq, first: spanOf(found).first, oldest: found.seq === oldest.seq };
}

/** The subject's messages from `streamSeq` on, live, until `signal` aborts. */
export async function* readFeed(js: JetStreamClient, stream: string, subject: string, streamSeq: number, signal: AbortSignal): AsyncGenerator<FeedMessage> {
  const consumer = await js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: streamSeq });
  // A few MB ahead of the client at most (a message is a batch of up to 256 KiB): its reading paces the pulls.
  // Pulls expiring every 5 s (heartbeats at half that): a consumer the server lost (restarted) is noticed and made
  // again within seconds, not after the default 30 s pull's two missed heartbeats.
  const messages = await consumer.consume({ max_bytes: 4 * 1024 * 1024, expires: 5_000 });
  // On a JetStream cluster the consumer (one copy) lives on one node and goes with it: nats.js would ask for its info
  // forever (a consumer whose node is down never answers, so it is never "not found" and never made again). Two
  // heartbeats missed while connected end this read instead; the caller reads again from where it was.
  let lost = false;
  void (async () => {
    for await (const s of messages.status()) {
      if (s.type !== "heartbeats_missed") continue;
      lost = true;
      messages.stop(new Error(`the bus consumer of ${subject} stopped answering (its JetStream node lost?)`));
      return;
    }
  })();
  const stop = () => void messages.close();
  signal.addEventListener("abort", stop, { once: true });
  try {
    if (signal.aborted) return;
    for await (const m of messages) {
      const epoch = Number(headerOf(m.headers, BUS_HEADERS.epoch));
      const shed = headerOf(m.headers, BUS_HEADERS.shed);
      const rows = rowsOf(m.data, headerOf(m.headers, BUS_HEADERS.rows));
      const timeMs = Number(headerOf(m.headers, BUS_HEADERS.time));
      yield { streamSeq: m.seq, epoch, rows, rowTimes: timesOf(timeMs, headerOf(m.headers, BUS_HEADERS.times), rows.length), shed: shed === "" ? undefined : shedOf(shed), pending: m.info.pending, timeMs };
    }
  } finally {
    signal.removeEventListener("abort", stop);
    await messages.close()?.catch(() => undefined);
    // Gone now, not after JetStream's inactivity threshold (minutes): clients come and go by the thousand. A lost
    // consumer's delete is not waited for: it would time out (5 s) before the read is made again.
    const deleted = consumer.delete().catch(() => undefined);
    if (!lost) await deleted;
  }
}

function shedOf(header: string): { from: JournalPosition; to: JournalPosition } | undefined {
  const m = /^(\d+):(\d+)-(\d+):(\d+)$/.exec(header);
  return m === null ? undefined : { from: { seq: Number(m[1]), sub: Number(m[2]) }, to: { seq: Number(m[3]), sub: Number(m[4]) } };
}

/** How far JetStream's stored time (its server's clock, at storing) may run behind a row's recording time (the provider's clock). */
const CLOCK_SKEW_MS = 5_000;

/** Where a replay from a time starts on the bus, or why it cannot. */
export type TimeStart =
  | { streamSeq: number; snapshot?: FeedPosition | undefined }
  /** Nothing that early on the bus: the oldest row retained (or, for a snapshot feed, the oldest snapshot) is newer. */
  | { tooEarly: true; oldestMs: number | undefined };

/** The stream sequence of the subject's first message stored at or after `atMs` (the stream's next one when none is). */
async function firstSeqAt(js: JetStreamClient, jsm: JetStreamManager, stream: string, subject: string, atMs: number): Promise<number> {
  const next = (await jsm.streams.info(stream)).state.last_seq + 1;
  const consumer = await js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(atMs).toISOString() });
  try {
    const m = await consumer.next({ expires: 1_000 });
    return m?.seq ?? next;
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/**
 * Where a replay of the feed from `atMs` starts on the bus, as the provider's replay starts in its journal: a
 * feed of events at the first message that may hold a row recorded at or after it (the reader drops the
 * rows before it by their times); a snapshot feed (the book, the account) at the newest snapshot recorded at
 * or before it — looked for in the snapshot period before it — then every row after. Nothing on the bus that
 * early: `tooEarly`, with the oldest time it could start from.
 */
export async function findStartAt(js: JetStreamClient, jsm: JetStreamManager, stream: string, subject: string, atMs: number, snapshotEveryMs: number | undefined): Promise<TimeStart> {
  const info = await jsm.streams.info(stream);
  const oldest = await jsm.direct.getMessage(stream, { seq: Math.max(1, info.state.first_seq), next_by_subj: subject });
  if (oldest === null) return snapshotEveryMs === undefined ? { streamSeq: info.state.last_seq + 1 } : { tooEarly: true, oldestMs: undefined };
  const oldestMs = Number(headerOf(oldest.header, BUS_HEADERS.time));
  if (snapshotEveryMs === undefined) {
    if (atMs < oldestMs) return { tooEarly: true, oldestMs };
    return { streamSeq: await firstSeqAt(js, jsm, stream, subject, atMs - CLOCK_SKEW_MS) };
  }
  // The newest snapshot at or before atMs: snapshots come every snapshotEveryMs while the feed runs.
  const from = await firstSeqAt(js, jsm, stream, subject, atMs - snapshotEveryMs - CLOCK_SKEW_MS);
  const abort = new AbortController();
  let found: { streamSeq: number; at: FeedPosition } | undefined;
  let oldestSnapshotMs: number | undefined;
  /** The row before (across messages: a snapshot's rows can be split between two). */
  let previous: { kind: string; seq: number } | undefined;
  try {
    for await (const m of readFeed(js, stream, subject, from, abort.signal)) {
      let past = false;
      for (let i = 0; i < m.rows.length; i++) {
        const row = m.rows[i]!;
        const timeMs = m.rowTimes[i]!;
        if (timeMs > atMs) past = true;
        const continues = previous?.kind === "snapshot" && previous.seq === row.seq;
        previous = row;
        // A snapshot's first row (the one after a non-snapshot row): where a replay starting at it begins.
        if (row.kind !== "snapshot" || continues) continue;
        oldestSnapshotMs ??= timeMs;
        if (timeMs <= atMs) found = { streamSeq: m.streamSeq, at: { epoch: m.epoch, seq: row.seq, sub: row.sub - 1 } };
      }
      if (past || m.pending === 0) break;
    }
  } finally {
    abort.abort();
  }
  return found === undefined ? { tooEarly: true, oldestMs: oldestSnapshotMs } : { streamSeq: found.streamSeq, snapshot: found.at };
}
