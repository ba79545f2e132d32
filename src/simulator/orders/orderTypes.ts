/** The simulated Gateway's orders and executions, as its matching engine keeps them. */
import type { Decimal } from "decimal.js";
import type { InstrumentSpec } from "../market/types.js";

export type OrderAction = "BUY" | "SELL";
export type SimOrderType = "MKT" | "LMT" | "STP" | "STP LMT";
export type TimeInForce = "DAY" | "GTC" | "IOC";

/**
 * IB's statuses as the API reports them: PreSubmitted while held (a bracket child waiting for its parent,
 * a stop not triggered, a market closed for the order), Submitted while working at the exchange.
 */
export type SimOrderStatus = "PreSubmitted" | "Submitted" | "Filled" | "Cancelled";

export interface SimOrder {
  orderId: number;
  clientId: number;
  permId: number;
  account: string;
  instrument: InstrumentSpec;
  action: OrderAction;
  totalQuantity: Decimal;
  orderType: SimOrderType;
  lmtPrice: Decimal | undefined;
  auxPrice: Decimal | undefined;
  tif: TimeInForce;
  ocaGroup: string;
  ocaType: number;
  orderRef: string;
  parentId: number;
  outsideRth: boolean;
  /** false: staged in the Gateway (transmit=false) until a later order of its group is transmitted. */
  transmitted: boolean;
  status: SimOrderStatus;
  /** A stop (STP, STP LMT) whose trigger has been hit: it now works as MKT / LMT. */
  triggered: boolean;
  filled: Decimal;
  avgFillPrice: Decimal;
  lastFillPrice: Decimal;
  /** Commission charged so far (the schedule applies per order, reported per execution). */
  commission: Decimal;
  /** The order's market has been open (for its hours) since it was placed: a DAY order ends when it next closes. */
  sawOpen: boolean;
  /** Time of the last check against the market's trades (stop triggers). */
  checkedToMs: number;
  completedTimeMs: number | undefined;
  /** "Filled", "Cancelled by Trader", "Cancelled by OCA", "Cancelled (IOC)", ... for reqCompletedOrders. */
  completedStatus: string;
}

export interface SimExecution {
  execId: string;
  orderId: number;
  clientId: number;
  permId: number;
  account: string;
  instrument: InstrumentSpec;
  timeMs: number;
  side: "BOT" | "SLD";
  shares: Decimal;
  price: Decimal;
  cumQty: Decimal;
  avgPrice: Decimal;
  orderRef: string;
  exchange: string;
  commission: Decimal;
  realizedPnl: Decimal | undefined;
  /** 1 added liquidity (a resting limit), 2 removed it (market, marketable limit). */
  lastLiquidity: 1 | 2;
}

/** What the engine tells the Gateway after something happened to an order, in order. */
export type OrderEvent =
  | { type: "status"; order: SimOrder }
  | { type: "execution"; order: SimOrder; execution: SimExecution }
  | { type: "cancelled"; order: SimOrder; reason: string };

export const isWorking = (o: SimOrder): boolean => o.status === "PreSubmitted" || o.status === "Submitted";
export const isDone = (o: SimOrder): boolean => o.status === "Filled" || o.status === "Cancelled";
