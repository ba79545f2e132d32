import { EventName, type Contract } from "@stoqey/ib";
import { decimalFromIb, ZERO, type Decimal } from "../../domain/decimal.js";
import type { FeedContext } from "./feedContext.js";
import type { FeedSource } from "../../stream/feedSource.js";

/** One holding as IB's portfolio reports it (reqAccountUpdates). */
export interface PortfolioItem {
  conId: number;
  symbol: string;
  localSymbol: string;
  secType: string;
  currency: string;
  multiplier: string;
  position: Decimal;
  marketPrice: Decimal | undefined;
  marketValue: Decimal | undefined;
  averageCost: Decimal | undefined;
  unrealizedPnl: Decimal | undefined;
  realizedPnl: Decimal | undefined;
  account: string;
}

export interface AccountPnl {
  daily: Decimal | undefined;
  unrealized: Decimal | undefined;
  realized: Decimal | undefined;
}

/** Account values by IB key; `byCurrency` holds per-currency keys (CashBalance, TotalCashBalance, ...). */
export interface AccountValues {
  account: string;
  /** key → value for the base currency (and currency-less keys like AccountType, Leverage). */
  base: Map<string, string>;
  baseCurrency: string;
  /** currency → key → value, for real currencies (not IB's "BASE" aggregate). */
  byCurrency: Map<string, Map<string, string>>;
}

export type AccountUpdate =
  | { type: "values"; values: AccountValues }
  | { type: "position"; item: PortfolioItem }
  | { type: "pnl"; pnl: AccountPnl };

/**
 * The active account's updates (reqAccountUpdates: values, portfolio; reqPnL: daily PnL) as one feed.
 * IB streams account updates for one account at a time, and batches of values end with an account-time
 * message: values are emitted once per batch, not per key.
 */
export interface AccountState {
  downloaded: boolean;
  values: AccountValues;
  portfolio: PortfolioItem[];
  pnl: AccountPnl | undefined;
}

export function accountSource(ctx: FeedContext, account: string, onDownloaded: () => void): FeedSource<AccountUpdate> & { state(): AccountState } {
  let values: AccountValues = emptyValues(account);
  let portfolio = new Map<number, PortfolioItem>();
  let pnl: AccountPnl | undefined;
  let downloaded = false;
  return {
    state: () => ({ downloaded, values: cloneValues(values), portfolio: [...portfolio.values()], pnl }),
    // The account is a state: a consumer far behind gets it whole instead of the updates it missed.
    overflow: "snapshot",
    joinEvents(): AccountUpdate[] {
      if (!downloaded) return [];
      const updates: AccountUpdate[] = [{ type: "values", values: cloneValues(values) }];
      for (const item of portfolio.values()) updates.push({ type: "position", item });
      if (pnl !== undefined) updates.push({ type: "pnl", pnl });
      return updates;
    },
    open(sink) {
      // After a reconnect IB sends the whole account again. Until it has, the previous snapshot keeps being
      // served (an empty account would read as a flat book); holdings not re-sent by the end are gone.
      const seen = new Set<number>();
      let dirty = false;
      const flushValues = () => {
        if (!dirty) return;
        dirty = false;
        sink.data({ type: "values", values: cloneValues(values) });
      };
      const onValue = (key: string, value: string, currency: string, accountName: string) => {
        if (accountName !== account) return;
        if (currency === "" || currency === "BASE" || currency === values.baseCurrency) values.base.set(key, value);
        if (currency !== "" && currency !== "BASE") {
          if (key === "NetLiquidation" || key === "TotalCashValue") values.baseCurrency = currency;
          let m = values.byCurrency.get(currency);
          if (m === undefined) values.byCurrency.set(currency, (m = new Map()));
          m.set(key, value);
        }
        dirty = true;
      };
      const onPortfolio = (contract: Contract, position: number, marketPrice: number, marketValue: number, averageCost?: number, unrealized?: number, realized?: number, accountName?: string) => {
        if (accountName !== undefined && accountName !== account) return;
        const item: PortfolioItem = {
          conId: contract.conId ?? 0,
          symbol: contract.symbol ?? "",
          localSymbol: contract.localSymbol ?? "",
          secType: String(contract.secType ?? ""),
          currency: contract.currency ?? "",
          multiplier: contract.multiplier === undefined ? "" : String(contract.multiplier),
          position: decimalFromIb(position) ?? ZERO,
          marketPrice: decimalFromIb(marketPrice),
          marketValue: decimalFromIb(marketValue),
          averageCost: decimalFromIb(averageCost),
          unrealizedPnl: decimalFromIb(unrealized),
          realizedPnl: decimalFromIb(realized),
          account,
        };
        portfolio.set(item.conId, item);
        seen.add(item.conId);
        sink.data({ type: "position", item });
      };
      const onTime = () => flushValues();
      const onEnd = (accountName: string) => {
        if (accountName !== account) return;
        flushValues();
        for (const [conId, item] of portfolio) {
          if (seen.has(conId)) continue;
          portfolio.delete(conId);
          sink.data({ type: "position", item: { ...item, position: ZERO, marketValue: undefined, unrealizedPnl: undefined } });
        }
        downloaded = true;
        onDownloaded();
      };
      const api = ctx.api as unknown as { on(e: string, l: (...a: never[]) => void): void; off(e: string, l: (...a: never[]) => void): void };
      api.on(EventName.updateAccountValue, onValue);
      api.on(EventName.updatePortfolio, onPortfolio);
      api.on(EventName.updateAccountTime, onTime);
      api.on(EventName.accountDownloadEnd, onEnd);
      const pnlReqId = ctx.router.allocateId();
      ctx.router.on(EventName.pnl, pnlReqId, (daily: number, unrealized?: number, realized?: number) => {
        pnl = { daily: decimalFromIb(daily), unrealized: decimalFromIb(unrealized), realized: decimalFromIb(realized) };
        sink.data({ type: "pnl", pnl });
      });
      // PnL is an extra: an account without PnL access (or a PnL error) must not end the account stream.
      ctx.router.onMessage(pnlReqId, (code, message, cls) => {
        if (cls.severity === "terminal") sink.status("advisory", `PnL unavailable: ${message}`, code);
      });
      ctx.api.reqAccountUpdates(true, account);
      ctx.api.reqPnL(pnlReqId, account, "");
      return {
        close() {
          api.off(EventName.updateAccountValue, onValue);
          api.off(EventName.updatePortfolio, onPortfolio);
          api.off(EventName.updateAccountTime, onTime);
          api.off(EventName.accountDownloadEnd, onEnd);
          if (ctx.isConnected()) {
            ctx.api.reqAccountUpdates(false, account);
            ctx.api.cancelPnL(pnlReqId);
          }
          ctx.router.release(pnlReqId);
        },
      };
    },
  };
}

function emptyValues(account: string): AccountValues {
  return { account, base: new Map(), baseCurrency: "USD", byCurrency: new Map() };
}

function cloneValues(v: AccountValues): AccountValues {
  return { account: v.account, base: new Map(v.base), baseCurrency: v.baseCurrency, byCurrency: new Map([...v.byCurrency].map(([c, m]) => [c, new Map(m)])) };
}
