/**
 * Field encoders for the TWS text protocol (every field is text; the frame joins them with NUL).
 * Java's Double.MAX_VALUE marks an unset double (clients map it to undefined/None),
 * Integer.MAX_VALUE an unset int.
 */
export type Field = string | number | boolean | undefined | null;

export const UNSET_DOUBLE = "1.7976931348623157E308";
export const UNSET_INT = "2147483647";

/** Integer as decimal text. */
export function int(n: number): string {
  return String(Math.trunc(n));
}

/** A double as text; undefined/null/NaN → Double.MAX_VALUE (unset). Decimal strings pass through unchanged. */
export function dbl(v: number | string | undefined | null): string {
  if (v === undefined || v === null) return UNSET_DOUBLE;
  if (typeof v === "string") return v === "" ? UNSET_DOUBLE : v;
  if (!Number.isFinite(v)) return UNSET_DOUBLE;
  return String(v);
}

/** A boolean as 1/0. */
export function bool(v: boolean): string {
  return v ? "1" : "0";
}

/** Normalises any field value to its wire text. */
export function fieldText(v: Field): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "boolean") return v ? "1" : "0";
  return String(v);
}
