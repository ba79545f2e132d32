/** How the store keeps and trusts history: one object, read by the adapter's history cache and documented once. */
export interface StoreSettings {
  /** SQLite file (created with its folder when absent); ":memory:" keeps nothing. */
  path: string;
  /** Intraday bars (min1…h4) are final this long after they end; until then they are asked of IB again. */
  intradaySettleMs: number;
  /** Day, week and month bars are final this long after they end (IB corrects volumes overnight). */
  dailySettleMs: number;
  /**
   * How long a range IB answered within its settle window (the forming bar included) is served from the
   * store before IB is asked again; never beyond the end of the bar that was forming.
   */
  recentTtlMs: number;
  /**
   * How long each kind of feed's recorded events are kept (ms; 0 = forever): a stream can start that far in
   * the past (STORE_RETENTION_TICKS, _TRADES, _DEPTH, _CANDLES, _ACCOUNT, _ORDERS). Older ones are deleted in the background.
   */
  retention: Readonly<Record<RecordedFeedKind, number>>;
  /** How often a feed whose state is a snapshot (the order book, the account) records one, so a replay can start anywhere. */
  snapshotEveryMs: number;
  /** Whether shared feeds record their events (STORE_RECORDING); off: nothing is recorded and no stream can start in the past. */
  recording: boolean;
}

/** The kinds of shared feed the service records (the subscription kinds, ib/feeds/subscriptionSnapshot.ts). */
export type RecordedFeedKind = "tick" | "trade" | "orderBook" | "candle" | "account" | "orders";

/** STORE_PATH for a store that keeps nothing after the process ends (tests, throwaway runs). */
export const IN_MEMORY = ":memory:";

export const DEFAULT_STORE_PATH = "data/ib-provider.sqlite";

export const DEFAULT_STORE_SETTINGS: Readonly<StoreSettings> = Object.freeze({
  path: DEFAULT_STORE_PATH,
  intradaySettleMs: 10 * 60_000,
  dailySettleMs: 24 * 3_600_000,
  recentTtlMs: 60_000,
  retention: Object.freeze({ tick: 24 * 3_600_000, trade: 24 * 3_600_000, orderBook: 3_600_000, candle: 0, account: 7 * 24 * 3_600_000, orders: 30 * 24 * 3_600_000 }),
  snapshotEveryMs: 60_000,
  recording: true,
});
