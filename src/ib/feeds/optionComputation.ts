import { decimalFromIb, type Decimal } from "../../domain/decimal.js";
import type { OptionComputation, OptionComputationKind } from "../../domain/marketData.js";

/** tickOptionComputation's tick types (TWS API TickType 10–13) and their delayed twins (80–83). */
const KIND_BY_TICK: Readonly<Record<number, OptionComputationKind>> = { 10: "bid", 11: "ask", 12: "last", 13: "model", 80: "bid", 81: "ask", 82: "last", 83: "model" };
const ORDER: Readonly<Record<OptionComputationKind, number>> = { bid: 0, ask: 1, last: 2, model: 3 };

/**
 * IB's "not computed yet" sentinels: -1 for prices and implied volatility, -2 for the greeks (a delta of -1
 * is a real deep put). Double.MAX (and undefined, as @stoqey/ib sends what it already recognised) are left to
 * decimalFromIb, which gives undefined for them.
 */
function price(n: number | undefined): Decimal | undefined {
  return n === -1 ? undefined : decimalFromIb(n);
}
function greek(n: number | undefined): Decimal | undefined {
  return n === -2 ? undefined : decimalFromIb(n);
}

/**
 * One tickOptionComputation message as a computation (undefined for a tick type that is none of the eight).
 * The arguments are @stoqey/ib's, in its order. A fixed-shape literal: a field not computed is undefined.
 */
export function optionComputationOf(
  tickType: number,
  tickAttrib: number | undefined,
  impliedVolatility: number | undefined,
  delta: number | undefined,
  optionPrice: number | undefined,
  pvDividend: number | undefined,
  gamma: number | undefined,
  vega: number | undefined,
  theta: number | undefined,
  underlyingPrice: number | undefined,
): OptionComputation | undefined {
  const kind = KIND_BY_TICK[tickType];
  if (kind === undefined) return undefined;
  return {
    kind,
    // tickAttrib 1: implied volatility computed from the option's price; 0 (or absent, older servers): from returns.
    priceBased: tickAttrib === 1,
    impliedVolatility: price(impliedVolatility),
    delta: greek(delta),
    gamma: greek(gamma),
    vega: greek(vega),
    theta: greek(theta),
    optionPrice: price(optionPrice),
    underlyingPrice: price(underlyingPrice),
    pvDividend: price(pvDividend),
  };
}

/** The latest computation of each kind, ordered bid, ask, last, model: a new array (events are immutable). */
export function withComputation(current: readonly OptionComputation[] | undefined, next: OptionComputation): OptionComputation[] {
  const out: OptionComputation[] = [];
  let placed = false;
  for (const c of current ?? []) {
    if (c.kind === next.kind) continue;
    if (!placed && ORDER[c.kind] > ORDER[next.kind]) {
      out.push(next);
      placed = true;
    }
    out.push(c);
  }
  if (!placed) out.push(next);
  return out;
}
