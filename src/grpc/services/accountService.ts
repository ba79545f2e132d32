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
import type { Account } from "../../../gen/ibprovider/v1/types.js";
import type { ProviderConfig } from "../../config/providerConfig.js";
import type { MarketType } from "../../domain/marketType.js";
import { assetsOf, pnlToProto, positionToProto, summaryOf } from "../mapping/account.js";
import type { AccountState, AccountUpdate, PortfolioItem } from "../../ib/ibAdapter.js";
import type { FeedCursor } from "../../stream/feedCursor.js";
import type { ConsumerOptions } from "../../stream/sharedFeed.js";
import type { GatewayStatus } from "../../ib/connection/gatewayStatus.js";
import type { CallContext } from "../callContext.js";
import { encodeStream, type EncodedMessage, type StreamRendering } from "../streamEncoding.js";
import { checkConnector, checkMarketType } from "../requests/instrumentFields.js";
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
      key: "account", // data does not depend on the market (filtered by `accepts`): one encoding for all
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

/** One account update as the events of an account stream. */
function accountEvents(u: AccountUpdate): NonNullable<AccountEvent["event"]>[] {
  if (u.type === "values") return [{ $case: "summary", value: summaryOf(u.values) }, ...assetsOf(u.values).map((value) => ({ $case: "asset" as const, value }))];
  if (u.type === "position") return [{ $case: "position", value: positionToProto(u.item) }];
  return [{ $case: "pnl", value: pnlToProto(u.pnl) }];
}
