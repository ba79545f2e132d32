import type { MarketType } from "../../domain/marketType.js";
import { PositionSide, type AccountSummary, type Asset, type PnL, type Position } from "../../../gen/ibprovider/v1/types.js";
import { decimalFromIb, fromWire, toWire } from "../../domain/decimal.js";
import type { AccountPnl, AccountValues, PortfolioItem } from "../../ib/ibAdapter.js";

/** The account as IB reports it (adapter types) → proto messages. */

/** IB sends amounts as text ("100000.00"): the canonical decimal form, "" for sentinels or non-numbers. */
function amount(text: string | undefined): string {
  return toWire(decimalFromIb(text));
}

export function summaryOf(v: AccountValues): AccountSummary {
  const b = v.base;
  return {
    currency: v.baseCurrency,
    netLiquidation: amount(b.get("NetLiquidation")),
    totalCashValue: amount(b.get("TotalCashValue")),
    buyingPower: amount(b.get("BuyingPower")),
    equityWithLoanValue: amount(b.get("EquityWithLoanValue")),
    grossPositionValue: amount(b.get("GrossPositionValue")),
    initialMargin: amount(b.get("InitMarginReq")),
    maintenanceMargin: amount(b.get("MaintMarginReq")),
    availableFunds: amount(b.get("AvailableFunds")),
    excessLiquidity: amount(b.get("ExcessLiquidity")),
    leverage: amount(b.get("Leverage") ?? b.get("Leverage-S")),
    accountType: b.get("AccountType") ?? "",
  };
}

export function assetsOf(v: AccountValues): Asset[] {
  return [...v.byCurrency].map(([currency, keys]) => {
    const cash = amount(keys.get("TotalCashBalance") ?? keys.get("CashBalance"));
    return { symbol: currency, walletBalance: cash, availableBalance: currency === v.baseCurrency ? amount(v.base.get("AvailableFunds")) || cash : cash };
  });
}

export function positionToProto(p: PortfolioItem): Position {
  const multiplier = fromWire(p.multiplier);
  const entry = p.averageCost === undefined ? undefined : multiplier !== undefined && !multiplier.isZero() ? p.averageCost.div(multiplier) : p.averageCost;
  const symbol = p.secType === "FUT" ? p.localSymbol || p.symbol : p.secType === "CASH" ? `${p.symbol}${p.currency}` : p.symbol;
  return {
    symbol,
    quantity: toWire(p.position),
    entryPrice: toWire(entry),
    lastPrice: toWire(p.marketPrice),
    side: p.position.isZero() ? PositionSide.POSITION_SIDE_UNSPECIFIED : p.position.isPositive() ? PositionSide.POSITION_SIDE_LONG : PositionSide.POSITION_SIDE_SHORT,
    marketValue: toWire(p.marketValue),
    unrealizedPnl: toWire(p.unrealizedPnl),
    realizedPnl: toWire(p.realizedPnl),
    conId: String(p.conId),
    secType: p.secType,
    currency: p.currency,
    accountId: p.account,
  };
}

export function pnlToProto(p: AccountPnl): PnL {
  return { dailyPnl: toWire(p.daily), unrealizedPnl: toWire(p.unrealized), realizedPnl: toWire(p.realized) };
}

/** Futures positions belong to the futures market; everything else is spot (and margin, seen through margin). */
const FUTURES_SEC_TYPES = new Set(["FUT", "FOP", "CONTFUT"]);

export function inMarket(secType: string, marketType: MarketType): boolean {
  return FUTURES_SEC_TYPES.has(secType) === (marketType === "futures");
}
