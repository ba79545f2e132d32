import type { ProviderConfig } from "./config/providerConfig.js";
import type { MarketType } from "./domain/marketType.js";
import { parseInterval } from "./domain/intervals.js";
import type { ConfiguredFeed, IbAdapter } from "./ib/ibAdapter.js";
import { IbError } from "./ib/ibErrors.js";
import type { Logger } from "./log/logger.js";

/** One configured `active: true` subscription: a kind, an instrument and (candles) an interval. */
type Activation = ConfiguredFeed & { type: string };

export interface ActivationFailure {
  type: string;
  marketType: MarketType;
  symbol: string;
  interval: string;
  reason: string;
}

/**
 * Keeps the `active: true` subscriptions of config.provider.json running. They start at boot; one that
 * cannot start (the Gateway blinked, a line limit, a symbol IB does not know) is logged and skipped so the
 * rest of the service runs, and tried again after every reconnect and every `retryMs` until it starts.
 * Once started, the adapter keeps it (pinned feeds resubscribe and retry on their own).
 */
export class ConfiguredSubscriptions {
  private pending: Activation[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly onReady = () => void this.attempt();

  constructor(
    provider: ProviderConfig,
    private readonly adapter: IbAdapter,
    private readonly log: Logger,
    private readonly retryMs = 60_000,
  ) {
    this.pending = activationsOf(provider);
  }

  /** Failures of the last attempt, for the status and tests. */
  failures: ActivationFailure[] = [];

  async start(): Promise<void> {
    this.adapter.connection.on("ready", this.onReady);
    await this.attempt();
  }

  stop(): void {
    this.adapter.connection.off("ready", this.onReady);
    clearTimeout(this.timer);
  }

  private attempt(): Promise<void> {
    this.running ??= this.activatePending().finally(() => (this.running = undefined));
    return this.running;
  }

  private async activatePending(): Promise<void> {
    clearTimeout(this.timer);
    const failures: ActivationFailure[] = [];
    const still: Activation[] = [];
    for (const a of this.pending) {
      try {
        await this.adapter.activate(a);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        still.push(a);
        const interval = a.kind === "candle" ? a.interval.name : "";
        failures.push({ type: a.type, marketType: a.marketType, symbol: a.symbol, interval, reason });
        const level = err instanceof IbError && err.kind === "unavailable" ? "warn" : "error";
        this.log[level]({ type: a.type, marketType: a.marketType, symbol: a.symbol, interval: interval || undefined, reason }, "configured subscription could not start; will retry");
      }
    }
    this.pending = still;
    this.failures = failures;
    if (still.length > 0) {
      this.timer = setTimeout(() => void this.attempt(), this.retryMs);
      this.timer.unref();
    }
  }
}

function activationsOf(provider: ProviderConfig): Activation[] {
  const ib = provider.ib;
  if (ib === undefined) return [];
  const out: Activation[] = [];
  for (const sub of ib.subscriptions.filter((s) => s.active)) {
    for (const symbol of sub.symbols) {
      // Validated at load: the symbol is in exactly one market, or the subscription names its market.
      const marketType = sub.marketType ?? ib.markets.find((m) => m.symbols.some((s) => s.name === symbol))!.marketType;
      if (sub.type === "PROVIDER_MARKETDATA_TRADE") out.push({ type: sub.type, kind: "trade", marketType, symbol });
      else if (sub.type === "PROVIDER_MARKETDATA_ORDERBOOK") out.push({ type: sub.type, kind: "orderBook", marketType, symbol });
      else for (const name of sub.intervals ?? []) out.push({ type: sub.type, kind: "candle", marketType, symbol, interval: parseInterval(name)! });
    }
  }
  return out;
}
