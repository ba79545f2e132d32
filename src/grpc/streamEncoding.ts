import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type { Heartbeat, StreamStatus } from "../../gen/ibprovider/v1/types.js";
import type { FeedEvent } from "../ib/ibAdapter.js";
import { controlEventToProto } from "./feedProto.js";

/**
 * Encode once, fan out bytes. A stream response is `repeated XEvent events = 1`, and protobuf encodes a
 * repeated field as the concatenation of its elements: the bytes of a response holding events A and B
 * are the bytes of {events:[A]} followed by those of {events:[B]}. So each feed event is encoded once,
 * per rendering (the symbol the client asked with), cached on the event, and every subscriber's message
 * is the concatenation of the cached chunks of its batch: a subscriber that keeps up gets the very same
 * bytes object as every other one.
 */

/** A message already encoded, written as is (see acceptPreEncoded). */
export type EncodedMessage = Buffer;

/** The status/heartbeat cases of every stream event's oneof. */
export type ControlEvent = { event: { $case: "status"; value: StreamStatus } } | { event: { $case: "heartbeat"; value: Heartbeat } };

export interface StreamRendering<T, E> {
  /** The response message's encoder for a list of events (ts-proto's `Response.encode({ events })`). */
  encode(events: E[]): Uint8Array;
  /** Identifies how data is rendered for this client (e.g. the symbol as requested): the cache key. */
  key: string;
  /** The proto events for one data event ([] to skip it for this client). */
  data(value: T, seq: number): E[];
  /** A status or heartbeat as this stream's event. */
  control(event: ControlEvent): E;
}

/** Messages above this are split: gRPC clients refuse messages over 4 MiB by default. */
export const MAX_MESSAGE_BYTES = 1 << 20;

const EMPTY = Buffer.alloc(0);

/** Per event object, per rendering key: the event's encoded chunk. Shared events are encoded once. */
const chunks = new WeakMap<object, Map<string, Buffer>>();

function chunkOf<T, E>(event: FeedEvent<T>, r: StreamRendering<T, E>): Buffer {
  // Heartbeats are per subscriber: nothing to share.
  if (event.type === "heartbeat") return encodeEvents(r, [r.control(controlEventToProto(event))]);
  let byKey = chunks.get(event);
  const cached = byKey?.get(r.key);
  if (cached !== undefined) return cached;
  const events = event.type === "data" ? r.data(event.value, event.seq) : [r.control(controlEventToProto(event))];
  const chunk = events.length === 0 ? EMPTY : encodeEvents(r, events);
  if (byKey === undefined) chunks.set(event, (byKey = new Map()));
  byKey.set(r.key, chunk);
  return chunk;
}

function encodeEvents<T, E>(r: StreamRendering<T, E>, events: E[]): Buffer {
  const bytes = r.encode(events);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One batch of feed events → the response messages carrying it (usually one), each ≤ MAX_MESSAGE_BYTES. */
export function* encodeBatch<T, E>(batch: readonly FeedEvent<T>[], r: StreamRendering<T, E>, maxBytes = MAX_MESSAGE_BYTES): Generator<EncodedMessage> {
  if (batch.length === 1) {
    const only = chunkOf(batch[0]!, r);
    if (only.length > 0) yield only;
    return;
  }
  let parts: Buffer[] = [];
  let size = 0;
  for (const event of batch) {
    const chunk = chunkOf(event, r);
    if (chunk.length === 0) continue;
    if (size > 0 && size + chunk.length > maxBytes) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
    parts.push(chunk);
    size += chunk.length;
  }
  if (size > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

/**
 * The service definition with response serialisers that pass already encoded messages through (and encode
 * anything else as before), so handlers can write the shared bytes of encodeBatch.
 */
export function acceptPreEncoded<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    const serialize = method.responseSerialize;
    out[name] = method.responseStream ? { ...method, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) } : method;
  }
  return out as D;
}
