/**
 * When an order placed on a closed market will reach the exchange: IB's advisory 399 names that instant
 * ("Warning: your order will not be placed at the exchange until 2026-11-23 09:30:00 US/Eastern").
 */
import { zonedParts } from "../feeds/ibDateTime.js";
import type { InstrumentSpec, Market } from "../market/types.js";

const MINUTE_MS = 60_000;
const STEP_MS = 15 * MINUTE_MS;
const HORIZON_MS = 8 * 86_400_000;

/** The first minute at or after `fromMs` the instrument trades (regular hours unless outsideRth), within 8 days. */
export function nextOpenMs(market: Market, inst: InstrumentSpec, fromMs: number, outsideRth: boolean): number | undefined {
  const open = (t: number) => market.isOpen(inst, t, !outsideRth);
  const start = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  for (let t = start; t < start + HORIZON_MS; t += STEP_MS) {
    if (!open(t)) continue;
    // Sessions open on a minute: walk back from the first open step to the opening minute.
    let first = t;
    while (first - MINUTE_MS >= start && open(first - MINUTE_MS)) first -= MINUTE_MS;
    return first;
  }
  return undefined;
}

/** IB's 399 text for an order that waits for its market. */
export function notPlacedUntilText(action: string, quantity: string, inst: InstrumentSpec, openMs: number | undefined): string {
  const p = openMs === undefined ? undefined : zonedParts(openMs, "America/New_York");
  const until = p ? `${p.y}-${p.mo}-${p.d} ${p.h}:${p.mi}:${p.s} US/Eastern` : "the market opens";
  return `\n${action} ${quantity} ${inst.localSymbol || inst.symbol} ${inst.primaryExch || inst.exchange}\nWarning: your order will not be placed at the exchange until ${until}`;
}
