/**
 * L2 order book maintained from IB's position-based depth operations (updateMktDepth / updateMktDepthL2):
 *   operation 0 = insert a row at `position` (rows at and below shift down),
 *   operation 1 = update the row at `position`,
 *   operation 2 = delete the row at `position` (rows below shift up);
 *   side 0 = ask, side 1 = bid; positions are 0-based, rows best-first as IB sends them.
 * SMART depth rows carry a market maker and several rows may share a price, so consumers get price levels
 * aggregated across rows. Each op returns the price-level deltas it caused (new aggregate size, 0 = level gone).
 *
 * Crossed/locked books are accepted as IB sends them (rows from different venues update independently and are
 * transiently crossed); nothing is reordered or dropped. snapshot() sorts levels by price, so a crossed book
 * shows a best bid >= best ask until IB sends the fixing ops.
 */
import { type Decimal, toWire, ZERO } from "./decimal.js";
import type { BookLevel, BookSide } from "./marketData.js";

export const DEPTH_INSERT = 0;
export const DEPTH_UPDATE = 1;
export const DEPTH_DELETE = 2;
export const IB_SIDE_ASK = 0;
export const IB_SIDE_BID = 1;

/** One IB depth callback. price/size may be absent for deletes (IB's values there are meaningless). */
export interface DepthOp {
  position: number;
  operation: number;
  side: number;
  price?: Decimal;
  size?: Decimal;
  marketMaker?: string;
}

export interface PriceSize {
  price: Decimal;
  /** New aggregate size at this price across rows; zero means the level is gone. */
  size: Decimal;
}

export interface BookDelta {
  bids: PriceSize[];
  asks: PriceSize[];
  /** The book's consistency after this op. */
  consistent: boolean;
  /** Why the op was rejected (the book is now inconsistent; the adapter should resubscribe). */
  error?: string;
}

export interface BookSnapshot {
  bids: BookLevel[];
  asks: BookLevel[];
}

export interface OrderBookOptions {
  /** IB's numRows: an insert that pushes rows past it makes the last rows fall off. */
  maxRows?: number;
}

interface Level {
  price: Decimal;
  size: Decimal;
  rows: number;
  makers: Map<string, number>;
}

class SideBook {
  readonly rows: BookLevel[] = [];
  readonly levels = new Map<string, Level>();

  /** touched: price key → aggregate size before the op (first touch wins). */
  insert(index: number, row: BookLevel, touched: Map<string, Touch>): void {
    this.touch(row.price, touched);
    this.rows.splice(index, 0, row);
    const key = toWire(row.price);
    let level = this.levels.get(key);
    if (level === undefined) {
      level = { price: row.price, size: ZERO, rows: 0, makers: new Map() };
      this.levels.set(key, level);
    }
    level.size = level.size.plus(row.size);
    level.rows += 1;
    level.makers.set(row.marketMaker, (level.makers.get(row.marketMaker) ?? 0) + 1);
  }

  remove(index: number, touched: Map<string, Touch>): void {
    const [row] = this.rows.splice(index, 1);
    if (row === undefined) return;
    this.touch(row.price, touched);
    const key = toWire(row.price);
    const level = this.levels.get(key);
    if (level === undefined) return;
    level.rows -= 1;
    if (level.rows === 0) {
      this.levels.delete(key);
      return;
    }
    level.size = level.size.minus(row.size);
    const n = (level.makers.get(row.marketMaker) ?? 0) - 1;
    if (n > 0) level.makers.set(row.marketMaker, n);
    else level.makers.delete(row.marketMaker);
  }

  private touch(price: Decimal, touched: Map<string, Touch>): void {
    const key = toWire(price);
    if (!touched.has(key)) touched.set(key, { price, before: this.levels.get(key)?.size ?? ZERO });
  }

  deltas(touched: Map<string, Touch>): PriceSize[] {
    const out: PriceSize[] = [];
    for (const [key, t] of touched) {
      const after = this.levels.get(key)?.size ?? ZERO;
      if (!after.eq(t.before)) out.push({ price: t.price, size: after });
    }
    return out;
  }

  /** Every non-empty level, removed (for clear()). */
  clearAll(): PriceSize[] {
    const out: PriceSize[] = [];
    for (const level of this.levels.values()) if (!level.size.isZero()) out.push({ price: level.price, size: ZERO });
    this.rows.length = 0;
    this.levels.clear();
    return out;
  }

  aggregated(descending: boolean, depth: number | undefined): BookLevel[] {
    const levels: BookLevel[] = [];
    for (const level of this.levels.values()) {
      // A level whose rows all have size 0 is not a level (its delta said "0").
      if (level.size.isZero()) continue;
      const onlyMaker = level.makers.size === 1 ? level.makers.keys().next().value : undefined;
      levels.push({ price: level.price, size: level.size, marketMaker: onlyMaker ?? "" });
    }
    levels.sort((a, b) => (descending ? b.price.comparedTo(a.price) : a.price.comparedTo(b.price)));
    return depth === undefined ? levels : levels.slice(0, Math.max(0, depth));
  }
}

