/**
 * Historical ticks (reqHistoricalTicks, OUT 96) from the market model, as IB's HMDS answers them:
 * - TRADES → every model trade (IN 98 HISTORICAL_TICKS_LAST);
 * - BID_ASK → every change of the top of book (IN 97), prices or (unless ignoreSize) sizes;
 * - MIDPOINT → every change of the midpoint (IN 96).
 * With an end time: the last `numberOfTicks` ticks at or before it; with a start time: the first ones at
 * or after it. Tick times are epoch seconds, so IB completes the second at the far end of the answer:
 * every tick of that second is returned, which may exceed numberOfTicks (IB does the same).
 *
 * Quote ticks are window-independent: the book can only change at a trade, at a minute boundary (a new
 * minute plan) or, for sizes, at a 100 ms quote bucket, and a candidate instant `t` is a tick when
 * `quote(t)` differs from `quote(t - 1 ms)`. The search runs in windows growing away from the anchor,
 * skipping closed minutes, so a quiet or closed instrument is still fast; it stops after `SEARCH_CAP_MS`.
 */
import { Decimal } from "decimal.js";
import type { InstrumentSpec, Market, Quote } from "../market/types.js";

export type HistoricalTicksWhat = "TRADES" | "BID_ASK" | "MIDPOINT";

/** IB's maximum numberOfTicks per request. */
export const MAX_HISTORICAL_TICKS = 1000;
/** How far from the anchor the search goes before it answers with what it found. */
export const SEARCH_CAP_MS = 7 * 86_400_000;

const MINUTE_MS = 60_000;
/** The model's quote sizes are redrawn every 100 ms (market.ts QUOTE_BUCKET_MS). */
const QUOTE_BUCKET_MS = 100;
const FIRST_WINDOW_MS = 2 * MINUTE_MS;
const MAX_WINDOW_MS = 86_400_000;

export interface HistoricalTick {
  timeMs: number;
  /** TRADES: trade price; MIDPOINT: the midpoint. */
  price: string;
  /** TRADES: trade size; MIDPOINT: "0" (IB sends 0). */
  size: string;
  exchange: string;
  bid: string;
  ask: string;
  bidSize: string;
  askSize: string;
}

export interface HistoricalTicksQuery {
  what: HistoricalTicksWhat;
  /** Exactly one of fromMs (inclusive) and toMs (exclusive) anchors the search. */
  fromMs?: number;
  toMs?: number;
  /** No tick at or after this instant is ever returned (the simulated "now"). */
  nowMs: number;
  numberOfTicks: number;
  useRth: boolean;
  ignoreSize: boolean;
}

export function parseHistoricalTicksWhat(s: string): HistoricalTicksWhat | undefined {
  const u = s.toUpperCase();
  return u === "TRADES" || u === "BID_ASK" || u === "MIDPOINT" ? u : undefined;
}

const mid = (q: Quote): string => new Decimal(q.bid).add(q.ask).div(2).toFixed();

/** Every tick of `what` in [fromMs, toMs), in time order (ties keep the model's order). */
export function ticksInWindow(market: Market, inst: InstrumentSpec, what: HistoricalTicksWhat, fromMs: number, toMs: number, useRth: boolean, ignoreSize: boolean): HistoricalTick[] {
  const out: HistoricalTick[] = [];
  if (toMs <= fromMs) return out;
  // Open minutes of the window (sessions open and close on minute boundaries).
  const open: [number, number][] = [];
  for (let m = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS; m < toMs; m += MINUTE_MS) {
    if (!market.isOpen(inst, m, useRth)) continue;
    const a = Math.max(m, fromMs);
    const b = Math.min(m + MINUTE_MS, toMs);
    const last = open[open.length - 1];
    if (last && last[1] === a) last[1] = b;
    else open.push([a, b]);
  }
  for (const [a, b] of open) {
    const trades = market.trades(inst, a, b);
    if (what === "TRADES") {
      for (const t of trades) {
        if (useRth && !market.isOpen(inst, t.timeMs, true)) continue;
        out.push({ timeMs: t.timeMs, price: t.price, size: t.size, exchange: t.exchange, bid: "", ask: "", bidSize: "", askSize: "" });
      }
      continue;
    }
    // Candidate instants where the book may change, deduplicated and sorted.
    const cand = new Set<number>();
    for (const t of trades) cand.add(t.timeMs);
    for (let m = Math.ceil(a / MINUTE_MS) * MINUTE_MS; m < b; m += MINUTE_MS) cand.add(m);
    if (what === "BID_ASK" && !ignoreSize) {
      for (let t = Math.ceil(a / QUOTE_BUCKET_MS) * QUOTE_BUCKET_MS; t < b; t += QUOTE_BUCKET_MS) cand.add(t);
    }
    const times = [...cand].sort((x, y) => x - y);
    for (const t of times) {
      const q = market.quote(inst, t);
      const p = market.quote(inst, t - 1);
      if (what === "BID_ASK") {
        const priceChanged = q.bid !== p.bid || q.ask !== p.ask;
        const sizeChanged = q.bidSize !== p.bidSize || q.askSize !== p.askSize;
        if (!priceChanged && (ignoreSize || !sizeChanged)) continue;
        out.push({ timeMs: t, price: "", size: "", exchange: "", bid: q.bid, ask: q.ask, bidSize: q.bidSize, askSize: q.askSize });
      } else {
        const m = mid(q);
        if (m === mid(p)) continue;
        out.push({ timeMs: t, price: m, size: "0", exchange: "", bid: "", ask: "", bidSize: "", askSize: "" });
      }
    }
  }
  return out;
}

