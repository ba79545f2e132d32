/**
 * Decimal helpers. Prices and sizes never travel as binary floating point inside the domain:
 * IB numbers are converted once, from their shortest round-trip text, and leave as plain decimal strings.
 */
import { Decimal } from "decimal.js";

export type { Decimal };

/**
 * Dedicated constructor: 40 significant digits, banker's rounding, never exponent notation in toString().
 * A clone so that other code (and other libraries) mutating the global Decimal config cannot affect us.
 */
export const Dec: Decimal.Constructor = Decimal.clone({
  precision: 40,
  rounding: Decimal.ROUND_HALF_EVEN,
  toExpNeg: -9e15,
  toExpPos: 9e15,
});

export const ZERO: Decimal = new Dec(0);

/** Decimal from exact text or a literal number (tests, constants); IB input goes through decimalFromIb. */
export function dec(value: string | number | Decimal): Decimal {
  return new Dec(typeof value === "number" ? String(value) : value);
}

// IB "no value" markers: Double.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE (as text and as the nearest double 2^63).
const UNSET_NUMBERS: readonly number[] = [Number.MAX_VALUE, 2147483647, 9223372036854775807];
const UNSET_TEXT: readonly Decimal[] = [
  new Dec("1.7976931348623157e308"),
  new Dec("2147483647"),
  new Dec("9223372036854775807"),
  new Dec("9223372036854775808"),
  // IB's UNSET_DECIMAL in the newer clients (2^127 - 1).
  new Dec("170141183460469231731687303715884105727"),
];

/**
 * Market data repeats the same few prices and sizes thousands of times a second; Decimals are immutable,
 * so one instance per recent number is shared instead of parsing the same text again (and its wire text
 * is then computed once too, see toWire). Bounded: cleared when full.
 */
const interned = new Map<number, Decimal>();
const MAX_INTERNED = 8_192;
const wireText = new WeakMap<Decimal, string>();

/**
 * Convert an IB price/size to Decimal without rounding: numbers go through String(n), the shortest text that
 * round-trips to the same double (so 0.1 stays 0.1, not 0.1000000000000000055...; 1e-7 parses as 0.0000001).
 * undefined, "", NaN, ±Infinity, unparseable text and IB's "unset" sentinels give undefined.
 */
export function decimalFromIb(n: number | string | undefined): Decimal | undefined {
  if (n === undefined) return undefined;
  if (typeof n === "number") {
    const known = interned.get(n);
    if (known !== undefined) return known;
    if (!Number.isFinite(n) || UNSET_NUMBERS.includes(n)) return undefined;
    const d = new Dec(String(n));
    if (interned.size >= MAX_INTERNED) interned.clear();
    interned.set(n, d);
    return d;
  }
  const text = n.trim();
  if (text === "") return undefined;
  let d: Decimal;
  try {
    d = new Dec(text);
  } catch {
    return undefined;
  }
  if (!d.isFinite() || UNSET_TEXT.some((s) => s.eq(d))) return undefined;
  return d;
}

/**
 * Canonical wire form: plain notation (never an exponent), no trailing fractional zeros, no trailing ".",
 * "-" only for negative non-zero values (-0 → "0"), integers without a fraction ("100").
 * undefined and non-finite values → "" (the proto's "unset").
 */
export function toWire(d: Decimal | undefined): string {
  if (d === undefined) return "";
  const known = wireText.get(d);
  if (known !== undefined) return known;
  if (!d.isFinite()) return "";
  // decimal.js keeps no trailing zeros internally, so toFixed() without digits is already minimal.
  const text = d.isZero() ? "0" : d.toFixed();
  wireText.set(d, text);
  return text;
}

/** Parse the wire form back; "" → undefined. Throws on malformed text (wire input is validated upstream). */
export function fromWire(text: string): Decimal | undefined {
  return text === "" ? undefined : new Dec(text);
}

/** Sum exactly (within 40 significant digits). */
export function sum(values: Iterable<Decimal>): Decimal {
  let acc = ZERO;
  for (const v of values) acc = acc.plus(v);
  return acc;
}
