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

/** The statuses that describe the data that follows them (sharedFeed.ts DATA_KINDS): they stay true until another. */
const DATA_KIND_STATUSES = new Set(["STREAM_STATUS_KIND_LIVE", "STREAM_STATUS_KIND_DELAYED", "STREAM_STATUS_KIND_FROZEN"]);
const SUBSCRIBED = "STREAM_STATUS_KIND_SUBSCRIBED";

/**
 * Kinds whose events each describe one item of a set (StreamAccount: a position, a balance, the summary of
 * a currency): the last event of each item is the state, not the last of the kind. A position whose
 * quantity is "0" is closed: no longer part of it.
 */
const ITEM_OF: Record<string, (value: JsonObject) => string> = {
  position: (p) => `${String(p.accountId ?? "")}/${String(p.conId ?? "")}/${String(p.symbol ?? "")}`,
  asset: (a) => String(a.symbol ?? ""),
  summary: (s) => String(s.currency ?? ""),
};
const BOOK_RESET = "STREAM_STATUS_KIND_BOOK_RESET";

/**
 * What a client joining a shared stream late needs to see what the others see, built from the stream's
 * messages as they pass (canonical proto3 JSON, `{events: [...]}` batches): the book as one snapshot (its
 * deltas applied), the last trades, the last two candles (the one that just completed and the forming
 * one), every open position and balance of an account, and the last event of any other kind. Statuses
 * as the feed tells its own joiners (sharedFeed.ts joinState): SUBSCRIBED (its epoch) and the kind of
 * data (live, delayed, frozen) before the data; any other status (stale, reconnecting, gap, waiting, …)
 * only while no data has followed it, and after the data (an old GAP or REPLAY_COMPLETE is no news to a
 * joiner; a GAP said first would glue the data before it to the data after it). BOOK_RESET discards the
 * book until the next snapshot. Bounded whatever the stream's length.
 */
export class StreamJoinState {
  #subscribed: JsonObject | undefined;
  #dataKind: JsonObject | undefined;
  /** The last status of another kind, until data follows it. */
  #trouble: JsonObject | undefined;
  #book: BookState | undefined;
  #trades: JsonObject[] = [];
  #candles: JsonObject[] = [];
  /** The last event of each other kind (of each item, for the kinds of ITEM_OF). */
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
      if (kind === "status") {
        this.#addStatus(event);
        continue;
      }
      // A delta with no snapshot before it (after a BOOK_RESET) has nothing to apply to: the snapshot follows.
      if (kind === "update" && this.#book === undefined && (event.update as JsonObject).isSnapshot !== true) continue;
      // Data: whatever trouble was said before it is over (the feed's state is its data kind again).
      this.#trouble = undefined;
      if (kind === "update") this.#applyBook(event);
      else if (kind === "trade") {
        this.#trades.push(event);
        if (this.#trades.length > JOIN_TRADES) this.#trades.shift();
      } else if (kind === "candle") this.#addCandle(event);
      else {
        const value = event[kind] as JsonObject;
        const item = ITEM_OF[kind];
        const key = item === undefined ? kind : `${kind} ${item(value)}`;
        if (kind === "position" && typeof value.quantity === "string" && value.quantity !== "" && Number(value.quantity) === 0) this.#lastOf.delete(key);
        else this.#lastOf.set(key, event);
      }
    }
  }

  /** One message with the state, or undefined before anything worth sending arrived. */
  snapshot(): JsonValue | undefined {
    if (this.#lastMessage !== undefined) return this.#lastMessage;
    const events: JsonObject[] = [];
    if (this.#subscribed !== undefined) events.push(this.#subscribed);
    if (this.#dataKind !== undefined) events.push(this.#dataKind);
    events.push(...this.#lastOf.values());
    if (this.#book !== undefined) events.push(this.#bookSnapshot(this.#book));
    events.push(...this.#candles, ...this.#trades);
    if (this.#trouble !== undefined) events.push(this.#trouble);
    return events.length === 0 ? undefined : { events };
  }

  #addStatus(event: JsonObject): void {
    const kind = (event.status as JsonObject).kind;
    if (kind === SUBSCRIBED) this.#subscribed = event;
    else if (typeof kind === "string" && DATA_KIND_STATUSES.has(kind)) this.#dataKind = event;
    else {
      if (kind === BOOK_RESET) this.#book = undefined;
      this.#trouble = event;
      return;
    }
    // SUBSCRIBED or a data kind: the feed's state is that now, no longer a trouble said before.
    this.#trouble = undefined;
  }

  #applyBook(event: JsonObject): void {
    const update = event.update as JsonObject;
    if (update.isSnapshot === true) this.#book = { meta: {}, sequence: "0", bids: new Map(), asks: new Map() };
    const book = this.#book!;
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

  /** The two newest candles by time (not by arrival: a candle's final form from history comes after the next one started). */
  #addCandle(event: JsonObject): void {
    const time = candleTime(event);
    const at = this.#candles.findIndex((c) => candleTime(c) === time);
    if (at >= 0) {
      this.#candles[at] = event;
      return;
    }
    this.#candles.push(event);
    this.#candles.sort((a, b) => candleTime(a) - candleTime(b));
    if (this.#candles.length > 2) this.#candles.shift();
  }
}

/** A candle event's start in ms (RFC 3339 text does not compare as text: "…00.500Z" < "…00Z"). */
function candleTime(event: JsonObject): number {
  const time = (event.candle as JsonObject).time;
  return typeof time === "string" ? Date.parse(time) : NaN;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The set member of an event's `oneof event`: the one field whose value is a message. */
function oneofMember(event: JsonObject): string | undefined {
  for (const [key, value] of Object.entries(event)) if (isObject(value)) return key;
  return undefined;
}
