import { BookMirror } from "../../domain/bookMirror.js";
import type { FeedConsumer } from "../../stream/feedCursor.js";
import type { BookUpdate } from "./depthFeed.js";

/** How long a snapshot waits for IB's initial burst of rows when a book does not fill. */
const INITIAL_BOOK_MS = 250;

export interface OrderBookSnapshot {
  book: BookMirror;
  timeMs: number;
  consistent: boolean;
}

/**
 * A depth snapshot read from a consumer of the book's feed: at once when it joins a running feed (its
 * current book), otherwise once IB's initial burst of inserts has settled — the book is full, or
 * INITIAL_BOOK_MS after IB began sending it (a thin market may never fill every row) — or at the deadline.
 */
export async function readOrderBookSnapshot(cursor: FeedConsumer<BookUpdate>, rows: number, timeoutMs: number, now: () => number): Promise<OrderBookSnapshot> {
  const book = new BookMirror();
  const deadline = now() + timeoutMs;
  let timeMs = now();
  let consistent = false;
  let firstDeltaAt: number | undefined;
  const full = () => {
    const { bids, asks } = book.levels(rows);
    return bids.length >= rows && asks.length >= rows;
  };
  for await (const batch of cursor) {
    let joined = false;
    for (const e of batch) {
      if (e.type !== "data") continue;
      book.apply(e.value);
      timeMs = e.value.timeMs;
      consistent = e.value.consistent;
      if (e.value.snapshot && e.value.consistent) joined = true; // a running feed's current book
      else if (!e.value.snapshot) firstDeltaAt ??= now();
    }
    const t = now();
    if (joined || (consistent && full()) || (firstDeltaAt !== undefined && t - firstDeltaAt >= INITIAL_BOOK_MS) || t > deadline) break;
  }
  return { book, timeMs, consistent: consistent && book.inSync };
}
