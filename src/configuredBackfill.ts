import type { ProviderConfig } from "./config/providerConfig.js";
import { parseInterval, type Interval } from "./domain/intervals.js";
import type { MarketType } from "./domain/marketType.js";
import type { BackfillEvent, BackfillOptions, BackfillRequest } from "./ib/ibAdapter.js";
import type { Logger } from "./log/logger.js";

/** The accounting name of the configured backfill in the pacing queue (not a valid client name: no collision). */
export const CONFIGURED_BACKFILL_CLIENT = "(configured backfill)";

/** One backfill run: the configured candle symbols of one market and interval. */
export interface BackfillPlan {
  marketType: MarketType;
  interval: Interval;
  symbols: string[];
}

/** What the configured backfill needs of the adapter. */
export interface BackfillRunner {
  backfill(request: BackfillRequest, options?: BackfillOptions): AsyncIterable<BackfillEvent>;
  connection: { on(event: "ready", listener: (info: { reconnected: boolean }) => void): unknown; off(event: "ready", listener: (info: { reconnected: boolean }) => void): unknown };
}

/**
 * config.provider.json's `backfill` (docs/store.md "Scheduled backfill"): at start-up, the configured candle
 * subscriptions' symbols and intervals are backfilled into the store over the last `days` days, in the
 * background, one market and interval at a time, with progress logged at info (at most every
 * `logEveryMs`). A run that ends with failed symbols (the Gateway away, …) runs again after the next
 * reconnect: what is stored is skipped, so it only resumes.
 */
export class ConfiguredBackfill {
  private readonly plans: BackfillPlan[];
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  private retryOnReconnect = false;
  /** The Gateway came back while a run went on: failures of that run (requests lost with the connection) are known only at its end. */
  private reconnectedDuringRun = false;
  private readonly onReady = ({ reconnected }: { reconnected: boolean }) => {
    if (!reconnected) return;
    if (this.running !== undefined) this.reconnectedDuringRun = true;
    else if (this.retryOnReconnect) void this.start();
  };

  constructor(
    private readonly provider: ProviderConfig,
    private readonly adapter: BackfillRunner,
    private readonly log: Logger,
    private readonly logEveryMs = 30_000,
  ) {
    this.plans = backfillPlansOf(provider);
    if (this.plans.length > 0) adapter.connection.on("ready", this.onReady);
  }

  /** Starts a run in the background unless one is running; resolves when it ends (tests). */
  start(): Promise<void> {
    if (this.plans.length === 0 || this.controller.signal.aborted) return Promise.resolve();
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      // The reconnect its failures wait for has already come (a drop mid-run fails the requests in flight,
      // and the run goes on after the reconnect): run again now, not after a next reconnect that may never come.
      if (this.retryOnReconnect && this.reconnectedDuringRun) void this.start();
    });
    return this.running;
  }

  stop(): void {
    this.adapter.connection.off("ready", this.onReady);
    this.controller.abort();
  }

  private async run(): Promise<void> {
    const config = this.provider.ib!.backfill!;
    this.retryOnReconnect = false;
    this.reconnectedDuringRun = false;
    for (const plan of this.plans) {
      const nowMs = Date.now();
      const request: BackfillRequest = {
        marketType: plan.marketType,
        symbols: plan.symbols,
        interval: plan.interval,
        fromMs: nowMs - config.days * 86_400_000,
        toMs: nowMs,
        regularHoursOnly: config.regularHoursOnly,
        client: CONFIGURED_BACKFILL_CLIENT,
        signal: this.controller.signal,
      };
      const what = { marketType: plan.marketType, interval: plan.interval.name, symbols: plan.symbols, days: config.days };
      let loggedAt = -Infinity;
      let started = false;
      try {
        for await (const event of this.adapter.backfill(request)) {
          if (event.kind === "summary") {
            const failed = event.summary.symbols.filter((s) => s.error !== undefined).map((s) => ({ symbol: s.symbol, reason: s.error instanceof Error ? s.error.message : String(s.error) }));
            if (failed.length > 0) this.retryOnReconnect = true;
            this.log[failed.length > 0 ? "warn" : "info"]({ ...what, requestsSent: event.summary.requestsSent, bars: event.summary.barsStored, failed }, failed.length > 0 ? "configured backfill done; some symbols failed (tried again after the next reconnect)" : "configured backfill done");
            continue;
          }
          const p = event.progress;
          const now = Date.now();
          if (started && now - loggedAt < this.logEveryMs) continue;
          loggedAt = now;
          const eta = p.estimatedFinishMs === undefined ? undefined : new Date(p.estimatedFinishMs).toISOString();
          this.log.info({ ...what, requestsDone: p.requestsDone, requestsPlanned: p.requestsPlanned, bars: p.barsStored, estimatedFinish: eta, waitingFor: p.waiting?.reason }, started ? "configured backfill progress" : "configured backfill started");
          started = true;
        }
      } catch (err) {
        if (this.controller.signal.aborted) return;
        this.retryOnReconnect = true;
        this.log.warn({ ...what, err }, "configured backfill failed; tried again after the next reconnect");
      }
      if (this.controller.signal.aborted) return;
    }
  }
}

/** The configured candle subscriptions' symbols, grouped by market and interval (config `backfill.intervals` wins). */
export function backfillPlansOf(provider: ProviderConfig): BackfillPlan[] {
  const ib = provider.ib;
  if (ib?.backfill === undefined) return [];
  const plans = new Map<string, BackfillPlan>();
  for (const sub of ib.subscriptions.filter((s) => s.type === "PROVIDER_MARKETDATA_CANDLE")) {
    for (const symbol of sub.symbols) {
      // Validated at load: the symbol is in exactly one market, or the subscription names its market.
      const marketType = sub.marketType ?? ib.markets.find((m) => m.symbols.some((s) => s.name === symbol))!.marketType;
      for (const name of ib.backfill.intervals ?? sub.intervals ?? []) {
        const interval = parseInterval(name)!;
        const key = `${marketType}/${interval.name}`;
        const plan = plans.get(key) ?? { marketType, interval, symbols: [] };
        if (!plan.symbols.includes(symbol)) plan.symbols.push(symbol);
        plans.set(key, plan);
      }
    }
  }
  return [...plans.values()];
}
