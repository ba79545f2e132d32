import type { Decimal } from "./decimal.js";
import { toWire } from "./decimal.js";

/** A price level as a consumer sees it. */
export interface MirrorLevel {
  price: Decimal;
  size: Decimal;
}

/** What a book stream delivers: a snapshot to replace the book with, or deltas (size 0 removes). */
export interface MirrorUpdate {
  sequence: number;
  snapshot: boolean;
  bids: MirrorLevel[];
  asks: MirrorLevel[];
}

/**
 * The consumer side of an order book stream: applies snapshots and price-level deltas, and checks the
 * sequence so a missed update is detected instead of silently producing a wrong book. Used for
 * GetOrderBook (a snapshot from the live stream) and by clients/tests as the reference behaviour.
 */
export class BookMirror {
  private bids = new Map<string, MirrorLevel>();
  private asks = new Map<string, MirrorLevel>();
  private lastSequence: number | undefined;
  /** False after a sequence jump until the next snapshot. */
  inSync = false;

  apply(update: MirrorUpdate): void {
    if (update.snapshot) {
      this.bids = new Map();
      this.asks = new Map();
      this.inSync = true;
    } else if (this.lastSequence !== undefined && update.sequence !== this.lastSequence + 1) {
      this.inSync = false;
    }
    this.lastSequence = update.sequence;
    for (const l of update.bids) set(this.bids, l);
    for (const l of update.asks) set(this.asks, l);
  }

  /** Bids best (highest) first, asks best (lowest) first, at most `depth` each. */
  levels(depth = Number.POSITIVE_INFINITY): { bids: MirrorLevel[]; asks: MirrorLevel[] } {
    const bids = [...this.bids.values()].sort((a, b) => b.price.comparedTo(a.price)).slice(0, depth);
    const asks = [...this.asks.values()].sort((a, b) => a.price.comparedTo(b.price)).slice(0, depth);
    return { bids, asks };
  }

  get sequence(): number | undefined {
    return this.lastSequence;
  }
}

function set(side: Map<string, MirrorLevel>, level: MirrorLevel): void {
  const key = toWire(level.price);
  if (level.size.isZero()) side.delete(key);
  else side.set(key, { price: level.price, size: level.size });
}
