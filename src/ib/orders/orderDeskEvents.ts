/** What the order desk tells of its changes (StreamOrders renders them; orderFeed.ts makes them a feed). */
import type { Decimal } from "../../domain/decimal.js";
import type { KillSwitchState, StoredExecution, StoredOrder } from "../../store/orderStore.js";

/** The commissions IB has reported for an order's fills, summed (one currency: IB charges an order in one). */
export interface OrderCommission {
  total: Decimal;
  currency: string;
}

/** Whether new orders are accepted: the operator's settings, the account, the kill switch. */
export interface TradingState {
  enabled: boolean;
  allowLive: boolean;
  account: string | undefined;
  isPaper: boolean;
  killSwitch: KillSwitchState;
}

/**
 * A change at the desk, as StreamOrders tells it. `reconciled`: learned while reconciling with IB after a
 * (re)connect (what changed while the Gateway was away), not live.
 */
export type OrderDeskEvent =
  | { type: "order"; order: StoredOrder; commission: OrderCommission | undefined; reconciled: boolean }
  | { type: "execution"; execution: StoredExecution; order: StoredOrder | undefined; reconciled: boolean }
  | { type: "trading"; state: TradingState };
