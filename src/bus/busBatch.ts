import type { JournalPosition, RecordedEvent, RecordedKind } from "../stream/feedJournal.js";

/**
 * A feed's recorded rows travel in batches: one JetStream message per batch (one per feed per recorder
 * flush, split when large), not one per event — at 10k events/s one message each cost the provider ≈ 20 µs
 * of CPU per event and set a p99 floor of ≈ 26 ms through the bus (BENCHMARKS.md). A message's payload is
 * its rows' bytes one after the other: each row is one framed `events` entry of the stream's response
 * message (an account update: several), so the payload is that response message with the batch's events,
 * as a gRPC client receives it.
 * The rows' positions and kinds are in the `Ibp-Rows` header, compactly (rowsHeader).
 */

/** At most this many rows, and this many bytes, in one message (NATS's default max_payload is 1 MiB). */
export const MAX_BATCH_ROWS = 1_000;
export const MAX_BATCH_BYTES = 256 * 1024;

const KIND_CODES: Record<RecordedKind, string> = { data: "d", status: "s", snapshot: "n" };
const KINDS_OF_CODE: Record<string, RecordedKind> = { d: "data", s: "status", n: "snapshot" };

/** A row's place and kind, as the header tells them (its bytes are the payload's slice). */
export interface RowPlace extends JournalPosition {
  kind: RecordedKind;
  /**
   * How many framed `events` entries the row's bytes are: 1 but for an account update, which a stream
   * sends as several events (the summary and an asset per currency) under one sequence.
   */
  entries: number;
}

/** A row as a consumer reads it back from a message: its place, kind and bytes. */
export interface BusRow extends JournalPosition {
  kind: RecordedKind;
  bytes: Uint8Array;
}

/** Room kept in a message for its headers (Ibp-Rows is a letter per row, rarely more). */
const HEADER_ROOM = 32 * 1024;

/** The largest batch a bus whose messages are at most `maxPayload` bytes takes (its server's max_payload). */
export function batchBytesFor(maxPayload: number): number {
  return Math.max(1_024, Math.min(MAX_BATCH_BYTES, maxPayload - HEADER_ROOM));
}

