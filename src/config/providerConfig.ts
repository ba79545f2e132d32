import { MAX_SYMBOL_LENGTH, parseInstrumentSymbol } from "../domain/instrumentSymbol.js";
import { z } from "zod";
import { describeAcceptedIntervals, parseInterval } from "../domain/intervals.js";
import { MARKET_TYPES } from "../domain/marketType.js";

/**
 * config/config.provider.json in the Barfinex shape: provider → connectors → markets → symbols, plus
 * subscriptions. The object may also be written without the outer "provider" key (as Barfinex's own
 * files are). Objects inside the ib connector are strict: a typo such as "activ" is an error, not a
 * silently ignored key.
 */

export const SUBSCRIPTION_TYPES = [
  "PROVIDER_MARKETDATA_CANDLE",
  "PROVIDER_MARKETDATA_TRADE",
  "PROVIDER_MARKETDATA_ORDERBOOK",
] as const;
export type SubscriptionType = (typeof SUBSCRIPTION_TYPES)[number];

/** Optional explicit IB contract for a symbol: overrides the built-in mapping (e.g. primary exchange). */
const ibContractOverride = z.strictObject({
  conId: z.number().int().positive().optional(),
  symbol: z.string().min(1).optional(),
  secType: z.enum(["STK", "CRYPTO", "FUT", "CASH", "IND", "CFD"]).optional(),
  exchange: z.string().min(1).optional(),
  primaryExch: z.string().min(1).optional(),
  currency: z.string().length(3).optional(),
  lastTradeDateOrContractMonth: z.string().regex(/^\d{6}(\d{2})?$/, "expected YYYYMM or YYYYMMDD").optional(),
  localSymbol: z.string().min(1).optional(),
});
export type IbContractOverride = z.infer<typeof ibContractOverride>;

const symbolName = z
  .string()
  .min(1, "expected a non-empty symbol")
  .max(MAX_SYMBOL_LENGTH, `expected at most ${MAX_SYMBOL_LENGTH} characters`)
  .regex(/^[A-Za-z0-9._\-/:*,+ ]+$/, "expected letters, digits and . _ - / : * , + or spaces only (docs/instruments.md)");

const symbolEntry = z.strictObject({
  name: symbolName,
  ib: ibContractOverride.optional(),
});

const market = z
  .strictObject({
    marketType: z.enum(MARKET_TYPES),
    symbols: z.array(symbolEntry).default([]),
  })
  .superRefine((m, ctx) => {
    // The symbol syntax of the market (docs/instruments.md): a typo stops start-up instead of failing at IB.
    m.symbols.forEach((s, i) => {
      const parsed = parseInstrumentSymbol(m.marketType, s.name);
      if ("error" in parsed) ctx.addIssue({ code: "custom", path: ["symbols", i, "name"], message: parsed.error });
    });
  });

const intervalName = z.string().refine((s) => parseInterval(s) !== undefined, {
  message: `unknown interval; expected one of ${describeAcceptedIntervals()}`,
});

const subscription = z.strictObject({
  type: z.enum(SUBSCRIPTION_TYPES),
  symbols: z.array(symbolName).min(1, "expected at least one symbol"),
  intervals: z.array(intervalName).optional(),
  active: z.boolean().default(false),
  /** Which market the symbols belong to; inferred from the markets list when unambiguous. */
  marketType: z.enum(MARKET_TYPES).optional(),
});

/**
 * Backfill of the configured candle subscriptions at start-up (docs/store.md): their symbols and intervals
 * (or `intervals`), the last `days` days, into the store, in the background within IB's pacing.
 */
const backfill = z.strictObject({
  days: z.number().int().min(1).max(36_500),
  intervals: z.array(intervalName).min(1, "expected at least one interval, or no intervals key (the subscriptions' own)").optional(),
  regularHoursOnly: z.boolean().default(true),
});

const ibConnector = z
  .strictObject({
    connectorType: z.literal("ib"),
    enabled: z.boolean().default(true),
    markets: z.array(market).default([]),
    subscriptions: z.array(subscription).default([]),
    backfill: backfill.optional(),
  })
  .superRefine((connector, ctx) => {
    if (connector.backfill !== undefined && !connector.subscriptions.some((s) => s.type === "PROVIDER_MARKETDATA_CANDLE")) {
      ctx.addIssue({ code: "custom", path: ["backfill"], message: "backfills the symbols of the PROVIDER_MARKETDATA_CANDLE subscriptions, and there are none" });
    }
    connector.subscriptions.forEach((sub, i) => {
      if (sub.type === "PROVIDER_MARKETDATA_CANDLE" && (sub.intervals === undefined || sub.intervals.length === 0)) {
        ctx.addIssue({ code: "custom", path: ["subscriptions", i, "intervals"], message: "candle subscriptions need at least one interval" });
      }
      if (sub.type !== "PROVIDER_MARKETDATA_CANDLE" && sub.intervals !== undefined) {
        ctx.addIssue({ code: "custom", path: ["subscriptions", i, "intervals"], message: `intervals apply only to PROVIDER_MARKETDATA_CANDLE, not ${sub.type}` });
      }
      sub.symbols.forEach((name, j) => {
        const markets = connector.markets.filter(
          (m) => (sub.marketType === undefined || m.marketType === sub.marketType) && m.symbols.some((s) => s.name === name),
        );
        if (markets.length === 0) {
          ctx.addIssue({
            code: "custom",
            path: ["subscriptions", i, "symbols", j],
            message: `symbol ${JSON.stringify(name)} is not listed in any${sub.marketType ? ` ${sub.marketType}` : ""} market's symbols`,
          });
        } else if (markets.length > 1 && sub.marketType === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["subscriptions", i, "marketType"],
            message: `symbol ${JSON.stringify(name)} is in several markets (${markets.map((m) => m.marketType).join(", ")}): set marketType`,
          });
        }
      });
    });
  });

const provider = z.looseObject({
  apiToken: z.string().optional(),
  /** Each connector is validated by its own schema (see loadProviderConfig): ib strictly, others not at all. */
  connectors: z.array(z.looseObject({ connectorType: z.string().min(1, "expected a connector type such as \"ib\"") })).default([]),
});

export const providerSchema = provider;
export const ibConnectorSchema = ibConnector;

export type IbConnectorConfig = z.infer<typeof ibConnector>;
export type SubscriptionConfig = z.infer<typeof subscription>;
export type MarketConfig = z.infer<typeof market>;
export type BackfillConfig = z.infer<typeof backfill>;

export interface ProviderConfig {
  apiToken: string | undefined;
  /** The enabled ib connector, or undefined when the file has none (the service then serves no symbols). */
  ib: IbConnectorConfig | undefined;
  /** connectorType values present in the file but not served by this connector. */
  ignoredConnectors: string[];
}
