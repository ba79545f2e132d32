/**
 * Commissions: a simple fixed schedule after IB's (IBKR Pro "Fixed"), per order, charged as it fills:
 * each execution reports what the order's cumulative commission grew by, so partial fills across book
 * levels add up to the order's commission.
 *
 * - Stocks, ETFs (STK): USD 0.005 per share, minimum 1.00, maximum 1 % of the trade value.
 * - Options (OPT, FOP): USD 0.65 per contract, minimum 1.00.
 * - Futures (FUT): USD 0.85 per contract.
 * - Crypto: 0.18 % of the trade value, minimum 1.75.
 * - Forex (CASH): 0.002 % (0.2 bp) of the trade value, minimum 2.00.
 * - Anything else (bonds, funds): 0.1 % of the trade value, minimum 1.00.
 */
import { Decimal } from "decimal.js";
import type { InstrumentSpec } from "../market/types.js";

export const COMMISSION_CURRENCY = "USD";

/** Commission of an order that has filled `quantity` for a total `value` (price × quantity × multiplier). */
export function orderCommission(inst: InstrumentSpec, quantity: Decimal, value: Decimal): Decimal {
  if (quantity.isZero()) return new Decimal(0);
  const v = value.abs();
  const q = quantity.abs();
  let c: Decimal;
  switch (inst.secType) {
    case "STK": {
      const max = v.mul("0.01");
      c = Decimal.min(Decimal.max(q.mul("0.005"), new Decimal(1)), max.gt(0) ? max : new Decimal(1));
      break;
    }
    case "OPT":
    case "FOP":
      c = Decimal.max(q.mul("0.65"), new Decimal(1));
      break;
    case "FUT":
      c = q.mul("0.85");
      break;
    case "CRYPTO":
      c = Decimal.max(v.mul("0.0018"), new Decimal("1.75"));
      break;
    case "CASH":
      c = Decimal.max(v.mul("0.00002"), new Decimal(2));
      break;
    default:
      c = Decimal.max(v.mul("0.001"), new Decimal(1));
  }
  return c.toDecimalPlaces(4);
}
