/** Shared helpers for this folder's tests: independent (Decimal-based) re-aggregation of trades. */
import { Decimal } from "decimal.js";
import { createMarket } from "./market.js";
import type { Bar, InstrumentSpec, Market, Trade } from "./types.js";

/** A fixed clock so the ES contract list and hours are stable in tests. */
export const TEST_NOW = Date.UTC(2025, 5, 4, 15, 0); // Wed 2025-06-04 11:00 ET

export function testMarket(seed = 7, tradeRateScale = 1): Market {
  return createMarket({ seed, tradeRateScale, now: () => TEST_NOW });
}

export function spec(market: Market, localSymbol: string): InstrumentSpec {
  const s = market.findContracts({ localSymbol, includeExpired: true })[0];
  if (!s) throw new Error(`no ${localSymbol}`);
  return s;
}

export function decimalsOf(step: string): number {
  return (step.split(".")[1] ?? "").length;
}

/** The bar IB semantics ask for, computed from trades with plain decimal arithmetic. */
export function aggregateTrades(startSec: number, trades: readonly Trade[], minTick: string): Bar {
  const first = trades[0];
  const last = trades[trades.length - 1];
  if (!first || !last) throw new Error("no trades");
  let high = new Decimal(first.price);
  let low = new Decimal(first.price);
  let vol = new Decimal(0);
  let pv = new Decimal(0);
  for (const t of trades) {
    const p = new Decimal(t.price);
    if (p.gt(high)) high = p;
    if (p.lt(low)) low = p;
    vol = vol.add(t.size);
    pv = pv.add(p.mul(t.size));
  }
  return {
    startSec,
    open: new Decimal(first.price).toString(),
    high: high.toString(),
    low: low.toString(),
    close: new Decimal(last.price).toString(),
    volume: vol.toString(),
    wap: pv.div(vol).toDecimalPlaces(decimalsOf(minTick) + 3, Decimal.ROUND_HALF_UP).toString(),
    count: trades.length,
  };
}

/** Bar with every decimal field normalised, for equality checks independent of string form. */
export function norm(b: Bar): Bar {
  const n = (s: string): string => new Decimal(s).toString();
  return { ...b, open: n(b.open), high: n(b.high), low: n(b.low), close: n(b.close), volume: n(b.volume), wap: n(b.wap) };
}

export function isMultiple(value: string, step: string): boolean {
  return new Decimal(value).mod(step).isZero();
}

/** Deterministic PRNG for test sampling (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
