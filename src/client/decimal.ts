import { Decimal } from "decimal.js";

/**
 * The API sends prices, sizes and money as decimal strings ("94040.25"), "" when not known yet. These
 * turn them into Decimals without ever passing through a binary float, and back.
 *
 * A private Decimal constructor (40 significant digits, no exponent notation) so that sums of volumes
 * keep every digit and other code changing the global Decimal settings cannot affect ours.
 */
export const ApiDecimal: Decimal.Constructor = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -9e15, toExpPos: 9e15 });

/** The value of a decimal field, or undefined for "" (not known yet). Throws on text that is not a number. */
export function toDecimal(value: string): Decimal | undefined {
  return value === "" ? undefined : new ApiDecimal(value);
}

/** Like {@link toDecimal}, but a missing value is an error naming the field. */
export function requireDecimal(value: string, field = "value"): Decimal {
  const decimal = toDecimal(value);
  if (decimal === undefined) throw new Error(`${field} is not known yet (empty decimal string)`);
  return decimal;
}

/** Decimal (or exact text, or an integer) to the API's format: plain digits, never exponent notation. */
export function fromDecimal(value: Decimal.Value): string {
  return new ApiDecimal(value).toFixed();
}

/** The message with the named string fields as Decimals (undefined where ""). */
export type WithDecimals<T, K extends keyof T> = Omit<T, K> & { [P in K]: Decimal | undefined };

/** Converts the named decimal-string fields of a message; the other fields are copied unchanged. */
export function withDecimals<T extends object, K extends keyof T>(message: T, fields: readonly K[]): WithDecimals<T, K> {
  const out: Record<PropertyKey, unknown> = { ...(message as Record<PropertyKey, unknown>) };
  for (const field of fields) {
    const value = message[field];
    if (typeof value !== "string") throw new Error(`${String(field)} is not a decimal string`);
    out[field] = toDecimal(value);
  }
  // Every K was replaced above; the rest is the message's own fields.
  return out as WithDecimals<T, K>;
}

/** Ask minus bid, undefined while either side is unknown. */
export function spreadOf(quote: { bid: string; ask: string }): Decimal | undefined {
  const bid = toDecimal(quote.bid);
  const ask = toDecimal(quote.ask);
  return bid === undefined || ask === undefined ? undefined : ask.minus(bid);
}
