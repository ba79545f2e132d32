import { describe, expect, it } from "vitest";
import { dec, toWire } from "./decimal.js";
import type { BookLevel } from "./marketData.js";
import {
  type BookDelta,
  type BookSnapshot,
  DEPTH_DELETE,
  DEPTH_INSERT,
  DEPTH_UPDATE,
  type DepthOp,
  IB_SIDE_ASK,
  IB_SIDE_BID,
  OrderBook,
} from "./orderBook.js";

/** mulberry32: tiny seeded PRNG so property runs are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const op = (operation: number, side: number, position: number, price = "0", size = "0", marketMaker = ""): DepthOp => ({
  operation,
  side,
  position,
  price: dec(price),
  size: dec(size),
  marketMaker,
});
const ins = (side: number, position: number, price: string, size: string, mm = "") =>
  op(DEPTH_INSERT, side, position, price, size, mm);
const upd = (side: number, position: number, price: string, size: string, mm = "") =>
  op(DEPTH_UPDATE, side, position, price, size, mm);
const del = (side: number, position: number) => op(DEPTH_DELETE, side, position);

const wireLevels = (levels: readonly BookLevel[]) => levels.map((l) => `${toWire(l.price)}x${toWire(l.size)}@${l.marketMaker}`);
const wireDelta = (d: BookDelta) => ({
  bids: d.bids.map((l) => `${toWire(l.price)}=${toWire(l.size)}`),
  asks: d.asks.map((l) => `${toWire(l.price)}=${toWire(l.size)}`),
});

interface RefRow {
  price: string;
  size: string;
  mm: string;
}

/** Naive model: plain arrays, aggregation recomputed from scratch. */
class ReferenceBook {
  bids: RefRow[] = [];
  asks: RefRow[] = [];
  constructor(private readonly maxRows: number | undefined) {}

  apply(o: DepthOp): void {
    const rows = o.side === IB_SIDE_BID ? this.bids : this.asks;
    const row = { price: toWire(o.price), size: toWire(o.size), mm: o.marketMaker ?? "" };
    if (o.operation === DEPTH_INSERT) rows.splice(o.position, 0, row);
    else if (o.operation === DEPTH_UPDATE) rows[o.position] = row;
    else rows.splice(o.position, 1);
    if (this.maxRows !== undefined) rows.length = Math.min(rows.length, this.maxRows);
  }

  snapshot(): { bids: string[]; asks: string[] } {
    const agg = (rows: RefRow[], desc: boolean) => {
      const byPrice = new Map<string, { size: ReturnType<typeof dec>; mms: Set<string> }>();
      for (const r of rows) {
        const cur = byPrice.get(r.price) ?? { size: dec(0), mms: new Set<string>() };
        cur.size = cur.size.plus(dec(r.size));
        cur.mms.add(r.mm);
        byPrice.set(r.price, cur);
      }
      return [...byPrice.entries()]
        .filter(([, v]) => !v.size.isZero())
        .sort(([a], [b]) => (desc ? dec(b).comparedTo(dec(a)) : dec(a).comparedTo(dec(b))))
        .map(([p, v]) => `${p}x${toWire(v.size)}@${v.mms.size === 1 ? [...v.mms][0] : ""}`);
    };
    return { bids: agg(this.bids, true), asks: agg(this.asks, false) };
  }
}

function randomValidOp(rand: () => number, ref: ReferenceBook, maxRows: number | undefined): DepthOp {
  const side = rand() < 0.5 ? IB_SIDE_BID : IB_SIDE_ASK;
  const len = (side === IB_SIDE_BID ? ref.bids : ref.asks).length;
  const pick = (n: number) => Math.floor(rand() * n);
  // Small price grid and few makers so rows often share a price; size 0 rows happen too.
  const price = toWire(dec(100).plus(dec(pick(8)).div(100)));
  const size = String(pick(6));
  const mm = ["", "NSDQ", "ARCA", "BATS"][pick(4)] ?? "";
  const r = rand();
  if (len === 0 || r < 0.45) {
    const limit = maxRows === undefined ? len + 1 : Math.min(len + 1, maxRows);
    return ins(side, pick(limit), price, size, mm);
  }
  if (r < 0.75) return upd(side, pick(len), price, size, mm);
  return del(side, pick(len));
}

function deltaMapEquals(map: Map<string, string>, snap: BookSnapshot, sideKey: "bids" | "asks"): void {
  const expected = new Map(snap[sideKey].map((l) => [toWire(l.price), toWire(l.size)]));
  expect(new Map([...map].sort())).toEqual(new Map([...expected].sort()));
}

