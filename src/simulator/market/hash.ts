/**
 * Fast, deterministic integer hashing. Every random-looking quantity of the market is
 * `hash(seed, instrument, salt, index…)`, so any instant can be evaluated in O(1) without state.
 * Only 32-bit integer ops (Math.imul, shifts) are used: results are identical on every platform.
 */

/** murmur3 / splitmix-style 32-bit finalizer: good avalanche, a handful of ops. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Folds one integer (up to ±2^53; the high word is folded in too) into a running hash. */
export function fold(h: number, x: number): number {
  const lo = x >>> 0;
  const hi = Math.floor(x / 4294967296) | 0;
  h = mix32((h ^ Math.imul(lo, 0xcc9e2d51)) + 0x9e3779b9);
  if (hi !== 0) h = mix32((h ^ Math.imul(hi, 0x1b873593)) + 0x7f4a7c15);
  return h;
}

export function hash2(a: number, b: number): number {
  return fold(fold(0x2545f491, a), b);
}

export function hash3(a: number, b: number, c: number): number {
  return fold(fold(fold(0x2545f491, a), b), c);
}

export function hash4(a: number, b: number, c: number, d: number): number {
  return fold(fold(fold(fold(0x2545f491, a), b), c), d);
}

export function hash5(a: number, b: number, c: number, d: number, e: number): number {
  return fold(fold(fold(fold(fold(0x2545f491, a), b), c), d), e);
}

/** Uniform in [0, 1) from a 32-bit hash. */
export function unit(h: number): number {
  return h / 4294967296;
}

/** The k-th derived hash of a base hash: cheap independent-looking streams from one seed hash. */
export function nth(h: number, k: number): number {
  return mix32((h + Math.imul(k + 1, 0x9e3779b9)) >>> 0);
}
