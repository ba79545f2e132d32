/**
 * The 1-minute atom. For a trading minute m:
 *   open  = level(start of m) in ticks, close = level(start of m+1) — so close(m) = open(m+1);
 *   n = 2 + 2·pairs trades: one print at the open, `pairs` pairs of prints, one print at the close.
 * The pairs walk a staircase open → extreme₁ → extreme₂ → close (extremes = high/low in hashed order),
 * each pair being two prints at one price whose sizes add up to a per-minute constant. Pair prices are
 * then zig-zagged by ±δ applied to two neighbouring pairs at once. Because of those two symmetries the
 * minute's Σ size and Σ price·size have closed forms: `minuteAgg` is O(1) and yet equals, exactly, the
 * aggregate of what `minuteTrades` materialises (property-tested in bars.test.ts).
 */
import { fold as fold_, hash3 as hash3_, nth as nth_, unit as unit_ } from "./hash.js";
// Local bindings: hot loops then call these directly, not through a transpiler's export getters.
const fold = fold_;
const hash3 = hash3_;
const nth = nth_;
const unit = unit_;
import type { InstrumentModel } from "./instruments.js";
import { detExp, NoiseField } from "./noise.js";
import { MINUTE_MS } from "./tz.js";

const YEAR_MS = 365.25 * 86_400_000;
const SALT_MINUTE = 0x6d696e; // "min"
const MAX_PAIRS = 15_000;

export interface MarketContext {
  readonly seed: number;
  readonly rateScale: number;
}

/** Price level (float) at an instant: base · exp(noise); futures carry a cost-of-carry basis. */
export class LevelField {
  private readonly noise: NoiseField;

  constructor(
    ctx: MarketContext,
    private readonly model: InstrumentModel,
  ) {
    this.noise = new NoiseField(ctx.seed, model.priceKey, model.volScale);
  }

  levelAt(tSec: number): number {
    const m = this.model;
    let level = m.base * detExp(this.noise.logAt(tSec));
    if (m.expiryMs !== undefined) level *= 1 + (m.carry * Math.max(0, m.expiryMs - tSec * 1000)) / YEAR_MS;
    return level;
  }

  /** Open of a minute in integer ticks (also the close of the previous minute). */
  openTicks(minute: number): number {
    return Math.max(1, Math.round(this.levelAt(minute * 60) / this.model.tickSize));
  }
}

export function minuteOpenTicks(ctx: MarketContext, model: InstrumentModel, minute: number): number {
  return new LevelField(ctx, model).openTicks(minute);
}

/** Everything that shapes one minute, derived from (seed, conId, minute) and open/close. */
export interface MinutePlan {
  minute: number;
  hash: number;
  o: number;
  c: number;
  h: number;
  l: number;
  pairs: number;
  /** Waypoints of the pair staircase and pairs per leg (legs with k = 0 are unused). */
  e1: number;
  e2: number;
  k1: number;
  k2: number;
  k3: number;
  sizeFirst: number;
  sizeLast: number;
  pairTotal: number;
  jitter: number;
  /** Quote offsets in ticks: bid = last − bidOff, ask = last + askOff (spread ≥ 1 tick). */
  bidOff: number;
  askOff: number;
}

export function newPlan(): MinutePlan {
  return { minute: 0, hash: 0, o: 0, c: 0, h: 0, l: 0, pairs: 0, e1: 0, e2: 0, k1: 0, k2: 0, k3: 0, sizeFirst: 0, sizeLast: 0, pairTotal: 0, jitter: 0, bidOff: 0, askOff: 1 };
}

/** A trade size in sizeIncrement units, skewed towards small prints. */
function lot(model: InstrumentModel, u: number): number {
  return model.unitsMin + Math.floor(u * u * (model.unitsMax - model.unitsMin + 1));
}

let memoSeed = Number.NaN;
let memoConId = Number.NaN;
let memoPrefix = 0;

/** Fills `p` (reused to avoid allocation in year-long loops). `rth` picks the trade rate. */
export function planMinute(ctx: MarketContext, model: InstrumentModel, minute: number, o: number, c: number, rth: boolean, p: MinutePlan): MinutePlan {
  if (memoSeed !== ctx.seed || memoConId !== model.conId) {
    memoSeed = ctx.seed;
    memoConId = model.conId;
    memoPrefix = hash3(ctx.seed, model.conId, SALT_MINUTE);
  }
  // = hash4(seed, conId, SALT_MINUTE, minute), with the constant prefix folded once.
  const h = fold(memoPrefix, minute);
  p.minute = minute;
  p.hash = h;
  p.o = o;
  p.c = c;
  const rate = (rth ? model.rateRth : model.rateExt) * ctx.rateScale;
  const target = rate * 60 * (0.5 + unit(nth(h, 0)));
  const pairs = Math.min(MAX_PAIRS, Math.max(0, Math.round((target - 2) / 2)));
  p.pairs = pairs;
  const hi = Math.max(o, c);
  const lo = Math.min(o, c);
  if (pairs >= 3) {
    // Intra-minute excursion beyond open/close, scaled to the instrument's 1-minute volatility.
    const e = Math.floor(o * model.vol1m);
    const uUp = unit(nth(h, 1));
    const uDn = unit(nth(h, 2));
    p.h = hi + Math.floor(uUp * uUp * (e + 1));
    p.l = Math.max(1, lo - Math.floor(uDn * uDn * (e + 1)));
    const highFirst = (nth(h, 3) & 1) === 1;
    p.e1 = highFirst ? p.h : p.l;
    p.e2 = highFirst ? p.l : p.h;
    p.k1 = 1 + Math.floor(unit(nth(h, 4)) * (pairs - 2));
    const rest = pairs - p.k1;
    p.k2 = 1 + Math.floor(unit(nth(h, 5)) * (rest - 1));
    p.k3 = pairs - p.k1 - p.k2;
    p.jitter = Math.max(1, Math.floor(e / 3));
  } else {
    p.h = hi;
    p.l = lo;
    p.e1 = c;
    p.e2 = c;
    p.k1 = pairs;
    p.k2 = 0;
    p.k3 = 0;
    p.jitter = 0;
  }
  p.sizeFirst = lot(model, unit(nth(h, 6)));
  p.sizeLast = lot(model, unit(nth(h, 7)));
  p.pairTotal = Math.max(2, 2 * lot(model, unit(nth(h, 8))));
  const spread = 1 + Math.floor(unit(nth(h, 9)) * model.maxSpread);
  p.bidOff = Math.floor(unit(nth(h, 10)) * (spread + 1));
  p.askOff = spread - p.bidOff;
  return p;
}

