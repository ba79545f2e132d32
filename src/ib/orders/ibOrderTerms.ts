/** Our orders in IB's terms (what placeOrder is sent), and how the desk compares and logs them. */
import type { Contract, Order } from "@stoqey/ib";
import { maskAccountId } from "../../domain/accountMask.js";
import type { OrderLeg, OrderRequest } from "../../domain/orders/orderRequest.js";
import type { StoredOrder } from "../../store/orderStore.js";

/** IB's texts may name the account (U1234567, DU1234567): masked as every account id in the log. */
export function maskAccounts(text: string): string {
  return text.replace(/\b(?:DU|DF|U|F)\d{4,}\b/g, (id) => maskAccountId(id));
}

/** What a client sees change in an order. */
export function stateKey(o: StoredOrder): string {
  return [o.status, o.permId ?? "", o.filled.toString(), o.remaining.toString(), o.avgFillPrice?.toString() ?? "", o.lastError?.code ?? "", o.lastError?.text ?? ""].join("\u0000");
}

/** `{ [key]: value }` when value is defined, else `{}` (exactOptionalPropertyTypes). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * The IB contract an order goes to: its conId on its exchange, as market data requests send it
 * (ResolvedInstrument.requestContract). Not the symbol: ours is Barfinex's ("BTCUSDT"), IB's differs ("BTC"),
 * and IB refuses a contract whose fields disagree with its conId.
 */
export function contractOf(request: OrderRequest): Contract {
  const { conId, exchange } = request.instrument;
  return { conId, exchange };
}

/** One leg as IB's Order: our client order id as orderRef (how a later session recognises it), transmit on the last. */
export function ibOrderOf(leg: OrderLeg, account: string, transmit: boolean, parentId: number | undefined): Order {
  return {
    orderType: leg.type as Order["orderType"],
    action: leg.side as Order["action"],
    totalQuantity: Number(leg.quantity.toString()),
    ...(leg.limitPrice === undefined ? {} : { lmtPrice: Number(leg.limitPrice.toString()) }),
    ...(leg.stopPrice === undefined ? {} : { auxPrice: Number(leg.stopPrice.toString()) }),
    tif: leg.tif as Order["tif"],
    outsideRth: leg.outsideRth,
    orderRef: leg.clientOrderId,
    account,
    transmit,
    ...(parentId === undefined ? {} : { parentId }),
  };
}
