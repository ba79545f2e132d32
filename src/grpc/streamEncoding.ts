import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { Heartbeat, StreamStatus } from "../../gen/ibprovider/v1/types.js";
import type { FeedEvent } from "../stream/feedEvents.js";
import { controlEventToProto } from "./mapping/streamStatus.js";

/**
 * Encode once, fan out bytes. A stream response is `repeated XEvent events = 1`, and protobuf encodes a
 * repeated field as the concatenation of its elements: the bytes of a response holding events A and B
 * are the bytes of {events:[A]} followed by those of {events:[B]}. So each feed event is encoded once,
 * per rendering (the symbol the client asked with), memoised beside the event (a WeakMap of this module's:
 * the feed's events carry nothing for the transport), and every subscriber's message
 * is the concatenation of the memoised bytes of its batch: subscribers that keep up all get the very same
 * bytes object. Events nobody else will read are not memoised, and events not encoded yet are encoded
 * together (one allocation per group, not per event).
 */

/** A message already encoded, written as is (see acceptPreEncoded). */
export type EncodedMessage = Buffer;

/** The status/heartbeat cases of every stream event's oneof. */
export type ControlEvent = { event: { $case: "status"; value: StreamStatus } } | { event: { $case: "heartbeat"; value: Heartbeat } };

export interface StreamRendering<T, E> {
  /** The response message's encoder for a list of events: ts-proto's `Response.encode({ events }, writer)`. */
  encode(events: E[], writer: BinaryWriter): BinaryWriter;
  /** Identifies how data is rendered for this client (e.g. the symbol as requested): the cache key. */
  key: string;
  /** The proto events for one data event ([] to skip it for this client). */
  data(value: T, seq: number): E[];
  /** A status or heartbeat as this stream's event. */
  control(event: ControlEvent): E;
  /**
   * Optional fast path for the hottest streams: writes one data event's message (the `E` of `data`,
   * without its framing) straight into the writer, byte for byte what `encode([data(value, seq)])` frames
   * — no intermediate objects. Not for renderings that filter data.
   */
  writeData?(value: T, seq: number, writer: BinaryWriter): void;
  /**
   * A replayed event's bytes (one framed `events` entry, as recorded for `symbol`) as this client gets
   * them: as they are when recorded for the symbol it asked with, else re-rendered (empty: not for it).
   */
  recorded(bytes: Uint8Array, symbol: string): Uint8Array;
}

/** A stream event of the API: the oneof `event` and the feed's `sequence` ("0" on statuses, heartbeats). */
interface NumberedEvent {
  event?: unknown;
  sequence: string;
}

/**
 * The rendering of a stream whose data events are one oneof case each (ticks, trades, candles, books):
 * `toEvent` gives the case for a value, or undefined when the value is not for this client.
 */
export function numberedRendering<T, E extends NumberedEvent>(spec: {
  /** The data's rendering: the kind of stream and the symbol as the client asked (e.g. `tick`, `btcusdt`). */
  kind: string;
  symbol: string;
  codec: EventsCodec<E>;
  toEvent: (value: T) => E["event"] | undefined;
  writeData?: (value: T, seq: number, writer: BinaryWriter) => void;
  /** For replayed events: the proto events this client wants (the same filter as the live data's). */
  accepts?: (event: E) => boolean;
}): StreamRendering<T, E> {
  const { codec, toEvent, writeData, symbol, accepts } = spec;
  // ts-proto's event types are { event?: oneof; sequence: string }: the one place that builds them.
  const numbered = (event: E["event"], sequence: string) => ({ event, sequence }) as E;
  return {
    key: `${spec.kind}\0${symbol}`,
    encode: (events, writer) => codec.encode({ events }, writer),
    data: (value, seq) => {
      const event = toEvent(value);
      return event === undefined ? [] : [numbered(event, String(seq))];
    },
    control: (event) => numbered(event.event, "0"),
    ...(writeData === undefined ? {} : { writeData }),
    recorded: (bytes, recordedFor) => (recordedFor === symbol && accepts === undefined ? bytes : rerender(bytes, codec, recordedFor === symbol ? undefined : symbol, accepts)),
  };
}

/** A stream response's ts-proto codec (`StreamTicksResponse` etc.). */
export interface EventsCodec<E> {
  encode(message: { events: E[] }, writer?: BinaryWriter): BinaryWriter;
  decode(input: Uint8Array): { events: E[] };
}

/**
 * Recorded event bytes for another symbol spelling (an alias: `symbol`) or a filtered stream: decoded, the
 * data's symbol set (only for an alias: an account's positions keep theirs), encoded again. The slow path of a replay: recorded bytes go out as they are otherwise.
 */
