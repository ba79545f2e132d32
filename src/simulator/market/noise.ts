/**
 * Multi-scale smooth value noise: the price level at any instant is base · exp(Σ aᵢ · noiseᵢ(t)).
 * Each octave is a hash-valued lattice with knots every `scale` seconds and smoothstep interpolation,
 * so a level costs O(octaves) hashes and needs no history (no cumulative random walk).
 */
import { fold as fold_, unit as unit_ } from "./hash.js";
// Local bindings: hot loops then call these directly, not through a transpiler's export getters.
const fold = fold_;
const unit = unit_;

export interface Octave {
  readonly scaleSec: number;
  /** Amplitude in log-price units (0.01 ≈ ±1 %). */
  readonly amplitude: number;
}

/** Long trends (a year, a quarter), swings (week, day), intraday moves (hour, 5 min, 1 min). */
export const OCTAVES: readonly Octave[] = [
  { scaleSec: 365 * 86400, amplitude: 0.18 },
  { scaleSec: 61 * 86400, amplitude: 0.1 },
  { scaleSec: 7 * 86400, amplitude: 0.04 },
  { scaleSec: 86400, amplitude: 0.012 },
  { scaleSec: 3600, amplitude: 0.004 },
  { scaleSec: 300, amplitude: 0.0015 },
  { scaleSec: 60, amplitude: 0.0005 },
];

/** Lattice value in [−1, 1) of knot k, from the octave's prefix hash. */
function knotValue(prefix: number, k: number): number {
  return unit(fold(prefix, k)) * 2 - 1;
}

/**
 * Σ amplitude · noise for one (seed, key). Remembers each octave's last knot pair: scanning minutes in
 * order then costs ~1 new hash per minute instead of 2 per octave. The cache never changes a value.
 */
export class NoiseField {
  private readonly prefix: number[];
  private readonly lastK: number[];
  private readonly v0: number[];
  private readonly v1: number[];

  constructor(
    seed: number,
    key: number,
    private readonly volScale: number,
  ) {
    this.prefix = OCTAVES.map((_, i) => fold(fold(fold(0x2545f491, seed), key), i));
    this.lastK = OCTAVES.map(() => Number.NaN);
    this.v0 = OCTAVES.map(() => 0);
    this.v1 = OCTAVES.map(() => 0);
  }

  /** Log-price offset at tSec (integer seconds). */
  logAt(tSec: number): number {
    let sum = 0;
    for (let i = 0; i < OCTAVES.length; i++) {
      const o = OCTAVES[i] as Octave;
      const k = Math.floor(tSec / o.scaleSec);
      const prefix = this.prefix[i] as number;
      if (k !== this.lastK[i]) {
        this.v0[i] = k === (this.lastK[i] as number) + 1 ? (this.v1[i] as number) : knotValue(prefix, k);
        this.v1[i] = knotValue(prefix, k + 1);
        this.lastK[i] = k;
      }
      const v0 = this.v0[i] as number;
      const f = (tSec - k * o.scaleSec) / o.scaleSec;
      sum += o.amplitude * (f === 0 ? v0 : v0 + ((this.v1[i] as number) - v0) * f * f * (3 - 2 * f));
    }
    return sum * this.volScale;
  }
}

/** Stateless form of NoiseField.logAt. */
export function logNoise(seed: number, key: number, tSec: number, volScale: number): number {
  return new NoiseField(seed, key, volScale).logAt(tSec);
}

/**
 * exp(x) by a fixed Taylor polynomial (|x| ≤ ~1.5): only + and ×, which IEEE-754 makes bit-identical
 * everywhere, unlike Math.exp whose last bit may differ between engines.
 */
export function detExp(x: number): number {
  // exp(x) = exp(x/4)^4 keeps the series argument small.
  const y = x / 4;
  let term = 1;
  let sum = 1;
  for (let n = 1; n <= 12; n++) {
    term = (term * y) / n;
    sum += term;
  }
  const s2 = sum * sum;
  return s2 * s2;
}
