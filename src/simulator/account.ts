/**
 * The simulated paper account(s): cash plus a few positions whose market value and PnL follow the market
 * model at the current time.
 */
import { Decimal } from "decimal.js";
import type { InstrumentSpec, Market } from "./market/types.js";

export interface PositionConfig {
  symbol: string;
  secType?: string;
  quantity: string;
  /** Average cost per unit (futures: per contract, multiplier included, as IB reports it). Default: the price 7 days before start. */
  avgCost?: string;
}

export interface AccountConfig {
  id: string;
  cash?: string;
  positions?: PositionConfig[];
}

export const DEFAULT_ACCOUNTS: AccountConfig[] = [
  {
    id: "DU1234567",
    cash: "100000",
    positions: [
      { symbol: "AAPL", secType: "STK", quantity: "100" },
      { symbol: "BTC", secType: "CRYPTO", quantity: "0.5" },
      { symbol: "ES", secType: "FUT", quantity: "1" },
    ],
  },
];

export interface PositionState {
  instrument: InstrumentSpec;
  quantity: Decimal;
  avgCost: Decimal;
}

export interface PositionValuation {
  position: PositionState;
  marketPrice: Decimal;
  marketValue: Decimal;
  unrealized: Decimal;
  daily: Decimal;
}

export interface AccountValuation {
  account: string;
  cash: Decimal;
  positions: PositionValuation[];
  netLiquidation: Decimal;
  grossPositionValue: Decimal;
  stockMarketValue: Decimal;
  futuresPnl: Decimal;
  unrealized: Decimal;
  realized: Decimal;
  daily: Decimal;
  initMargin: Decimal;
  maintMargin: Decimal;
}

const money = (d: Decimal): string => d.toFixed(2);

/** One simulated account: cash, positions and the PnL its fills realized (orders/fillAccounting moves them). */
export interface AccountState {
  id: string;
  cash: Decimal;
  positions: PositionState[];
  realized: Decimal;
}

export class SimAccounts {
  readonly accounts: AccountState[];

  constructor(
    private readonly market: Market,
    configs: AccountConfig[],
    startMs: number,
  ) {
    this.accounts = configs.map((cfg) => ({
      id: cfg.id,
      cash: new Decimal(cfg.cash ?? "100000"),
      realized: new Decimal(0),
      positions: (cfg.positions ?? []).flatMap((p) => {
        const inst = market.findContracts({ symbol: p.symbol, ...(p.secType ? { secType: p.secType } : {}) })[0];
        if (!inst) return [];
        const avg = p.avgCost
          ? new Decimal(p.avgCost)
          : this.price(inst, startMs - 7 * 86400_000).mul(multiplier(inst)).toDecimalPlaces(4);
        return [{ instrument: inst, quantity: new Decimal(p.quantity), avgCost: avg }];
      }),
    }));
  }

  ids(): string[] {
    return this.accounts.map((a) => a.id);
  }

  /** Mid price of an instrument at a time. */
  price(inst: InstrumentSpec, timeMs: number): Decimal {
    const q = this.market.quote(inst, timeMs);
    return new Decimal(q.bid).add(q.ask).div(2);
  }

  value(accountId: string, timeMs: number): AccountValuation | undefined {
    const acct = this.accounts.find((a) => a.id === accountId);
    if (!acct) return undefined;
    const dayStart = timeMs - (timeMs % 86400_000);
    const positions = acct.positions.map((p) => {
      const mult = multiplier(p.instrument);
      const px = this.price(p.instrument, timeMs);
      const open = this.price(p.instrument, dayStart);
      const marketValue = p.quantity.mul(px).mul(mult);
      return {
        position: p,
        marketPrice: px,
        marketValue,
        unrealized: marketValue.sub(p.quantity.mul(p.avgCost)),
        daily: p.quantity.mul(mult).mul(px.sub(open)),
      };
    });
    const zero = new Decimal(0);
    const isFut = (v: PositionValuation) => v.position.instrument.secType === "FUT";
    const stock = positions.filter((v) => !isFut(v)).reduce((s, v) => s.add(v.marketValue), zero);
    const futPnl = positions.filter(isFut).reduce((s, v) => s.add(v.unrealized), zero);
    const gross = positions.filter((v) => !isFut(v)).reduce((s, v) => s.add(v.marketValue.abs()), zero);
    const initMargin = positions.reduce(
      (s, v) => s.add(isFut(v) ? v.position.quantity.abs().mul(15000) : v.marketValue.abs().mul(v.position.instrument.secType === "CRYPTO" ? 1 : 0.25)),
      zero,
    );
    return {
      account: acct.id,
      cash: acct.cash,
      positions,
      netLiquidation: acct.cash.add(stock).add(futPnl),
      grossPositionValue: gross,
      stockMarketValue: stock,
      futuresPnl: futPnl,
      unrealized: positions.reduce((s, v) => s.add(v.unrealized), zero),
      realized: acct.realized,
      daily: positions.reduce((s, v) => s.add(v.daily), zero),
      initMargin,
      maintMargin: initMargin.mul(0.8),
    };
  }