interface Touch {
  price: Decimal;
  before: Decimal;
}

export class OrderBook {
  private readonly bidSide = new SideBook();
  private readonly askSide = new SideBook();
  private readonly maxRows: number | undefined;
  /** An op has arrived since construction / the last clear(). */
  private synced = false;
  private broken: string | undefined;

  constructor(options: OrderBookOptions = {}) {
    if (options.maxRows !== undefined && !(Number.isInteger(options.maxRows) && options.maxRows > 0)) {
      throw new RangeError(`maxRows must be a positive integer, got ${options.maxRows}`);
    }
    this.maxRows = options.maxRows;
  }

  /**
   * True when the rows mirror IB's stream: at least one op since construction/clear() and no impossible op since.
   * Ops keep being applied best-effort while inconsistent, so deltas and snapshot stay in step with each other.
   */
  get consistent(): boolean {
    return this.synced && this.broken === undefined;
  }

  /** The first impossible op's description since the last clear(), if any. */
  get inconsistency(): string | undefined {
    return this.broken;
  }

  apply(op: DepthOp): BookDelta {
    const error = this.validate(op);
    if (error !== undefined) {
      this.broken ??= error;
      return { bids: [], asks: [], consistent: false, error };
    }
    this.synced = true;
    const side = op.side === IB_SIDE_BID ? this.bidSide : this.askSide;
    const touched = new Map<string, Touch>();
    if (op.operation === DEPTH_DELETE) {
      if (op.position < side.rows.length) side.remove(op.position, touched);
    } else {
      const row: BookLevel = { price: op.price!, size: op.size!, marketMaker: op.marketMaker ?? "" };
      if (op.operation === DEPTH_UPDATE) side.remove(op.position, touched);
      side.insert(op.position, row, touched);
      while (this.maxRows !== undefined && side.rows.length > this.maxRows) side.remove(side.rows.length - 1, touched);
    }
    const changes = side.deltas(touched);
    return op.side === IB_SIDE_BID
      ? { bids: changes, asks: [], consistent: this.consistent }
      : { bids: [], asks: changes, consistent: this.consistent };
  }

  /** IB error 317 ("market depth data has been reset"): empty the book; deltas remove every level. */
  clear(): BookDelta {
    const bids = this.bidSide.clearAll();
    const asks = this.askSide.clearAll();
    this.synced = false;
    this.broken = undefined;
    return { bids, asks, consistent: false };
  }

  /** Price levels aggregated across rows, best first (bids descending, asks ascending), at most `depth` per side. */
  snapshot(depth?: number): BookSnapshot {
    return { bids: this.bidSide.aggregated(true, depth), asks: this.askSide.aggregated(false, depth) };
  }

  /** The raw rows of one side, in IB position order. */
  rows(side: BookSide): readonly BookLevel[] {
    return (side === "bid" ? this.bidSide : this.askSide).rows.slice();
  }

  private validate(op: DepthOp): string | undefined {
    const { position, operation, side: sideCode } = op;
    if (sideCode !== IB_SIDE_ASK && sideCode !== IB_SIDE_BID) return `unknown depth side ${sideCode}`;
    if (!Number.isInteger(position) || position < 0) return `invalid depth position ${position}`;
    const length = (sideCode === IB_SIDE_BID ? this.bidSide : this.askSide).rows.length;
    const sideName = sideCode === IB_SIDE_BID ? "bid" : "ask";
    switch (operation) {
      case DEPTH_INSERT:
        if (position > length) return `insert at ${sideName} position ${position} beyond the end (${length} rows)`;
        if (this.maxRows !== undefined && position >= this.maxRows) {
          return `insert at ${sideName} position ${position} beyond maxRows ${this.maxRows}`;
        }
        break;
      case DEPTH_UPDATE:
        if (position >= length) return `update of missing ${sideName} row ${position} (${length} rows)`;
        break;
      case DEPTH_DELETE:
        // A delete past the end is a no-op (see apply), not an inconsistency: IB does send them, e.g. for
        // a row an insert had already pushed beyond numRows (ib_insync ignores them the same way).
        break;
      default:
        return `unknown depth operation ${operation}`;
    }
    if (operation !== DEPTH_DELETE) {
      if (op.price === undefined || !op.price.isFinite()) return `${sideName} row ${position} without a price`;
      if (op.size === undefined || !op.size.isFinite() || op.size.lt(0)) {
        return `${sideName} row ${position} with invalid size ${op.size === undefined ? "undefined" : toWire(op.size)}`;
      }
    }
    return undefined;
  }
}
