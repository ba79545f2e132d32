import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

interface BookState {
  /** The last update's fields other than its levels (symbol, time, sequence, is_consistent). */
  meta: JsonObject;
  sequence: JsonValue;
  bids: Map<string, JsonObject>;
  asks: Map<string, JsonObject>;
}

/** Trades a late joiner of a shared stream gets: a tape's worth. */
export const JOIN_TRADES = 50;

/**
 * What a client joining a shared stream late needs to see what the others see, built from the stream's
 * messages as they pass (canonical proto3 JSON, `{events: [...]}` batches): the last status, the book as
 * one snapshot (its deltas applied), the last trades, the last two candles (the one that just completed
 * and the forming one) and the last event of any other kind. Bounded whatever the stream's length.
 */
export class StreamJoinState {
  #status: JsonObject | undefined;
  #book: BookState | undefined;
  #trades: JsonObject[] = [];
  #candles: JsonObject[] = [];
  readonly #lastOf = new Map<string, JsonObject>();
  /** A message without events (a stream of another shape): the last one is the state. */
  #lastMessage: JsonValue | undefined;

  add(message: JsonValue): void {
    const events = isObject(message) ? message.events : undefined;
    if (!Array.isArray(events)) {
      this.#lastMessage = message;
      return;
    }
    for (const event of events) {
      if (!isObject(event)) continue;
      const kind = oneofMember(event);
      if (kind === undefined || kind === "heartbeat") continue;
      if (kind === "status") this.#status = event;
      else if (kind === "update") this.#applyBook(event);
      else if (kind === "trade") {
        this.#trades.push(event);
        if (this.#trades.length > JOIN_TRADES) this.#trades.shift();
      } else if (kind === "candle") this.#addCandle(event);
      else this.#lastOf.set(kind, event);
    }
  }

  /** One message with the state, or undefined before anything worth sending arrived. */
  snapshot(): JsonValue | undefined {
    if (this.#lastMessage !== undefined) return this.#lastMessage;
    const events: JsonObject[] = [];
    if (this.#status !== undefined) events.push(this.#status);
    events.push(...this.#lastOf.values());
    if (this.#book !== undefined) events.push(this.#bookSnapshot(this.#book));
    events.push(...this.#candles, ...this.#trades);
    return events.length === 0 ? undefined : { events };
  }

  #applyBook(event: JsonObject): void {
    const update = event.update as JsonObject;
    if (update.isSnapshot === true || this.#book === undefined) this.#book = { meta: {}, sequence: "0", bids: new Map(), asks: new Map() };
    const book = this.#book;
    const { bids, asks, ...meta } = update;
    book.meta = meta;
    book.sequence = event.sequence ?? book.sequence;
    for (const [side, levels] of [[book.bids, bids], [book.asks, asks]] as const) {
      for (const level of Array.isArray(levels) ? levels : []) {
        if (!isObject(level) || typeof level.price !== "string") continue;
        if (Number(level.volume) === 0) side.delete(level.price);
        else side.set(level.price, level);
      }
    }
  }

  #bookSnapshot(book: BookState): JsonObject {
    const sorted = (side: Map<string, JsonObject>, sign: number) => [...side.values()].sort((a, b) => sign * (Number(a.price) - Number(b.price)));
    return { sequence: book.sequence, update: { ...book.meta, isSnapshot: true, bids: sorted(book.bids, -1), asks: sorted(book.asks, 1) } };
  }

  #addCandle(event: JsonObject): void {
    const time = (event.candle as JsonObject).time;
    const last = this.#candles.at(-1);
    if (last !== undefined && (last.candle as JsonObject).time === time) this.#candles[this.#candles.length - 1] = event;
    else {
      this.#candles.push(event);
      if (this.#candles.length > 2) this.#candles.shift();
    }
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The set member of an event's `oneof event`: the one field whose value is a message. */
function oneofMember(event: JsonObject): string | undefined {
  for (const [key, value] of Object.entries(event)) if (isObject(value)) return key;
  return undefined;
}
