/**
 * Exact decimal formatting of integer multiples. Prices are integer tick counts internally and sizes
 * integer counts of sizeIncrement; a "scaled decimal" is (mantissa, decimals) such that
 * value = mantissa / 10^decimals, e.g. minTick "0.25" → (25, 2), "0.00005" → (5, 5).
 */
import { Decimal } from "decimal.js";

export interface ScaledDecimal {
  readonly mantissa: number;
  readonly decimals: number;
}

export function parseScaled(s: string): ScaledDecimal {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new Error(`not a plain decimal: ${s}`);
  const frac = m[2] ?? "";
  return { mantissa: Number((m[1] ?? "0") + frac), decimals: frac.length };
}

/** Canonical string of n / 10^decimals (n an integer, |n| < 2^53), trailing zeros stripped. */
export function formatFixed(n: number, decimals: number): string {
  const neg = n < 0;
  let digits = String(Math.abs(n));
  if (decimals > 0) {
    digits = digits.padStart(decimals + 1, "0");
    let int = digits.slice(0, digits.length - decimals);
    let frac = digits.slice(digits.length - decimals).replace(/0+$/, "");
    if (int === "") int = "0";
    digits = frac ? `${int}.${frac}` : int;
  }
  return neg && digits !== "0" ? `-${digits}` : digits;
}

/** count × step as a canonical decimal string. */
export function formatMultiple(count: number, step: ScaledDecimal): string {
  return formatFixed(count * step.mantissa, step.decimals);
}

/** (halfCount / 2) × step: midpoints may sit on half ticks, which need one more decimal. */
export function formatHalfMultiple(halfCount: number, step: ScaledDecimal): string {
  const twice = halfCount * step.mantissa;
  return twice % 2 === 0 ? formatFixed(twice / 2, step.decimals) : formatFixed(twice * 5, step.decimals + 1);
}

/**
 * Volume-weighted average price: (Σ ticks·units / Σ units) × tick, rounded half-up to tick decimals + 3.
 * Σ ticks·units may exceed 2^53 for long bars, hence bigint | number.
 */
export function formatWap(pv: bigint | number, volumeUnits: number, tick: ScaledDecimal): string {
  if (volumeUnits <= 0) return "0";
  return new Decimal(pv.toString())
    .mul(tick.mantissa)
    .div(volumeUnits)
    .div(new Decimal(10).pow(tick.decimals))
    .toDecimalPlaces(tick.decimals + 3, Decimal.ROUND_HALF_UP)
    .toFixed(); // toFixed(): never exponent notation
}
