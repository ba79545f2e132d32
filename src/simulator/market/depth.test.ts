import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { applyDepthOps, diffDepth } from "./depth.js";
import type { DepthLevel, DepthSnapshot } from "./types.js";
import { isMultiple, rng, spec, testMarket } from "./testSupport.js";

const market = testMarket(21);
const random = rng(7);
const SYMBOLS = ["AAPL", "SPY", "BTC.USD", "ETH.USD", "EUR.USD", "ESU5"];
const OPEN = Date.UTC(2025, 4, 14, 15, 0); // Wed 11:00 ET: everything trades

function checkBook(book: DepthSnapshot, rows: number, minTick: string, sizeStep: string): void {
  expect(book.bids).toHaveLength(rows);
  expect(book.asks).toHaveLength(rows);
  const strictly = (levels: readonly DepthLevel[], dir: 1 | -1): boolean =>
    levels.every((l, i) => i === 0 || new Decimal(l.price).sub(levels[i - 1]!.price).mul(dir).gt(0));
  expect(strictly(book.bids, -1)).toBe(true);
  expect(strictly(book.asks, 1)).toBe(true);
  expect(new Decimal(book.bids[0]!.price).lt(book.asks[0]!.price)).toBe(true);
  for (const l of [...book.bids, ...book.asks]) {
    expect(new Decimal(l.size).gt(0)).toBe(true);
    expect(isMultiple(l.price, minTick) && isMultiple(l.size, sizeStep)).toBe(true);
    expect(l.marketMaker).not.toBe("");
  }
}

describe("quotes", () => {
  it.each(SYMBOLS)("%s: last trade within [bid, ask], spread 1–few ticks, sizes on sizeIncrement", (sym) => {
    const s = spec(market, sym);
    for (let i = 0; i < 40; i++) {
      const t = OPEN + Math.floor(random() * 3_600_000);
      const q = market.quote(s, t);
      const last = market.trades(s, t - 120_000, t + 1).at(-1)!;
      expect(new Decimal(last.price).gte(q.bid) && new Decimal(last.price).lte(q.ask)).toBe(true);
      const spreadTicks = new Decimal(q.ask).sub(q.bid).div(s.minTick).toNumber();
      expect(spreadTicks).toBeGreaterThanOrEqual(1);
      expect(spreadTicks).toBeLessThanOrEqual(9);
      expect(isMultiple(q.bidSize, s.sizeIncrement) && isMultiple(q.askSize, s.sizeIncrement)).toBe(true);
      expect(new Decimal(q.bidSize).gt(0) && new Decimal(q.askSize).gt(0)).toBe(true);
    }
  });

  it("while closed, quotes around the last close (AAPL on Saturday)", () => {
    const s = spec(market, "AAPL");
    const sat = Date.UTC(2025, 4, 17, 15, 0);
    const lastFriday = market.trades(s, Date.UTC(2025, 4, 16, 23, 59), Date.UTC(2025, 4, 17, 0, 0)).at(-1)!; // 19:59 ET
    const q = market.quote(s, sat);
    expect(new Decimal(lastFriday.price).gte(q.bid) && new Decimal(lastFriday.price).lte(q.ask)).toBe(true);
  });
});

