/**
 * IB's order messages read into our domain's terms: executions (execDetails), commission reports, statuses.
 * Pure: no store, no connection. IB sends numbers where the order had decimals (@stoqey/ib decodes sizes and
 * prices as JS numbers); they are read back through their shortest decimal text, as IB wrote them.
 */
import type { CommissionReport as IbCommissionReport, Contract, Execution as IbExecution } from "@stoqey/ib";
import { dec, type Decimal } from "../../domain/decimal.js";
import type { CommissionReport, Execution, ExecutionLiquidity } from "../../domain/orders/execution.js";
import { orderStatusFromIb, type OrderStatus } from "../../domain/orders/orderStatus.js";

/** IB's "unset" double (Double.MAX_VALUE), sent e.g. as the realized P&L of an opening fill. */
const UNSET_DOUBLE = 1.7976931348623157e308;

/** An IB number as a Decimal; undefined for IB's unset markers. */
export function ibDecimal(value: number | undefined): Decimal | undefined {
  if (value === undefined || !Number.isFinite(value) || value >= UNSET_DOUBLE) return undefined;
  return dec(String(value));
}

/** IB's status text as ours; a text IB added since is "Unknown" (never guessed) and said so by `unrecognized`. */
export function statusOf(text: string): { status: OrderStatus; unrecognized?: string } {
  try {
    return { status: orderStatusFromIb(text) };
  } catch {
    return { status: "Unknown", unrecognized: text };
  }
}

/** IB's lastLiquidity values (0: none reported). */
const LIQUIDITY: Partial<Record<number, ExecutionLiquidity>> = { 1: "added", 2: "removed", 3: "routedOut" };

/**
 * execDetails → an Execution. IB's time is "yyyyMMdd HH:mm:ss" followed by the login's time zone name
 * ("20261204 01:02:03 US/Eastern") or "yyyyMMdd-HH:mm:ss" in UTC; both are read (another zone than UTC via
 * the platform's time zone database). Unreadable: undefined (the fill is still counted, at `nowMs`).
 */
export function executionOf(contract: Contract, execution: IbExecution, nowMs: number): Execution | undefined {
  if (execution.execId === undefined || execution.orderId === undefined) return undefined;
  const side = execution.side === "BOT" ? "BUY" : execution.side === "SLD" ? "SELL" : undefined;
  const price = ibDecimal(execution.price);
  const quantity = ibDecimal(execution.shares);
  if (side === undefined || price === undefined || quantity === undefined) return undefined;
  // IB's zero cumQty/avgPrice is "not sent" (older server versions): a fill has filled something, at some price.
  const cumulativeQuantity = ibDecimal(execution.cumQty);
  const averagePrice = ibDecimal(execution.avgPrice);
  const liquidity = LIQUIDITY[execution.lastLiquidity ?? 0];
  return {
    execId: execution.execId,
    account: execution.acctNumber ?? "",
    orderId: execution.orderId,
    ...(execution.orderRef === undefined || execution.orderRef === "" ? {} : { clientOrderId: execution.orderRef }),
    conId: contract.conId ?? 0,
    timeMs: ibTimeMs(execution.time) ?? nowMs,
    side,
    price,
    quantity,
    ...(execution.exchange === undefined || execution.exchange === "" ? {} : { exchange: execution.exchange }),
    ...(cumulativeQuantity === undefined || cumulativeQuantity.isZero() ? {} : { cumulativeQuantity }),
    ...(averagePrice === undefined || averagePrice.isZero() ? {} : { averagePrice }),
    ...(liquidity === undefined ? {} : { liquidity }),
  };
}

export function commissionOf(report: IbCommissionReport): CommissionReport | undefined {
  const commission = ibDecimal(report.commission);
  if (report.execId === undefined || commission === undefined) return undefined;
  const realizedPnl = ibDecimal(report.realizedPNL);
  return { execId: report.execId, commission, currency: report.currency ?? "", ...(realizedPnl === undefined ? {} : { realizedPnl }) };
}

/** IB's execution time text → epoch ms (undefined: not a form IB sends). */
export function ibTimeMs(text: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})[ -]+(\d{2}):(\d{2}):(\d{2})(?:\s+(\S+))?$/.exec(text?.trim() ?? "");
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, zone] = m;
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (zone === undefined || zone === "UTC" || zone === "GMT") return asUtc;
  try {
    // The zone's offset at that moment: format the UTC reading in the zone and take the difference.
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(asUtc);
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    const zoned = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    return asUtc - (zoned - asUtc);
  } catch {
    return undefined;
  }
}