  /** Account-summary tags (reqAccountSummary) with values and currencies. */
  summary(v: AccountValuation): { tag: string; value: string; currency: string }[] {
    const ewl = v.netLiquidation;
    const avail = ewl.sub(v.initMargin);
    const excess = ewl.sub(v.maintMargin);
    const usd = (tag: string, d: Decimal) => ({ tag, value: money(d), currency: "USD" });
    return [
      { tag: "AccountType", value: "INDIVIDUAL", currency: "" },
      usd("NetLiquidation", v.netLiquidation),
      usd("TotalCashValue", v.cash),
      usd("SettledCash", v.cash),
      usd("AccruedCash", new Decimal(0)),
      usd("BuyingPower", avail.mul(4)),
      usd("EquityWithLoanValue", ewl),
      usd("PreviousDayEquityWithLoanValue", ewl.sub(v.daily)),
      usd("GrossPositionValue", v.grossPositionValue),
      usd("RegTEquity", ewl),
      usd("RegTMargin", v.initMargin),
      usd("SMA", avail),
      usd("InitMarginReq", v.initMargin),
      usd("MaintMarginReq", v.maintMargin),
      usd("AvailableFunds", avail),
      usd("ExcessLiquidity", excess),
      { tag: "Cushion", value: v.netLiquidation.isZero() ? "0" : excess.div(v.netLiquidation).toFixed(6), currency: "" },
      usd("FullInitMarginReq", v.initMargin),
      usd("FullMaintMarginReq", v.maintMargin),
      usd("FullAvailableFunds", avail),
      usd("FullExcessLiquidity", excess),
      { tag: "LookAheadNextChange", value: "0", currency: "" },
      usd("LookAheadInitMarginReq", v.initMargin),
      usd("LookAheadMaintMarginReq", v.maintMargin),
      usd("LookAheadAvailableFunds", avail),
      usd("LookAheadExcessLiquidity", excess),
      { tag: "HighestSeverity", value: "0", currency: "" },
      { tag: "DayTradesRemaining", value: "-1", currency: "" },
      { tag: "Leverage", value: v.netLiquidation.isZero() ? "0" : v.grossPositionValue.div(v.netLiquidation).toFixed(2), currency: "" },
    ];
  }

  /** Cash-ledger tags for one currency label ("USD" or "BASE"). */
  ledger(v: AccountValuation, currency: string): { tag: string; value: string; currency: string }[] {
    const c = (tag: string, value: string) => ({ tag, value, currency });
    return [
      c("Currency", currency),
      c("CashBalance", money(v.cash)),
      c("TotalCashBalance", money(v.cash)),
      c("AccruedCash", "0.00"),
      c("StockMarketValue", money(v.stockMarketValue)),
      c("OptionMarketValue", "0.00"),
      c("FutureOptionValue", "0.00"),
      c("FuturesPNL", money(v.futuresPnl)),
      c("NetLiquidationByCurrency", money(v.netLiquidation)),
      c("UnrealizedPnL", money(v.unrealized)),
      c("RealizedPnL", money(v.realized)),
      c("ExchangeRate", "1.00"),
      c("FundValue", "0.00"),
      c("NetDividend", "0.00"),
      c("MutualFundValue", "0.00"),
      c("MoneyMarketFundValue", "0.00"),
      c("CorporateBondValue", "0.00"),
      c("TBondValue", "0.00"),
      c("TBillValue", "0.00"),
      c("WarrantValue", "0.00"),
      c("FxCashBalance", "0.00"),
      c("IssuerOptionValue", "0.00"),
    ];
  }

  /** Key/value pairs for reqAccountUpdates. */
  accountValues(v: AccountValuation): { key: string; value: string; currency: string }[] {
    const out: { key: string; value: string; currency: string }[] = [
      { key: "AccountCode", value: v.account, currency: "" },
      { key: "AccountReady", value: "true", currency: "" },
      { key: "Currency", value: "USD", currency: "USD" },
      { key: "Currency", value: "BASE", currency: "BASE" },
    ];
    for (const { tag, value, currency } of this.summary(v)) out.push({ key: tag, value, currency });
    for (const cur of ["BASE", "USD"]) {
      for (const { tag, value } of this.ledger(v, cur)) if (tag !== "Currency") out.push({ key: tag, value, currency: cur });
    }
    return out;
  }
}

export function multiplier(inst: InstrumentSpec): Decimal {
  return inst.multiplier ? new Decimal(inst.multiplier) : new Decimal(1);
}

export { money };