describe("OrderBook: IB position-based operations", () => {
  it("inserts shift rows down and deletes shift them up", () => {
    const book = new OrderBook();
    book.apply(ins(IB_SIDE_BID, 0, "10.00", "5"));
    book.apply(ins(IB_SIDE_BID, 0, "10.01", "3"));
    book.apply(ins(IB_SIDE_BID, 2, "9.99", "7"));
    expect(wireLevels(book.rows("bid"))).toEqual(["10.01x3@", "10x5@", "9.99x7@"]);
    book.apply(del(IB_SIDE_BID, 1));
    expect(wireLevels(book.rows("bid"))).toEqual(["10.01x3@", "9.99x7@"]);
    book.apply(upd(IB_SIDE_BID, 1, "9.98", "2"));
    expect(wireLevels(book.rows("bid"))).toEqual(["10.01x3@", "9.98x2@"]);
  });

  it("maps side 0 to asks and side 1 to bids", () => {
    const book = new OrderBook();
    book.apply(ins(IB_SIDE_ASK, 0, "10.02", "4"));
    book.apply(ins(IB_SIDE_BID, 0, "10.00", "6"));
    expect(wireLevels(book.snapshot().asks)).toEqual(["10.02x4@"]);
    expect(wireLevels(book.snapshot().bids)).toEqual(["10x6@"]);
  });

  it("aggregates SMART rows sharing a price and reports aggregate deltas", () => {
    const book = new OrderBook();
    expect(wireDelta(book.apply(ins(IB_SIDE_ASK, 0, "10.02", "4", "ARCA")))).toEqual({ bids: [], asks: ["10.02=4"] });
    expect(wireDelta(book.apply(ins(IB_SIDE_ASK, 1, "10.02", "6", "NSDQ")))).toEqual({ bids: [], asks: ["10.02=10"] });
    expect(wireDelta(book.apply(ins(IB_SIDE_ASK, 2, "10.03", "1", "NSDQ")))).toEqual({ bids: [], asks: ["10.03=1"] });
    // Update moving a row to another price changes two levels.
    expect(wireDelta(book.apply(upd(IB_SIDE_ASK, 0, "10.03", "4", "ARCA")))).toEqual({
      bids: [],
      asks: ["10.02=6", "10.03=5"],
    });
    expect(wireLevels(book.snapshot().asks)).toEqual(["10.02x6@NSDQ", "10.03x5@"]);
    expect(wireDelta(book.apply(del(IB_SIDE_ASK, 1)))).toEqual({ bids: [], asks: ["10.02=0"] });
  });

  it("emits no delta when an update leaves the aggregate unchanged", () => {
    const book = new OrderBook();
    book.apply(ins(IB_SIDE_BID, 0, "10", "5", "ARCA"));
    expect(wireDelta(book.apply(upd(IB_SIDE_BID, 0, "10", "5", "NSDQ")))).toEqual({ bids: [], asks: [] });
    expect(wireLevels(book.snapshot().bids)).toEqual(["10x5@NSDQ"]);
  });

  it("sorts snapshot levels best first and honours depth", () => {
    const book = new OrderBook();
    book.apply(ins(IB_SIDE_BID, 0, "9.98", "1"));
    book.apply(ins(IB_SIDE_BID, 0, "10.00", "1"));
    book.apply(ins(IB_SIDE_BID, 1, "9.99", "1"));
    book.apply(ins(IB_SIDE_ASK, 0, "10.03", "1"));
    book.apply(ins(IB_SIDE_ASK, 0, "10.01", "1"));
    const snap = book.snapshot(2);
    expect(snap.bids.map((l) => toWire(l.price))).toEqual(["10", "9.99"]);
    expect(snap.asks.map((l) => toWire(l.price))).toEqual(["10.01", "10.03"]);
    expect(book.snapshot(0)).toEqual({ bids: [], asks: [] });
  });

  it("keeps a transiently crossed book as sent", () => {
    const book = new OrderBook();
    book.apply(ins(IB_SIDE_BID, 0, "10.05", "1"));
    const d = book.apply(ins(IB_SIDE_ASK, 0, "10.00", "1"));
    expect(d.consistent).toBe(true);
    const snap = book.snapshot();
    expect(snap.bids[0]!.price.gte(snap.asks[0]!.price)).toBe(true);
  });

  it("drops rows pushed past maxRows and emits their removal", () => {
    const book = new OrderBook({ maxRows: 2 });
    book.apply(ins(IB_SIDE_ASK, 0, "10.02", "1"));
    book.apply(ins(IB_SIDE_ASK, 1, "10.03", "1"));
    const d = book.apply(ins(IB_SIDE_ASK, 0, "10.01", "1"));
    expect(wireDelta(d)).toEqual({ bids: [], asks: ["10.01=1", "10.03=0"] });
    expect(wireLevels(book.rows("ask"))).toEqual(["10.01x1@", "10.02x1@"]);
    expect(d.consistent).toBe(true);
  });
});