function rerender<E extends NumberedEvent>(bytes: Uint8Array, codec: EventsCodec<E>, symbol: string | undefined, accepts: ((event: E) => boolean) | undefined): Uint8Array {
  const { events } = codec.decode(bytes);
  const kept = accepts === undefined ? events : events.filter(accepts);
  if (kept.length === 0) return EMPTY;
  if (symbol === undefined) return kept.length === events.length ? bytes : (codec.encode({ events: kept }, writer), finishWriter());
  for (const e of kept) {
    const value = (e.event as { value?: unknown } | undefined)?.value;
    if (typeof value === "object" && value !== null && "symbol" in value) (value as { symbol: string }).symbol = symbol;
  }
  codec.encode({ events: kept }, writer);
  return finishWriter();
}

/**
 * Messages above this are split (gRPC clients refuse messages over 4 MiB by default). It also sets the
 * grain of what a lagging stream holds: grpc-js copies each message once more to frame it, and a handler
 * waits while more than 512 KiB of its messages are not yet handed to HTTP/2 (handlers.ts).
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * One writer for every encoding: a fresh BinaryWriter starts at 128 bytes and grows by copying, which was
 * a fifth of the service's CPU under a tick flood; this one has grown once. Encoding is synchronous, so
 * sharing it is safe; finish() copies the bytes out and resets it.
 */
const writer = new BinaryWriter();

