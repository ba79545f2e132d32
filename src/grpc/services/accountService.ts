import {
  StreamAccountResponse,
  type AccountEvent,
  type GetAccountRequest,
  type GetAccountResponse,
  type ListAccountsResponse,
  type ListAssetsRequest,
  type ListAssetsResponse,
  type ListPositionsRequest,
  type ListPositionsResponse,
  type StreamAccountRequest,
} from "../../../gen/ibprovider/v1/account_service.js";
import { PositionSide, type Account, type AccountSummary, type Asset, type PnL, type Position } from "../../../gen/ibprovider/v1/types.js";
import type { ProviderConfig } from "../../config/providerConfig.js";
import type { MarketType } from "../../domain/marketType.js";
import { decimalFromIb, fromWire, toWire } from "../../domain/decimal.js";
import type { AccountPnl, AccountState, AccountUpdate, AccountValues, ConsumerOptions, PortfolioItem, FeedCursor } from "../../ib/ibAdapter.js";
import type { GatewayStatus } from "../../ib/connection/gatewayStatus.js";
import type { CallContext } from "../callContext.js";
import { encodeStream, type EncodedMessage, type StreamRendering } from "../streamEncoding.js";
import { checkConnector, checkMarketType } from "../requestValidation.js";
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from "../../stream/streamSettings.js";

/** What the account service needs from the adapter. */
export interface AccountSource {
  readonly status: GatewayStatus;
  accountState(accountId?: string): Promise<AccountState>;
  streamAccount(accountId: string, options: ConsumerOptions<AccountUpdate>): FeedCursor<AccountUpdate>;
}

/** Futures positions belong to the futures market; everything else is spot (and margin, seen through margin). */
const FUTURES_SEC_TYPES = new Set(["FUT", "FOP", "CONTFUT"]);

function inMarket(item: PortfolioItem, marketType: MarketType): boolean {
  return FUTURES_SEC_TYPES.has(item.secType) === (marketType === "futures");
}

/** AccountService: the active account (IB streams one at a time) seen through spot, futures or margin. */
export class AccountService {
  constructor(
    private readonly provider: ProviderConfig,
    private readonly source: AccountSource,
    private readonly settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
  ) {}

  async listAccounts(): Promise<ListAccountsResponse> {
    const state = await this.source.accountState();
    const markets = this.provider.ib?.markets.map((m) => m.marketType) ?? [];
    return { accounts: (markets.length > 0 ? [...new Set(markets)] : (["spot"] as MarketType[])).map((m) => this.account(state, m)) };
  }

  async getAccount(request: GetAccountRequest): Promise<GetAccountResponse> {
    const marketType = this.check(request);
    return { account: this.account(await this.source.accountState(request.accountId), marketType) };
  }

  async listPositions(request: ListPositionsRequest): Promise<ListPositionsResponse> {
    const marketType = this.check(request);
    const state = await this.source.accountState(request.accountId);
    return { positions: state.portfolio.filter((p) => inMarket(p, marketType)).map(positionToProto) };
  }

  async listAssets(request: ListAssetsRequest): Promise<ListAssetsResponse> {
    const marketType = this.check(request);
    const state = await this.source.accountState(request.accountId);
    return { assets: assetsOf(state.values), positions: state.portfolio.filter((p) => inMarket(p, marketType)).map(positionToProto) };
  }

  async *streamAccount(request: StreamAccountRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const marketType = this.check(request);
    const { maxQueued, heartbeatMs, staleAfterMs } = this.settings;
    // Positions of other markets are not this stream's (an idle stream still hears heartbeats).
    const accepts = (u: AccountUpdate) => u.type !== "position" || inMarket(u.item, marketType);
    const cursor = this.source.streamAccount(request.accountId, { signal: ctx.signal, maxQueued, heartbeatMs, staleAfterMs, accepts });
    const rendering: StreamRendering<AccountUpdate, AccountEvent> = {
      encode: (events, writer) => StreamAccountResponse.encode({ events }, writer),
      key: `account\0${marketType}`,
      data: (u, seq) => accountEvents(u).map((event) => ({ event, sequence: String(seq) })),
      control: (event) => ({ ...event, sequence: "0" }),
    };
    yield* encodeStream(cursor, rendering);
  }

  private check(request: { connectorType: string; marketType: string }): MarketType {
    checkConnector(request.connectorType);
    return checkMarketType(request.marketType);
  }

  private account(state: AccountState, marketType: MarketType): Account {
    return {
      accountId: state.values.account,
      connectorType: "ib",
      marketType,
      isActive: true,
      isPaper: this.source.status.isPaper,
      assets: assetsOf(state.values),
      positions: state.portfolio.filter((p) => inMarket(p, marketType)).map(positionToProto),
      summary: summaryOf(state.values),
      pnl: state.pnl === undefined ? undefined : pnlToProto(state.pnl),
    };
  }
}

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

/** One account update as the events of an account stream. */
function accountEvents(u: AccountUpdate): NonNullable<AccountEvent["event"]>[] {
  if (u.type === "values") return [{ $case: "summary", value: summaryOf(u.values) }, ...assetsOf(u.values).map((value) => ({ $case: "asset" as const, value }))];
  if (u.type === "position") return [{ $case: "position", value: positionToProto(u.item) }];
  return [{ $case: "pnl", value: pnlToProto(u.pnl) }];
}
