import { z } from "zod";
import { DURATION_FORMAT, parseDuration } from "./duration.js";
import { DEFAULT_STORE_PATH } from "../store/storeSettings.js";
import { DEFAULT_STREAM_SETTINGS } from "../stream/streamSettings.js";

/** Relative to the working directory; the only provider file that may be absent (the service then serves no symbols). */
export const DEFAULT_PROVIDER_CONFIG_FILE = "config/config.provider.json";

/** The environment variables ib-provider reads (documented in .env.example). Empty strings count as unset. */
const port = z.coerce.number().int("expected an integer port").min(0).max(65535, "expected a port 0-65535");
const optionalText = z.string().min(1).optional();
/** A duration ("24h", "90m", "7d", "0") in milliseconds; unset = the default. */
const optionalDuration = z
  .string()
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `expected ${DURATION_FORMAT}` });
      return z.NEVER;
    }
    return ms;
  })
  .optional();

export const envSchema = z.object({
  IB_GATEWAY_URL: optionalText,
  IB_ACCOUNT_ID: optionalText,
  IB_CLIENT_ID: z.coerce.number().int("expected an integer client id").min(0).max(2_147_483_647).default(0),
  /**
   * IB market data type requested at every (re)connect. "delayed" (IB type 3) means: live data where the
   * account is entitled, delayed data (15-20 min) elsewhere instead of an error. Streams report which.
   */
  IB_MARKET_DATA_TYPE: z.enum(["live", "frozen", "delayed", "delayed-frozen"]).default("delayed"),
  PROVIDER_API_TOKEN: optionalText,
  /** The token of the `trade` client: every scope, OrderService's `trade` included (PROVIDER_API_TOKEN's has all but `trade`). */
  PROVIDER_TRADE_TOKEN: optionalText,
  /** The orders' safety rails (docs/orders.md), read by parseOrderRailSettings: off / refused / any unless set. */
  ORDERS_ENABLED: optionalText,
  ORDERS_ALLOW_LIVE: optionalText,
  ORDERS_ALLOWED_TYPES: optionalText,
  ORDERS_ALLOWED_SYMBOLS: optionalText,
  ORDERS_MAX_QUANTITY: optionalText,
  ORDERS_MAX_NOTIONAL: optionalText,
  /** Named clients: a JSON file of names, token SHA-256 digests and quotas (docs/configuration.md). */
  PROVIDER_CLIENTS_FILE: optionalText,
  PROVIDER_CONFIG_FILE: z.string().min(1).default(DEFAULT_PROVIDER_CONFIG_FILE),
  GRPC_HOST: z.string().min(1).default("127.0.0.1"),
  GRPC_PORT: port.default(50051),
  REST_HOST: z.string().min(1).default("127.0.0.1"),
  REST_PORT: port.default(8081),
  /** PEM certificate (chain) and key: gRPC and REST both serve TLS when set. */
  PROVIDER_TLS_CERT: optionalText,
  PROVIDER_TLS_KEY: optionalText,
  /** Older names of PROVIDER_TLS_CERT / PROVIDER_TLS_KEY, still accepted. */
  TLS_CERT_FILE: optionalText,
  TLS_KEY_FILE: optionalText,
  /** Origins allowed to call the REST bridge from a browser: comma-separated, "*" for any; unset = none. */
  REST_CORS_ORIGINS: optionalText,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * The access log (one line per gRPC and REST call: client, method, status, duration, bytes; never a
   * token or an account id) at info when on; at debug otherwise.
   */
  ACCESS_LOG: z.enum(["on", "off", "true", "false", "1", "0"]).default("off").transform((v) => v === "on" || v === "true" || v === "1"),
  /** auto: readable lines when stdout is a terminal, JSON otherwise (a file, a pipe, a log collector). */
  LOG_FORMAT: z.enum(["auto", "pretty", "json"]).default("auto"),
  /** Simulated Gateway (used only when IB_GATEWAY_URL is unset). */
  SIMULATOR_PORT: port.default(0),
  SIMULATOR_SEED: z.coerce.number().int("expected an integer seed").default(42),
  /**
   * Simulated markets outside their hours: "frozen" (quotes, sizes and depth stay at the last trading instant,
   * as IB's data does; crypto trades 24/7, FX 24/5) or "live" (they keep moving: tests and demos at any hour).
   */
  SIMULATOR_CLOSED_MARKETS: z.enum(["frozen", "live"]).default("frozen"),
  /**
   * Data events queued per streaming client before its stream's overflow policy applies (L1 conflates,
   * depth and account resnapshot, trades and candles end RESOURCE_EXHAUSTED): bounds memory per client.
   */
  STREAM_BUFFER_EVENTS: z.coerce.number().int().min(10).max(1_000_000).default(DEFAULT_STREAM_SETTINGS.maxQueued),
  /** Heartbeat on a stream with nothing to send for this long. */
  STREAM_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_STREAM_SETTINGS.heartbeatMs),
  /**
   * The market-data store (SQLite): history fetched from IB once is served from it after, across restarts.
   * Relative to the working directory; ":memory:" keeps nothing (throwaway runs).
   */
  STORE_PATH: z.string().min(1).default(DEFAULT_STORE_PATH),
  /**
   * How long each kind of feed's recorded events are kept ("24h", "90m", "7d"; "0" = forever): how far in the
   * past a stream may start. Unset = DEFAULT_STORE_SETTINGS.retention (ticks 24h, trades 24h, depth 1h,
   * candles forever, account 7d, order events 30d).
   */
  STORE_RETENTION_TICKS: optionalDuration,
  STORE_RETENTION_TRADES: optionalDuration,
  STORE_RETENTION_DEPTH: optionalDuration,
  STORE_RETENTION_CANDLES: optionalDuration,
  STORE_RETENTION_ACCOUNT: optionalDuration,
  STORE_RETENTION_ORDERS: optionalDuration,
  /**
   * An operator switch: "off" records nothing (no stream can start in the past: FAILED_PRECONDITION
   * REPLAY_UNAVAILABLE). Unset = DEFAULT_STORE_SETTINGS.recording (on).
   */
  STORE_RECORDING: z
    .enum(["on", "off", "true", "false", "1", "0"])
    .transform((v) => v === "on" || v === "true" || v === "1")
    .optional(),
  /**
   * Percent of each kind of IB line (market data, depth, tick-by-tick) kept for clients holding less than
   * their fair share (the kind's limit / the number of clients), at least one line; 0 = no reserve.
   */
  IB_LINES_RESERVE_PERCENT: z.coerce.number().int("expected an integer percent").min(0).max(50, "expected 0-50").default(10),
  /**
   * Units of IB's historical budget (60 per 10 minutes) no single client may take while another client has
   * history requests queued (HistoricalPacingRules.clientReserve; unset = its default, 10).
   */
  HISTORY_CLIENT_RESERVE: z.coerce.number().int("expected an integer").min(0).max(50, "expected 0-50").optional(),
  /**
   * The bus (NATS JetStream): set, the service runs as the provider role and publishes every shared feed's
   * events there (docs/deploy.md); it must reach the bus at start-up. Unset: nothing of the bus is loaded.
   */
  BUS_URL: optionalText,
  /** The subjects' first token and the JetStream streams' name prefix (unset: DEFAULT_BUS_SETTINGS.subjectPrefix). */
  BUS_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "expected letters, digits, _ or - (one NATS subject token)")
    .optional(),
  /** How long each kind's JetStream stream keeps events, as STORE_RETENTION_* (unset: DEFAULT_BUS_SETTINGS.retention). */
  BUS_RETENTION_TICKS: optionalDuration,
  BUS_RETENTION_TRADES: optionalDuration,
  BUS_RETENTION_DEPTH: optionalDuration,
  BUS_RETENTION_CANDLES: optionalDuration,
  BUS_RETENTION_ACCOUNT: optionalDuration,
  /** Each stream's size cap in bytes (0 = none; unset: DEFAULT_BUS_SETTINGS.streamMaxBytes). */
  BUS_STREAM_MAX_BYTES: z.coerce.number().int("expected a whole number of bytes").min(0).optional(),
  /** How often (ms) the provider hands what its feeds recorded to the bus (and the store): its latency (unset: DEFAULT_BUS_SETTINGS.flushEveryMs). */
  BUS_FLUSH_MS: z.coerce.number().int("expected whole milliseconds").min(1).max(1_000).optional(),
  /** How long the leader lease outlives its provider's last renewal: a standby's takeover time (unset: DEFAULT_BUS_SETTINGS.leaderTtlMs). */
  BUS_LEADER_TTL_MS: z.coerce.number().int("expected whole milliseconds").min(1_000).max(300_000).optional(),
  /** Copies JetStream keeps of each stream and of the leader lease, at most the cluster's servers (unset: DEFAULT_BUS_SETTINGS.replicas). */
  BUS_REPLICAS: z.coerce.number().int("expected a whole number of replicas").min(1, "expected 1-5").max(5, "expected 1-5").optional(),
  /** Events waiting to be published before the oldest are shed (unset: DEFAULT_BUS_SETTINGS.maxQueued). */
  BUS_QUEUE_EVENTS: z.coerce.number().int("expected an integer").min(1_000).max(10_000_000).optional(),
  /** How long shutdown waits for calls to finish before cancelling them. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
});

export type EnvConfig = z.infer<typeof envSchema>;

/** Drops empty values so that `IB_GATEWAY_URL=` in a .env file means "unset", as it reads. */
export function nonEmptyEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== "") out[k] = v.trim();
  return out;
}