/** Σ of the k staircase values going from a (exclusive) to b (inclusive): v_j = a ± (j·q + min(j, r)). */
export function stairSum(a: number, b: number, k: number): number {
  if (k <= 0) return 0;
  const d = Math.abs(b - a);
  const q = Math.floor(d / k);
  const r = d - q * k;
  const sgn = b >= a ? 1 : -1;
  return k * a + sgn * ((q * k * (k + 1)) / 2 + (r * (r + 1)) / 2 + (k - r) * r);
}

function stairValue(a: number, b: number, k: number, j: number): number {
  const d = Math.abs(b - a);
  const q = Math.floor(d / k);
  const r = d - q * k;
  return a + (b >= a ? 1 : -1) * (j * q + Math.min(j, r));
}

/** O(1) aggregate of a planned minute (ticks × units sums are < 2^53 per minute). */
export interface MinuteAgg {
  o: number;
  h: number;
  l: number;
  c: number;
  count: number;
  volume: number;
  pv: number;
}

export function aggregatePlan(p: MinutePlan, out: MinuteAgg): MinuteAgg {
  const pairSum = stairSum(p.o, p.e1, p.k1) + stairSum(p.e1, p.e2, p.k2) + stairSum(p.e2, p.c, p.k3);
  out.o = p.o;
  out.h = p.h;
  out.l = p.l;
  out.c = p.c;
  out.count = 2 + 2 * p.pairs;
  out.volume = p.sizeFirst + p.sizeLast + p.pairs * p.pairTotal;
  out.pv = p.o * p.sizeFirst + p.c * p.sizeLast + p.pairTotal * pairSum;
  return out;
}

/** A materialised trade in integer units. */
export interface RawTrade {
  timeMs: number;
  ticks: number;
  units: number;
  exchange: number;
}

/** The prices of the pairs, staircase legs with the sum-preserving zig-zag applied. */
function pairPrices(p: MinutePlan): number[] {
  const out: number[] = [];
  const legs: Array<[number, number, number]> = [
    [p.o, p.e1, p.k1],
    [p.e1, p.e2, p.k2],
    [p.e2, p.c, p.k3],
  ];
  let leg = 0;
  for (const [a, b, k] of legs) {
    if (k <= 0) continue;
    const start = out.length;
    for (let j = 1; j <= k; j++) out.push(stairValue(a, b, k, j));
    // Zig-zag neighbouring pairs (never the leg's last pair, which pins an extreme or the close):
    // +δ on one, −δ on the other keeps Σ unchanged; δ is clamped so both stay within [low, high].
    for (let j = 0; j + 1 < k - 1; j += 2) {
      const i = start + j;
      const v1 = out[i] as number;
      const v2 = out[i + 1] as number;
      const raw = Math.floor(unit(nth(p.hash, 1000 + leg * 100_000 + j)) * (2 * p.jitter + 1)) - p.jitter;
      const lo = Math.max(p.l - v1, v2 - p.h);
      const hi = Math.min(p.h - v1, v2 - p.l);
      const d = Math.min(hi, Math.max(lo, raw));
      out[i] = v1 + d;
      out[i + 1] = v2 - d;
    }
    leg++;
  }
  return out;
}

/** The trades of a planned minute, in time order. */
export function materialise(p: MinutePlan, exchanges: number): RawTrade[] {
  const prices = pairPrices(p);
  const n = 2 + 2 * p.pairs;
  const start = p.minute * MINUTE_MS;
  const step = MINUTE_MS / n;
  const trades: RawTrade[] = new Array<RawTrade>(n);
  const at = (i: number, ticks: number, units: number): void => {
    const hi = nth(p.hash, 500_000 + i);
    trades[i] = { timeMs: start + Math.floor((i + unit(hi)) * step), ticks, units, exchange: (hi >>> 7) % exchanges };
  };
  at(0, p.o, p.sizeFirst);
  for (let j = 0; j < p.pairs; j++) {
    const first = 1 + Math.floor(unit(nth(p.hash, 2_000_000 + j)) * (p.pairTotal - 1));
    const price = prices[j] as number;
    at(1 + 2 * j, price, first);
    at(2 + 2 * j, price, p.pairTotal - first);
  }
  at(n - 1, p.c, p.sizeLast);
  return trades;
}
