import {
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
import { assetsOf, inMarket, pnlToProto, positionToProto, summaryOf } from "../mapping/account.js";
import type { AccountState, AccountUpdate } from "../../ib/ibAdapter.js";
import type { FeedConsumer } from "../../stream/feedCursor.js";
import { accountRendering } from "../streamRenderings.js";
import { replayStartOf } from "../requests/replayFields.js";
import type { ConsumerOptions } from "../../stream/consumerOptions.js";
import type { GatewayStatus } from "../../ib/connection/gatewayStatus.js";
import type { CallContext } from "../callContext.js";
import { encodeStream, type EncodedMessage } from "../streamEncoding.js";
import { checkConnector, checkMarketType } from "../requests/instrumentFields.js";
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from "../../stream/streamSettings.js";

/** What the account service needs from the adapter. */
export interface AccountSource {
  readonly status: GatewayStatus;
  accountState(accountId?: string): Promise<AccountState>;
  streamAccount(accountId: string, options: ConsumerOptions<AccountUpdate>): FeedConsumer<AccountUpdate>;
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
    return { positions: state.portfolio.filter((p) => inMarket(p.secType, marketType)).map(positionToProto) };
  }

  async listAssets(request: ListAssetsRequest): Promise<ListAssetsResponse> {
    const marketType = this.check(request);
    const state = await this.source.accountState(request.accountId);
    return { assets: assetsOf(state.values), positions: state.portfolio.filter((p) => inMarket(p.secType, marketType)).map(positionToProto) };
  }

  async *streamAccount(request: StreamAccountRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const marketType = this.check(request);
    const { maxQueued, heartbeatMs, staleAfterMs } = this.settings;
    // Positions of other markets are not this stream's (an idle stream still hears heartbeats).
    const accepts = (u: AccountUpdate) => u.type !== "position" || inMarket(u.item.secType, marketType);
    const start = replayStartOf(request, Date.now());
    const cursor = this.source.streamAccount(request.accountId, { signal: ctx.signal, maxQueued, heartbeatMs, staleAfterMs, accepts, ...(ctx.lease !== undefined ? { hold: ctx.lease.joined } : start === undefined ? {} : { start }) });
    yield* encodeStream(cursor, accountRendering(marketType));
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
      positions: state.portfolio.filter((p) => inMarket(p.secType, marketType)).map(positionToProto),
      summary: summaryOf(state.values),
      pnl: state.pnl === undefined ? undefined : pnlToProto(state.pnl),
    };
  }
}