/** Rows cut into batches of at most MAX_BATCH_ROWS rows and `maxBytes` bytes (a larger single row alone). */
export function batchesOf(rows: readonly RecordedEvent[], maxBytes = MAX_BATCH_BYTES): RecordedEvent[][] {
  const batches: RecordedEvent[][] = [];
  let batch: RecordedEvent[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (batch.length > 0 && (batch.length >= MAX_BATCH_ROWS || bytes + row.bytes.length > maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(row);
    bytes += row.bytes.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The batch's payload: its rows' bytes one after the other. */
export function payloadOf(rows: readonly RecordedEvent[]): Uint8Array {
  return Buffer.concat(rows.map((r) => r.bytes));
}

/**
 * The rows' positions and kinds in a few bytes: the first row as `seq:sub:k`, then one letter per row when it
 * follows the row before as rows usually do (`d`: the next data event, seq + 1, sub 0; `s` / `n`: a status /
 * snapshot row after it, the same seq, sub + 1), else its own `(seq:sub:k)`. k is d, s or n. A row whose
 * bytes are not one framed event (an account update: several) is followed by `*` and their number.
 */
export function rowsHeader(rows: readonly RecordedEvent[]): string {
  let out = "";
  let previous: RecordedEvent | undefined;
  for (const row of rows) {
    const code = KIND_CODES[row.kind];
    const follows =
      previous !== undefined && (row.kind === "data" ? row.seq === previous.seq + 1 && row.sub === 0 : row.seq === previous.seq && row.sub === previous.sub + 1);
    out += previous === undefined ? `${row.seq}:${row.sub}:${code}` : follows ? code : `(${row.seq}:${row.sub}:${code})`;
    const entries = entriesIn(row.bytes);
    if (entries !== 1) out += `*${entries}`;
    previous = row;
  }
  return out;
}

/**
 * Each row's recording time after the first's, in ms (`Ibp-Times`: `0,0,3,1,…`, one per row after the first,
 * each from the row before; empty for one row): an edge replaying from a time filters rows by them, as the
 * provider's replay filters its journal's.
 */
export function timesHeader(rows: readonly RecordedEvent[]): string {
  let out = "";
  for (let i = 1; i < rows.length; i++) out += `${i > 1 ? "," : ""}${rows[i]!.timeMs - rows[i - 1]!.timeMs}`;
  return out;
}

/** The rows' times from the first row's (`Ibp-Time`) and `Ibp-Times`; all the first's when the header is missing. */
export function timesOf(firstMs: number, header: string, count: number): number[] {
  const times = [firstMs];
  const steps = header === "" ? [] : header.split(",");
  for (let i = 1; i < count; i++) times.push(times[i - 1]! + (Number(steps[i - 1]) || 0));
  return times;
}

/** The places an `Ibp-Rows` header names, in order; throws on a header that is not one. */
export function placesOf(header: string): RowPlace[] {
  const places: RowPlace[] = [];
  const explicit = /^(\d+):(\d+):([dsn])/;
  const count = /^\*(\d+)/;
  let rest = header;
  while (rest.length > 0) {
    const previous = places.at(-1);
    const bracketed = rest.startsWith("(");
    const m = explicit.exec(bracketed ? rest.slice(1) : rest);
    if (previous === undefined || bracketed) {
      if (m === null || (bracketed && rest[m[0].length + 1] !== ")")) throw new Error(`not an Ibp-Rows header: ${header.slice(0, 80)}`);
      places.push({ seq: Number(m[1]), sub: Number(m[2]), kind: KINDS_OF_CODE[m[3]!]!, entries: 1 });
      rest = rest.slice(m[0].length + (bracketed ? 2 : 0));
    } else {
      const kind = KINDS_OF_CODE[rest[0]!];
      if (kind === undefined) throw new Error(`not an Ibp-Rows header: ${header.slice(0, 80)}`);
      places.push(kind === "data" ? { seq: previous.seq + 1, sub: 0, kind, entries: 1 } : { seq: previous.seq, sub: previous.sub + 1, kind, entries: 1 });
      rest = rest.slice(1);
    }
    const n = count.exec(rest);
    if (n !== null) {
      places.at(-1)!.entries = Number(n[1]);
      rest = rest.slice(n[0].length);
    }
  }
  return places;
}

/**
 * A message read back as its rows (what a consumer of the bus does): the places its `Ibp-Rows` header names,
 * each with its bytes cut from the payload (one framed event each, or as many as the header says). Throws when
 * the payload does not hold the rows the header names.
 */
export function rowsOf(payload: Uint8Array, header: string): BusRow[] {
  const places = placesOf(header);
  const entries = framedEntries(payload);
  const wanted = places.reduce((n, p) => n + p.entries, 0);
  if (entries.length !== wanted) throw new Error(`a batch of ${places.length} rows (${wanted} events) carries ${entries.length} events`);
  let at = 0;
  let i = 0;
  return places.map(({ seq, sub, kind, entries: n }) => {
    const start = at;
    for (let k = 0; k < n; k++) at += entries[i++]!.length;
    return { seq, sub, kind, bytes: payload.subarray(start, at) };
  });
}

/** How many framed entries `bytes` holds (1 for every row but an account update's). */
function entriesIn(bytes: Uint8Array): number {
  let n = 0;
  for (let at = 0; at < bytes.length; n++) {
    at = skipVarint(bytes, at); // the tag
    let length = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[at++] ?? 0;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((byte & 0x80) !== 0);
    at += length;
  }
  return n;
}

/** The payload cut back into its framed entries (a tag, a length, the event): a row's bytes are one or more. */
export function framedEntries(payload: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < payload.length) {
    const start = at;
    at = skipVarint(payload, at); // the tag
    let length = 0;
    let shift = 0;
    for (;;) {
      const byte = payload[at++];
      if (byte === undefined) throw new Error("a truncated events entry");
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
    }
    at += length;
    if (at > payload.length) throw new Error("a truncated events entry");
    entries.push(payload.subarray(start, at));
  }
  return entries;
}

function skipVarint(bytes: Uint8Array, at: number): number {
  while (at < bytes.length && (bytes[at]! & 0x80) !== 0) at++;
  return at + 1;
}
