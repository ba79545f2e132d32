/** Turns two depth snapshots into IB's positional book operations (insert 0 / update 1 / delete 2). */
import type { DepthLevel, DepthSnapshot } from "../market/types.js";

export interface DepthOp {
  position: number;
  operation: 0 | 1 | 2;
  /** 0 ask, 1 bid. */
  side: 0 | 1;
  price: string;
  size: string;
  marketMaker: string;
}

function sideOps(prev: readonly DepthLevel[], next: readonly DepthLevel[], side: 0 | 1): DepthOp[] {
  const ops: DepthOp[] = [];
  const common = Math.min(prev.length, next.length);
  for (let i = 0; i < common; i++) {
    const a = prev[i]!;
    const b = next[i]!;
    if (a.price !== b.price || a.size !== b.size || a.marketMaker !== b.marketMaker) {
      ops.push({ position: i, operation: 1, side, price: b.price, size: b.size, marketMaker: b.marketMaker });
    }
  }
  for (let i = common; i < next.length; i++) {
    const b = next[i]!;
    ops.push({ position: i, operation: 0, side, price: b.price, size: b.size, marketMaker: b.marketMaker });
  }
  // Delete from the bottom up so every position stays valid while applying.
  for (let i = prev.length - 1; i >= common; i--) {
    const a = prev[i]!;
    ops.push({ position: i, operation: 2, side, price: a.price, size: a.size, marketMaker: a.marketMaker });
  }
  return ops;
}

/** Operations that turn the book `prev` (undefined = empty) into `next`. */
export function diffDepth(prev: DepthSnapshot | undefined, next: DepthSnapshot): DepthOp[] {
  return [...sideOps(prev?.bids ?? [], next.bids, 1), ...sideOps(prev?.asks ?? [], next.asks, 0)];
}

/** Applies operations to a book (a client's view), for tests and consistency checks. */
export function applyDepthOps(book: { bids: DepthLevel[]; asks: DepthLevel[] }, ops: readonly DepthOp[]): void {
  for (const op of ops) {
    const rows = op.side === 1 ? book.bids : book.asks;
    const lvl = { price: op.price, size: op.size, marketMaker: op.marketMaker };
    if (op.operation === 0) rows.splice(op.position, 0, lvl);
    else if (op.operation === 1) rows[op.position] = lvl;
    else rows.splice(op.position, 1);
  }
}