const second = (ms: number): number => Math.floor(ms / 1000);

/**
 * Chunks of [lo, hi) walking away from the anchor (backward: from hi down; forward: from lo up), each
 * holding about `size` ms of open market (doubling from chunk to chunk), so closed hours cost one
 * `isOpen` per minute and a busy session never gets a day-long chunk at once. Chunk edges are whole minutes
 * (or lo/hi), so no second is split between two chunks.
 */
function* chunks(market: Market, inst: InstrumentSpec, lo: number, hi: number, backward: boolean, useRth: boolean): Generator<[number, number]> {
  let size = FIRST_WINDOW_MS;
  let openMs = 0;
  if (backward) {
    let edge = hi;
    for (let m = Math.floor((hi - 1) / MINUTE_MS) * MINUTE_MS; m + MINUTE_MS > lo; m -= MINUTE_MS) {
      if (market.isOpen(inst, m, useRth)) openMs += Math.min(m + MINUTE_MS, hi) - Math.max(m, lo);
      if (openMs >= size) {
        const a = Math.max(m, lo);
        yield [a, edge];
        edge = a;
        openMs = 0;
        size = Math.min(size * 2, MAX_WINDOW_MS);
      }
    }
    if (edge > lo) yield [lo, edge];
    return;
  }
  let edge = lo;
  for (let m = Math.floor(lo / MINUTE_MS) * MINUTE_MS; m < hi; m += MINUTE_MS) {
    if (market.isOpen(inst, m, useRth)) openMs += Math.min(m + MINUTE_MS, hi) - Math.max(m, lo);
    if (openMs >= size) {
      const b = Math.min(m + MINUTE_MS, hi);
      yield [edge, b];
      edge = b;
      openMs = 0;
      size = Math.min(size * 2, MAX_WINDOW_MS);
    }
  }
  if (edge < hi) yield [edge, hi];
}

/**
 * The answer to one request: ascending times, at most `SEARCH_CAP_MS` away from the anchor, never at or
 * after `nowMs`. At least numberOfTicks ticks when that many exist; more only to complete the far second.
 */
export function historicalTicks(market: Market, inst: InstrumentSpec, q: HistoricalTicksQuery): HistoricalTick[] {
  const n = q.numberOfTicks;
  const window = (a: number, b: number) => ticksInWindow(market, inst, q.what, a, b, q.useRth, q.ignoreSize);
  if (q.toMs !== undefined) {
    const toMs = Math.min(q.toMs, q.nowMs);
    let ticks: HistoricalTick[] = [];
    for (const [a, b] of chunks(market, inst, toMs - SEARCH_CAP_MS, toMs, true, q.useRth)) {
      ticks = window(a, b).concat(ticks);
      if (ticks.length >= n) break;
    }
    if (ticks.length <= n) return ticks;
    const firstSec = second(ticks[ticks.length - n]!.timeMs);
    let i = ticks.length - n;
    while (i > 0 && second(ticks[i - 1]!.timeMs) === firstSec) i--;
    return ticks.slice(i);
  }
  const fromMs = q.fromMs ?? q.nowMs;
  let ticks: HistoricalTick[] = [];
  for (const [a, b] of chunks(market, inst, fromMs, Math.min(q.nowMs, fromMs + SEARCH_CAP_MS), false, q.useRth)) {
    ticks = ticks.concat(window(a, b));
    if (ticks.length >= n) break;
  }
  if (ticks.length <= n) return ticks;
  const lastSec = second(ticks[n - 1]!.timeMs);
  let j = n;
  while (j < ticks.length && second(ticks[j]!.timeMs) === lastSec) j++;
  return ticks.slice(0, j);
}
