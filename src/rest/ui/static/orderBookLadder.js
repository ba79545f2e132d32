/**
 * The book a StreamOrderBook stream describes: a snapshot, then price-level deltas (volume "0" removes a
 * level; docs/streams.md). Prices stay the service's decimal strings (the keys); they are compared as
 * numbers only to sort, which is exact enough to order two distinct prices of one instrument.
 */
export class OrderBookLadder {
  /** @type {Map<string, string>} price → volume */
  bids = new Map();
  /** @type {Map<string, string>} */
  asks = new Map();
  /** The last update's sequence ("" before the first). */
  sequence = "";
  consistent = false;
  /** How many updates were applied (snapshots included). */
  updates = 0;

  /**
   * @param {{ isSnapshot?: boolean, isConsistent?: boolean, sequence?: string,
   *   bids?: { price: string, volume: string }[], asks?: { price: string, volume: string }[] }} update
   */
  apply(update) {
    if (update.isSnapshot) {
      this.bids.clear();
      this.asks.clear();
    }
    for (const [side, levels] of /** @type {const} */ ([[this.bids, update.bids], [this.asks, update.asks]])) {
      for (const level of levels ?? []) {
        if (Number(level.volume) === 0) side.delete(level.price);
        else side.set(level.price, level.volume);
      }
    }
    this.sequence = update.sequence ?? this.sequence;
    this.consistent = update.isConsistent === true;
    this.updates++;
  }

  clear() {
    this.bids.clear();
    this.asks.clear();
    this.sequence = "";
    this.consistent = false;
    this.updates = 0;
  }

  /**
   * The best `depth` levels of each side: asks from the best (lowest) up, bids from the best (highest) down.
   * @param {number} depth
   */
  top(depth) {
    /** @param {Map<string, string>} side @param {number} sign */
    const best = (side, sign) =>
      [...side.entries()]
        .map(([price, volume]) => ({ price, volume }))
        .sort((a, b) => sign * (Number(a.price) - Number(b.price)))
        .slice(0, depth);
    return { asks: best(this.asks, 1), bids: best(this.bids, -1) };
  }
}
