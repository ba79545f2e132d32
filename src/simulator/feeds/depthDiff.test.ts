import { describe, expect, it } from "vitest";
import type { DepthLevel, DepthSnapshot } from "../market/types.js";
import { applyDepthOps, diffDepth } from "./depthDiff.js";

function rand(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
function snapshot(r: () => number): DepthSnapshot {
  const mid = 100 + Math.floor(r() * 10);
  const level = (p: number): DepthLevel => ({ price: p.toFixed(2), size: String(1 + Math.floor(r() * 9)), marketMaker: r() < 0.5 ? "ARCA" : "NSDQ" });
  const nb = Math.floor(r() * 6);
  const na = Math.floor(r() * 6);
  return {
    timeMs: 0,
    bids: Array.from({ length: nb }, (_, i) => level(mid - 0.01 * (i + 1))),
    asks: Array.from({ length: na }, (_, i) => level(mid + 0.01 * (i + 1))),
  };
}

describe("diffDepth", () => {
  it("turns any book into any other with positional insert/update/delete", () => {
    const r = rand(42);
    let prev: DepthSnapshot | undefined;
    const book = { bids: [] as DepthLevel[], asks: [] as DepthLevel[] };
    for (let i = 0; i < 500; i++) {
      const next = snapshot(r);
      const ops = diffDepth(prev, next);
      for (const op of ops) {
        const rows = op.side === 1 ? book.bids : book.asks;
        if (op.operation === 0) expect(op.position).toBeLessThanOrEqual(rows.length);
        else expect(op.position).toBeLessThan(rows.length);
        applyDepthOps(book, [op]);
      }
      expect(book).toEqual({ bids: next.bids, asks: next.asks });
      prev = next;
    }
  });
});