describe("OrderBook: consistency", () => {
  it("is not consistent until the first op, and again after clear()", () => {
    const book = new OrderBook();
    expect(book.consistent).toBe(false);
    book.apply(ins(IB_SIDE_BID, 0, "10", "1"));
    expect(book.consistent).toBe(true);
    book.clear();
    expect(book.consistent).toBe(false);
    book.apply(ins(IB_SIDE_ASK, 0, "11", "1"));
    expect(book.consistent).toBe(true);
  });

  it("clear() empties both sides and emits removal of every level", () => {
    const book = new OrderBook();
    book.apply(ins(IB_SIDE_BID, 0, "10", "1"));
    book.apply(ins(IB_SIDE_BID, 1, "9", "0"));
    book.apply(ins(IB_SIDE_ASK, 0, "11", "2"));
    const d = book.clear();
    expect(wireDelta(d)).toEqual({ bids: ["10=0"], asks: ["11=0"] });
    expect(book.snapshot()).toEqual({ bids: [], asks: [] });
    expect(book.rows("bid")).toEqual([]);
  });

  it("ignores a delete past the end (IB sends them for rows an insert pushed beyond numRows)", () => {
    const book = new OrderBook({ maxRows: 1 });
    book.apply(ins(IB_SIDE_ASK, 0, "11", "1"));
    const pushed = book.apply(ins(IB_SIDE_ASK, 0, "10.5", "2"));
    expect(wireDelta(pushed)).toEqual({ bids: [], asks: ["10.5=2", "11=0"] });
    const d = book.apply(del(IB_SIDE_ASK, 1));
    expect(d).toMatchObject({ bids: [], asks: [], consistent: true });
    expect(d.error).toBeUndefined();
    expect(book.consistent).toBe(true);
  });

  it.each([
    ["update of a missing row", upd(IB_SIDE_BID, 1, "10", "1")],
    ["insert beyond the end", ins(IB_SIDE_BID, 2, "10", "1")],
    ["negative position", ins(IB_SIDE_BID, -1, "10", "1")],
    ["fractional position", ins(IB_SIDE_BID, 0.5, "10", "1")],
    ["unknown operation", op(3, IB_SIDE_BID, 0, "10", "1")],
    ["unknown side", op(DEPTH_INSERT, 2, 0, "10", "1")],
    ["negative size", ins(IB_SIDE_BID, 0, "10", "-1")],
    ["insert without price", { operation: DEPTH_INSERT, side: IB_SIDE_BID, position: 0, size: dec(1) }],
  ])("marks the book inconsistent without throwing on %s", (_name, bad) => {
    const book = new OrderBook();
    book.apply(ins(IB_SIDE_BID, 0, "10", "1"));
    const before = book.snapshot();
    const d = book.apply(bad);
    expect(d.consistent).toBe(false);
    expect(d.error).toEqual(expect.any(String));
    expect(d.bids).toEqual([]);
    expect(d.asks).toEqual([]);
    expect(book.consistent).toBe(false);
    expect(book.inconsistency).toBe(d.error);
    expect(book.snapshot()).toEqual(before);
    // Later valid ops do not make it consistent again: only clear() + fresh data does.
    expect(book.apply(ins(IB_SIDE_BID, 0, "10.5", "1")).consistent).toBe(false);
    book.clear();
    expect(book.inconsistency).toBeUndefined();
    expect(book.apply(ins(IB_SIDE_BID, 0, "10", "1")).consistent).toBe(true);
  });

  it("rejects an insert at or past maxRows", () => {
    const book = new OrderBook({ maxRows: 1 });
    book.apply(ins(IB_SIDE_BID, 0, "10", "1"));
    expect(book.apply(ins(IB_SIDE_BID, 1, "9", "1")).consistent).toBe(false);
  });
});

describe("OrderBook: properties over random valid op sequences", () => {
  for (const maxRows of [undefined, 5]) {
    it(`matches a naive model and its deltas replay to the snapshot (maxRows ${maxRows ?? "none"})`, () => {
      for (let seed = 1; seed <= 25; seed++) {
        const rand = prng(seed * 7919 + (maxRows ?? 0));
        const book = new OrderBook(maxRows === undefined ? {} : { maxRows });
        const ref = new ReferenceBook(maxRows);
        const bids = new Map<string, string>();
        const asks = new Map<string, string>();
        for (let i = 0; i < 200; i++) {
          const o = randomValidOp(rand, ref, maxRows);
          const d = book.apply(o);
          ref.apply(o);
          expect(d.consistent).toBe(true);
          for (const [map, levels] of [
            [bids, d.bids],
            [asks, d.asks],
          ] as const) {
            for (const l of levels) {
              if (l.size.isZero()) map.delete(toWire(l.price));
              else map.set(toWire(l.price), toWire(l.size));
            }
          }
          const snap = book.snapshot();
          const expected = ref.snapshot();
          expect({ bids: wireLevels(snap.bids), asks: wireLevels(snap.asks) }).toEqual(expected);
          expect(book.rows("bid").map((r) => `${toWire(r.price)}x${toWire(r.size)}@${r.marketMaker}`)).toEqual(
            ref.bids.map((r) => `${r.price}x${r.size}@${r.mm}`),
          );
          deltaMapEquals(bids, snap, "bids");
          deltaMapEquals(asks, snap, "asks");
          if (rand() < 0.01) {
            // Occasional depth reset: the clear() deltas must also replay.
            const c = book.clear();
            ref.bids = [];
            ref.asks = [];
            for (const l of c.bids) bids.delete(toWire(l.price));
            for (const l of c.asks) asks.delete(toWire(l.price));
            expect(bids.size + asks.size).toBe(0);
          }
        }
      }
    });
  }
});
