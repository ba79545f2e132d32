/**
 * Level-2 book. The best level on each side is the quote; deeper levels are keyed by price: whether a
 * price level is populated, its size and its market maker are hashes of (price, epoch) where each
 * price has its own epoch length and phase. Levels therefore flicker independently every ~0.2–5 s,
 * so snapshots 100 ms apart differ a little, and when the quote moves the ladder shifts with it —
 * exactly the changes `diffDepth` turns into IB's insert / update / delete operations.
 */
import { formatMultiple } from "./decimals.js";
import { hash4, hash5, unit } from "./hash.js";
import type { InstrumentModel } from "./instruments.js";
import type { DepthLevel, DepthOperation, DepthSnapshot } from "./types.js";

const SALT_LEVEL = 0x6465; // "de"
const SALT_SIZE = 0x737a; // "sz"
const DENSITY = 0.75;

export interface TopOfBook {
  bidTicks: number;
  askTicks: number;
  bidUnits: number;
  askUnits: number;
}

function epochOf(h: number, minMs: number, spanMs: number, timeMs: number): number {
  const period = minMs + (h % spanMs);
  const phase = (h >>> 11) % period;
  return Math.floor((timeMs + phase) / period);
}

/** Resting size for a book level: a few typical trade sizes. */
function bookUnits(model: InstrumentModel, u: number): number {
  return model.unitsMin + Math.floor(u * u * (model.unitsMax * 3 - model.unitsMin + 1));
}

function maker(model: InstrumentModel, h: number): string {
  return model.marketMakers[(h >>> 5) % model.marketMakers.length] ?? model.spec.exchange;
}

export function buildDepth(seed: number, model: InstrumentModel, top: TopOfBook, timeMs: number, rows: number): DepthSnapshot {
  const side = (sideId: 0 | 1): DepthLevel[] => {
    const best = sideId === 1 ? top.bidTicks : top.askTicks;
    const dir = sideId === 1 ? -1 : 1;
    const hBest = hash5(seed, model.conId, SALT_LEVEL + sideId, best, epochOf(hash4(seed, model.conId, sideId, best), 1000, 4000, timeMs));
    const levels: DepthLevel[] = [];
    if (rows <= 0) return levels;
    levels.push({ price: formatMultiple(best, model.tick), size: formatMultiple(sideId === 1 ? top.bidUnits : top.askUnits, model.sizeStep), marketMaker: maker(model, hBest) });
    for (let p = best + dir, guard = 0; levels.length < rows && p > 0 && guard < rows * 50; p += dir, guard++) {
      const hp = hash4(seed, model.conId, sideId, p);
      const hLevel = hash5(seed, model.conId, SALT_LEVEL + sideId, p, epochOf(hp, 800, 4200, timeMs));
      if (unit(hLevel) >= DENSITY) continue;
      const hSize = hash5(seed, model.conId, SALT_SIZE + sideId, p, epochOf(hp >>> 3, 200, 1800, timeMs));
      levels.push({ price: formatMultiple(p, model.tick), size: formatMultiple(bookUnits(model, unit(hSize)), model.sizeStep), marketMaker: maker(model, hLevel) });
    }
    return levels;
  };
  return { timeMs, bids: side(1), asks: side(0) };
}

function sameLevel(a: DepthLevel, b: DepthLevel): boolean {
  return a.size === b.size && a.marketMaker === b.marketMaker;
}

/**
 * Ops for one side. Every position stays inside [0, maxRows): IB never addresses a row beyond those
 * requested, and clients holding a fixed-length book (ib_insync's `domBids[position]`) rely on it, so an
 * insert into a full book first deletes the last row.
 */
function diffSide(prev: readonly DepthLevel[], next: readonly DepthLevel[], side: 0 | 1, maxRows: number): DepthOperation[] {
  const ahead = (x: number, y: number): boolean => (side === 1 ? x > y : x < y);
  const ops: DepthOperation[] = [];
  const cur = [...prev];
  const op = (position: number, operation: 0 | 1 | 2, l: DepthLevel): void => {
    ops.push({ position, operation, side, price: l.price, size: l.size, marketMaker: l.marketMaker });
  };
  for (let i = 0; i < next.length; i++) {
    const target = next[i] as DepthLevel;
    const tp = Number(target.price);
    // Levels ranked ahead of the target are gone from the new book.
    while (i < cur.length && ahead(Number((cur[i] as DepthLevel).price), tp)) {
      op(i, 2, cur[i] as DepthLevel);
      cur.splice(i, 1);
    }
    const here = cur[i];
    if (here !== undefined && Number(here.price) === tp) {
      if (!sameLevel(here, target) || here.price !== target.price) op(i, 1, target);
      cur[i] = target;
    } else {
      if (cur.length >= maxRows) {
        op(cur.length - 1, 2, cur[cur.length - 1] as DepthLevel);
        cur.pop();
      }
      op(i, 0, target);
      cur.splice(i, 0, target);
    }
  }
  for (let i = cur.length - 1; i >= next.length; i--) op(i, 2, cur[i] as DepthLevel);
  return ops;
}

/**
 * IB-style market-depth operations turning `prev` into `next` (asks first, then bids). Applying them
 * in order with `applyDepthOps` yields `next` exactly; no operation addresses a row at or beyond `rows`
 * (default: the longer of the two books), and no side ever holds more than `rows` levels.
 */
export function diffDepth(prev: DepthSnapshot, next: DepthSnapshot, rows?: number): DepthOperation[] {
  const max = (a: readonly DepthLevel[], b: readonly DepthLevel[]): number => rows ?? Math.max(a.length, b.length);
  return [...diffSide(prev.asks, next.asks, 0, max(prev.asks, next.asks)), ...diffSide(prev.bids, next.bids, 1, max(prev.bids, next.bids))];
}

/** Applies IB depth operations (0 insert, 1 update, 2 delete at `position`) to a snapshot. */
export function applyDepthOps(book: DepthSnapshot, ops: readonly DepthOperation[], timeMs = book.timeMs): DepthSnapshot {
  const bids = [...book.bids];
  const asks = [...book.asks];
  for (const o of ops) {
    const rows = o.side === 1 ? bids : asks;
    const level: DepthLevel = { price: o.price, size: o.size, marketMaker: o.marketMaker };
    if (o.operation === 0) rows.splice(o.position, 0, level);
    else if (o.operation === 1) rows[o.position] = level;
    else rows.splice(o.position, 1);
  }
  return { timeMs, bids, asks };
}
