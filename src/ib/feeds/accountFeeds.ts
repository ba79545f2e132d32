import type { ConsumerOptions } from "../../stream/consumerOptions.js";
import type { FeedConsumer } from "../../stream/feedCursor.js";
import type { GatewayStatus } from "../connection/gatewayStatus.js";
import { IbError } from "../ibErrors.js";
import { accountSource, type AccountState, type AccountUpdate } from "./accountFeed.js";
import type { FeedContext } from "./feedContext.js";
import type { FeedRegistry } from "./feedRegistry.js";

/**
 * The account side of the adapter: which account can be served (IB streams updates for one account at a
 * time: IB_ACCOUNT_ID or the only managed one), its feed kept running once asked for, and its state once
 * IB's initial download has arrived.
 */
export class AccountFeeds {
  private readonly states = new Map<string, { state: () => AccountState; ready: Promise<void> }>();

  constructor(
    private readonly ctx: FeedContext,
    private readonly feeds: FeedRegistry,
    private readonly gateway: () => GatewayStatus,
  ) {}

  /** The active account's values, portfolio and PnL, after IB's initial download (bounded by a timeout). */
  async state(accountId: string, timeoutMs: number): Promise<AccountState> {
    const account = this.accountFor(accountId);
    const { entry } = this.feed(account);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IbError("timeout", `IB did not send the account download for ${account.slice(0, 2)}… within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([entry.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return entry.state();
  }

  /** Account updates (values per batch, positions, PnL) as IB sends them; joiners get the current state first. */
  stream(accountId: string, options: ConsumerOptions<AccountUpdate>): FeedConsumer<AccountUpdate> {
    return this.feed(this.accountFor(accountId)).feed.subscribe(options);
  }

  private accountFor(accountId: string): string {
    const { activeAccount, managedAccounts } = this.gateway();
    if (activeAccount === undefined) throw new IbError("unavailable", "not connected to the Gateway yet");
    if (accountId === "" || accountId === activeAccount) return activeAccount;
    if (!managedAccounts.includes(accountId)) throw new IbError("not-found", `account ${accountId} is not managed by this login`, undefined, "account-not-managed");
    throw new IbError("invalid", `account ${accountId} is not the active account: IB streams account updates for one account at a time; set IB_ACCOUNT_ID to serve it`, undefined, "account-not-active");
  }

  private feed(account: string) {
    let downloaded!: () => void;
    const ready = new Promise<void>((resolve) => (downloaded = resolve));
    const feed = this.feeds.acquire({ key: `account/${account}`, kind: "account", marketType: "", symbol: "" }, () => {
      const source = accountSource(this.ctx, account, () => downloaded());
      this.states.set(account, { state: source.state, ready });
      return source;
    });
    // Account data is one cheap subscription: keep it running once asked for, like a configured one.
    if (!feed.isPinned) feed.pin(false);
    return { feed, entry: this.states.get(account)! };
  }
}
