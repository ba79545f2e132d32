/**
 * Issue 12, finding 1: a depth client holding a fixed-length book of numRows (ib_insync-style
 * `dom[position]`) must never be addressed outside [0, numRows), and the book it builds must equal the
 * simulator's own top-N after every pump turn.
 */
import { EventName, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import type { DepthLevel } from "./market/types.js";
import { AAPL, afterPumpTurns, BTC, SESSION_TIME_MS, useFixture } from "./testing/harness.js";

const fx = useFixture();
const ROWS = 5;

interface Op {
  position: number;
  operation: number;
  side: number;
  price: number;
  size: number;
}

/** A fixed-length book: insert shifts down and drops the last row, delete shifts up and empties it. */
function applyFixed(rows: (DepthLevel | undefined)[], o: Op): void {
  const level: DepthLevel = { price: String(o.price), size: String(o.size), marketMaker: "" };
  if (o.operation === 0) {
    rows.splice(o.position, 0, level);
    rows.length = ROWS;
  } else if (o.operation === 1) rows[o.position] = level;
  else {
    rows.splice(o.position, 1);
    rows.push(undefined);
  }
}

describe("market depth stays inside the requested rows", () => {
  it.each([
    ["AAPL, single exchange", AAPL, false],
    ["BTC, SMART depth", BTC, true],
  ])("%s: every operation addresses [0, numRows) and the client's book equals the model's top-N", async (_name, contract, smart) => {
    let now = SESSION_TIME_MS;
    const sim = await fx.start({ now: () => now, seed: 3 });
    const c = await fx.client();
    const books = { 0: new Array<DepthLevel | undefined>(ROWS).fill(undefined), 1: new Array<DepthLevel | undefined>(ROWS).fill(undefined) };
    const bad: Op[] = [];
    const onOp = (o: Op) => {
      if (o.position < 0 || o.position >= ROWS) bad.push(o);
      else applyFixed(books[o.side as 0 | 1], o);
    };
    c.ib.on(EventName.updateMktDepth, (_id: number, position: number, operation: number, side: number, price: number, size: number) =>
      onOp({ position, operation, side, price, size }),
    );
    c.ib.on(EventName.updateMktDepthL2, (_id: number, position: number, _mm: string, operation: number, side: number, price: number, size: number) =>
      onOp({ position, operation, side, price, size }),
    );
    c.ib.reqMktDepth(7, { ...contract } as Contract, ROWS, smart);
    const inst = sim.market.findContracts({ symbol: contract.symbol, secType: contract.secType })[0]!;
    const shown = (rows: (DepthLevel | undefined)[]) => rows.map((l) => (l ? `${Number(l.price)}x${Number(l.size)}` : "-"));
    const model = (levels: DepthLevel[]) => levels.map((l) => `${Number(l.price)}x${Number(l.size)}`);
    // 40 steps of 700 ms: levels appear, vanish and the ladder shifts with the quote.
    for (let step = 0; step < 40; step++) {
      now += 700;
      await afterPumpTurns(sim, c, 2);
      const book = sim.market.depth(inst, now, ROWS);
      expect(bad).toEqual([]);
      expect(shown(books[1])).toEqual(model(book.bids));
      expect(shown(books[0])).toEqual(model(book.asks));
    }
  });
});
