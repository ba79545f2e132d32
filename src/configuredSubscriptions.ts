import type { MarketType, ProviderConfig } from "./config/providerConfig.js";
import { parseInterval } from "./domain/intervals.js";
import type { IbAdapter } from "./ib/ibAdapter.js";
import type { Logger } from "./log/logger.js";

export interface ActivationFailure {
  type: string;
  marketType: MarketType;
  symbol: string;
  reason: string;
}

/**
 * Starts the `active: true` subscriptions of config.provider.json at boot. A symbol IB cannot serve is
 * reported (log + return value) and skipped: the rest of the service keeps running.
 */
export async function startConfiguredSubscriptions(provider: ProviderConfig, adapter: IbAdapter, log: Logger): Promise<ActivationFailure[]> {
  const ib = provider.ib;
  if (ib === undefined) return [];
  const failures: ActivationFailure[] = [];
  for (const sub of ib.subscriptions.filter((s) => s.active)) {
    for (const symbol of sub.symbols) {
      const marketType = sub.marketType ?? ib.markets.find((m) => m.symbols.some((s) => s.name === symbol))!.marketType;
      try {
        if (sub.type === "PROVIDER_MARKETDATA_TRADE") await adapter.activate("trade", marketType, symbol);
        else if (sub.type === "PROVIDER_MARKETDATA_ORDERBOOK") await adapter.activate("orderBook", marketType, symbol);
        else for (const name of sub.intervals ?? []) await adapter.activate("candle", marketType, symbol, parseInterval(name)!);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        failures.push({ type: sub.type, marketType, symbol, reason });
        log.error({ type: sub.type, marketType, symbol, reason }, "configured subscription could not start");
      }
    }
  }
  return failures;
}
