import type { Contract, ContractDetails } from "@stoqey/ib";
import { parseInstrumentSymbol } from "../../domain/instrumentSymbol.js";
import { FUTURES_EXCHANGES } from "../contracts/symbolMapping.js";
import { IbError } from "../ibErrors.js";

/** One listed month of a futures root. */
export interface FutureContract {
  /** Our canonical text (ESH7), what the futures market accepts back. */
  symbol: string;
  localSymbol: string;
  /** YYYYMMDD. */
  lastTradeDate: string;
  conId: number;
  multiplier: string;
  exchange: string;
  /** The contract the plain root resolves to (the nearest whose last trade date is today or later). */
  front: boolean;
}

/**
 * The unexpired months of a futures root, ascending by last trade date, from IB's contract details of the
 * root (one request; the front month by the same rule the resolver picks it).
 */
export async function futuresExpiries(root: string, contractDetails: (c: Contract) => Promise<ContractDetails[]>, nowMs: number): Promise<FutureContract[]> {
  const parsed = parseInstrumentSymbol("futures", root);
  if ("error" in parsed || parsed.spec.assetClass !== "future" || parsed.spec.expiry !== undefined || parsed.spec.localSymbol !== undefined) {
    throw new IbError("invalid", `${JSON.stringify(root)} is not a futures root (e.g. ES, CL, 6E)`);
  }
  const name = parsed.spec.root;
  const details = await contractDetails({ symbol: name, secType: "FUT" as Contract["secType"], exchange: FUTURES_EXCHANGES[name] ?? "", currency: "USD" });
  const today = new Date(nowMs).toISOString().slice(0, 10).replace(/-/g, "");
  const months = details
    .map((d) => d.contract)
    .map((c) => ({ c, lastTradeDate: String(c.lastTradeDateOrContractMonth ?? "").slice(0, 8) }))
    .filter((m) => m.lastTradeDate >= today)
    .sort((a, b) => a.lastTradeDate.localeCompare(b.lastTradeDate));
  if (months.length === 0) throw new IbError("not-found", `IB lists no unexpired ${name} futures`, 200);
  return months.map(({ c, lastTradeDate }, i) => {
    const localSymbol = String(c.localSymbol ?? "");
    const local = parseInstrumentSymbol("futures", localSymbol);
    // IB's local symbol is ours for CME-style months (ESH7); any other shape is written root-YYYYMMDD.
    const symbol = !("error" in local) && local.spec.assetClass === "future" && local.spec.root === name ? local.text : `${name}-${lastTradeDate}`;
    return { symbol, localSymbol, lastTradeDate, conId: c.conId ?? 0, multiplier: String(c.multiplier ?? ""), exchange: String(c.exchange ?? ""), front: i === 0 };
  });
}