/** What the shared writer holds, as a Buffer (a copy: the writer is reused). */
function finishWriter(): Buffer {
  const bytes = writer.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Events not encoded yet are encoded together, this many at a time (one allocation per group). */
const GROUP = 64;

/**
 * One batch of feed events → the response messages carrying it (usually one), each about ≤ maxBytes.
 * `shared`: other subscribers will read these events too, so each event's bytes are memoised on it.
 */
export function encodeBatch<T, E>(batch: readonly FeedEvent<T>[], r: StreamRendering<T, E>, shared: boolean, maxBytes = MAX_MESSAGE_BYTES): EncodedMessage[] {
  if (!shared || batch.length < 2) return encodeFresh(batch, r, shared, maxBytes);
  // Subscribers woken by the same events read the same batch: its messages are built once. A batch is a
  // contiguous run of one feed's events, so its first and last events and its length identify it.
  const first = batch[0]!;
  const last = batch[batch.length - 1]!;
  const cached = batchesThisTurn.get(r.key);
  if (cached !== undefined && cached.first === first && cached.last === last && cached.length === batch.length && cached.maxBytes === maxBytes) return cached.messages;
  const messages = encodeFresh(batch, r, shared, maxBytes);
  if (first.type !== "heartbeat" && last.type !== "heartbeat") {
    if (batchesThisTurn.size === 0) setImmediate(() => batchesThisTurn.clear());
    batchesThisTurn.set(r.key, { first, last, length: batch.length, maxBytes, messages });
  }
  return messages;
}

/**
 * The last shared batch encoded per rendering, kept until the event loop turns: subscribers woken by the
 * same events read in the same turn, and nothing is held for longer (a batch can be a few MB).
 */
const batchesThisTurn = new Map<string, { first: object; last: object; length: number; maxBytes: number; messages: EncodedMessage[] }>();

/**
 * A subscriber's stream as encoded messages. Its heartbeats and "stale" statuses come from the feed cursor
 * (src/stream), which also skips the data this subscriber does not want.
 */
/**
 * Each event's bytes on its own (one framed `events` entry per event; empty for an event this rendering
 * skips): what a feed's journal records. Encoded together, and shared with subscribers reading the same
 * events (the memo), so recording costs no second encoding of what is streamed anyway.
 */
export function encodeEach<T, E>(events: readonly FeedEvent<T>[], r: StreamRendering<T, E>): Uint8Array[] {
  encodeFresh(events, r, true, Number.POSITIVE_INFINITY);
  return events.map((e) => memoOf(e, r.key) ?? EMPTY);
}

export async function* encodeStream<T, E>(cursor: AsyncIterable<FeedEvent<T>[]> & { readonly isShared: boolean }, r: StreamRendering<T, E>): AsyncGenerator<EncodedMessage> {
  for await (const batch of cursor) yield* encodeBatch(batch, r, cursor.isShared);
}

function encodeFresh<T, E>(batch: readonly FeedEvent<T>[], r: StreamRendering<T, E>, shared: boolean, maxBytes: number): EncodedMessage[] {
  const messages: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  /** Events written to the shared writer since its last finish(), by feed event (undefined: not memoised). */
  let owners: { event: FeedEvent<T> | undefined; count: number }[] = [];
  let written = 0;

  const encodePending = () => {
    if (written === 0) return;
    const bytes = finishWriter();
    if (shared) memoiseFrames(bytes, owners, r.key);
    parts.push(bytes);
    size += bytes.length;
    owners = [];
    written = 0;
  };
  const endMessage = () => {
    encodePending();
    if (size > 0) messages.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
    parts = [];
    size = 0;
  };

  try {
    for (const event of batch) {
      if (event.type === "recorded") {
        // Replayed: the recorded bytes, this subscriber's own (never memoised). What the shared writer holds is
        // taken first: keeps the order, and a re-rendering uses the writer itself.
        encodePending();
        const bytes = r.recorded(event.bytes, event.symbol);
        if (bytes.length === 0) continue;
        if (size > 0 && size + bytes.length > maxBytes) endMessage();
        // Messages go out as Buffers (acceptPreEncoded passes only those through): a view, not a copy.
        parts.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        size += bytes.length;
        continue;
      }
      // Only shared events are memoised: a lone subscriber's events cost no lookup.
      const memo = !shared || event.type === "heartbeat" ? undefined : memoOf(event, r.key);
      if (memo !== undefined) {
        if (memo.length === 0) continue;
        encodePending(); // keep the order
        if (size > 0 && size + memo.length > maxBytes) endMessage();
        parts.push(memo);
        size += memo.length;
        continue;
      }
      let count: number;
      if (event.type === "data" && r.writeData !== undefined) {
        // The hot path: the event written straight into the writer, framed as one `events` entry.
        writer.uint32(10).fork();
        r.writeData(event.value, event.seq, writer);
        writer.join();
        count = 1;
      } else {
        // Heartbeats are per subscriber: never memoised.
        const events = event.type === "data" ? r.data(event.value, event.seq) : [r.control(controlEventToProto(event))];
        if (events.length === 0) {
          if (shared && event.type !== "heartbeat") memoise(event, r.key, EMPTY);
          continue;
        }
        r.encode(events, writer);
        count = events.length;
      }
      owners.push({ event: event.type === "heartbeat" ? undefined : event, count });
      written += count;
      if (written >= GROUP) {
        encodePending();
        if (size >= maxBytes) endMessage();
      }
    }
    endMessage();
  } catch (err) {
    writer.finish(); // reset, so a failed encoding leaves nothing behind for the next one
    throw err;
  }
  return messages;
}

/**
 * An event's encodings, one per rendering (e.g. per symbol alias; a list: usually one entry). Kept beside
 * the event, not on it, and gone with it once the feed's log has freed it.
 */
interface EncodingMemo {
  key: string;
  bytes: Buffer;
  next: EncodingMemo | undefined;
}

const memos = new WeakMap<object, EncodingMemo>();

function memoOf(event: object, key: string): Buffer | undefined {
  for (let m = memos.get(event); m !== undefined; m = m.next) if (m.key === key) return m.bytes;
  return undefined;
}

function memoise(event: object, key: string, bytes: Buffer): void {
  memos.set(event, { key, bytes, next: memos.get(event) });
}

/**
 * Splits encoded events back into each feed event's bytes (views, no copies): at the top level a response
 * is a sequence of `events` fields, each tag 0x0a, a varint length and the event.
 */
function memoiseFrames<T>(bytes: Buffer, owners: { event: FeedEvent<T> | undefined; count: number }[], key: string): void {
  const only = owners.length === 1 ? owners[0]!.event : undefined;
  if (only !== undefined && only.type !== "heartbeat") {
    memoise(only, key, bytes); // the usual case: one event, the whole message
    return;
  }
  let pos = 0;
  for (const { event, count } of owners) {
    const start = pos;
    for (let i = 0; i < count; i++) pos = nextEvent(bytes, pos).end;
    if (event !== undefined && event.type !== "heartbeat") memoise(event, key, bytes.subarray(start, pos));
  }
}

/**
 * Walks a stream response's top-level `events` fields: the event starting at `pos` (tag 0x0a, varint
 * length, event bytes) → where its bytes start and where the next event starts.
 */
export function nextEvent(bytes: Uint8Array, pos: number): { start: number; end: number } {
  let p = pos + 1; // tag: field 1, length-delimited
  let len = 0;
  let shift = 0;
  let b: number;
  do {
    b = bytes[p++]!;
    len += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return { start: p, end: p + len };
}

/**
 * The service definition with response serialisers that pass already encoded messages through (and encode
 * anything else as before), so stream handlers can write the shared bytes of encodeBatch and unary handlers
 * a response encoded a slice at a time (GetCandles).
 */
export function acceptPreEncoded<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    const serialize = method.responseSerialize;
    out[name] = { ...method, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) };
  }
  return out as D;
}