describe("depth", () => {
  it.each(SYMBOLS)("%s: a consistent book whose top is the quote", (sym) => {
    const s = spec(market, sym);
    for (let i = 0; i < 20; i++) {
      const t = OPEN + Math.floor(random() * 86_400_000);
      const book = market.depth(s, t, 10);
      checkBook(book, 10, s.minTick, s.sizeIncrement);
      const q = market.quote(s, t);
      expect([book.bids[0]!.price, book.bids[0]!.size, book.asks[0]!.price, book.asks[0]!.size]).toEqual([q.bid, q.bidSize, q.ask, q.askSize]);
    }
  });

  it("uses venue market makers for stocks and PAXOS for crypto", () => {
    const stockMakers = new Set(market.depth(spec(market, "AAPL"), OPEN, 10).bids.map((l) => l.marketMaker));
    expect([...stockMakers].every((m) => ["NSDQ", "ARCA", "BATS", "EDGX", "IEX", "NYSE", "MEMX"].includes(m))).toBe(true);
    expect(new Set(market.depth(spec(market, "BTC.USD"), OPEN, 10).asks.map((l) => l.marketMaker))).toEqual(new Set(["PAXOS"]));
  });

  it("changes a little between snapshots 100 ms apart", () => {
    const s = spec(market, "BTC.USD");
    let changed = 0;
    let levelsKept = 0;
    for (let i = 0; i < 100; i++) {
      const a = market.depth(s, OPEN + i * 100, 10);
      const b = market.depth(s, OPEN + (i + 1) * 100, 10);
      const ops = diffDepth(a, b);
      if (ops.length > 0) changed++;
      levelsKept += 20 - ops.length;
    }
    expect(changed).toBeGreaterThan(20);
    expect(levelsKept / 100).toBeGreaterThan(10); // most rows survive
  });
});

describe("diffDepth", () => {
  function randomSide(dir: 1 | -1): DepthLevel[] {
    const n = Math.floor(random() * 8);
    let p = 1000 + Math.floor(random() * 10) * dir;
    const out: DepthLevel[] = [];
    for (let i = 0; i < n; i++) {
      out.push({ price: (p / 100).toFixed(2), size: String(1 + Math.floor(random() * 3)), marketMaker: ["A", "B"][Math.floor(random() * 2)]! });
      p += dir * (1 + Math.floor(random() * 3));
    }
    return out;
  }
  const randomBook = (): DepthSnapshot => ({ timeMs: 0, bids: randomSide(-1), asks: randomSide(1) });

  it("yields ops that turn prev into next (random books), each position valid when applied", () => {
    for (let i = 0; i < 2000; i++) {
      const prev = randomBook();
      const next = randomBook();
      const ops = diffDepth(prev, next);
      expect(applyDepthOps(prev, ops)).toEqual(next);
      let book = prev;
      for (const o of ops) {
        expect([0, 1, 2]).toContain(o.operation);
        const rows = o.side === 1 ? book.bids : book.asks;
        if (o.operation === 0) expect(o.position).toBeLessThanOrEqual(rows.length);
        else expect(o.position).toBeLessThan(rows.length);
        book = applyDepthOps(book, [o]);
      }
    }
  });

  it("builds a book from an empty one with inserts only (a new subscription, or after 317)", () => {
    const empty: DepthSnapshot = { timeMs: 0, bids: [], asks: [] };
    for (let i = 0; i < 200; i++) {
      const next = randomBook();
      const ops = diffDepth(empty, next);
      expect(ops.every((o) => o.operation === 0)).toBe(true);
      expect(applyDepthOps(empty, ops)).toEqual(next);
    }
  });

  it("yields ops that turn prev into next (consecutive market snapshots)", () => {
    const s = spec(market, "AAPL");
    let prev = market.depth(s, OPEN, 5);
    for (let i = 1; i < 300; i++) {
      const next = market.depth(s, OPEN + i * 100, 5);
      expect(applyDepthOps(prev, diffDepth(prev, next), next.timeMs)).toEqual(next);
      prev = next;
    }
  });

  it("emits nothing for identical books and updates for size-only changes", () => {
    const book = market.depth(spec(market, "AAPL"), OPEN, 5);
    expect(diffDepth(book, book)).toEqual([]);
    const next = { ...book, bids: book.bids.map((l, i) => (i === 2 ? { ...l, size: "123456" } : l)) };
    expect(diffDepth(book, next)).toEqual([{ position: 2, operation: 1, side: 1, price: book.bids[2]!.price, size: "123456", marketMaker: book.bids[2]!.marketMaker }]);
  });
});
