/** Options of the simulated Gateway, with defaults. */
import type { Logger } from "pino";
import type { AccountConfig } from "./account.js";
import { DEFAULT_ACCOUNTS } from "./account.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import type { Entitlement, Market } from "./market/types.js";
import { SERVER_VERSION } from "./messages/ids.js";

/** The market seed when none is given: the same for the CLI, startSimulator and the service (SIMULATOR_SEED). */
export const DEFAULT_SEED = 42;

export interface SimulatorOptions {
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** 0 = ephemeral. Default 4002 for the CLI, 0 for startSimulator. */
  port?: number;
  /** Market seed (same seed → same trades, quotes, bars). Default DEFAULT_SEED (42, as the service's SIMULATOR_SEED). */
  seed?: number;
  /** Simulated clock, epoch ms. Default Date.now. */
  now?: () => number;
  /** The market model; default: createMarket({ seed, now }) from ./market. */
  market?: Market;
  /** L1 conflation interval and pump cadence of every stream (IB: ~250 ms stocks). Default 250. */
  tickIntervalMs?: number;
  /** Cadence of tick-by-tick streams (each model trade goes out within this of its time). Default 25. */
  tickByTickIntervalMs?: number;
  /** Write L1 ticks (and tick-by-tick trades) as fast as the socket accepts (throughput benchmark). */
  flood?: boolean;
  /** Flood at most this many frames per second per session (latency at a given load); default unbounded. */
  floodRatePerSec?: number;
  /**
   * Flood frames carry their send time as the size: wall-clock microseconds (performance.timeOrigin +
   * performance.now()), so a receiver on this machine can measure latency from the Gateway's send.
   */
  floodStampSizes?: boolean;
  /** Accounts (ids, cash, positions). Strings = ids with no positions. */
  accounts?: (AccountConfig | string)[];
  /** Per-symbol entitlement overrides (e.g. { AAPL: "delayed-only" }). */
  entitlements?: Record<string, Entitlement>;
  /**
   * The account has option market data (OPRA, CME options). Default true; false answers reqMktData on an
   * OPT/FOP (or a combo with an option leg) with 354, as IB does without the subscription.
   */
  optionDataPermission?: boolean;
  limits?: Partial<Limits>;
  /** Highest server version offered (≤ 176 keeps the layouts this simulator implements). */
  maxServerVersion?: number;
  /** Delay of delayed market data. Default 15 min. */
  delayedMs?: number;
  /**
   * A closed market looks closed: quotes, sizes and depth frozen at the last trading instant, as IB's data.
   * Default false for startSimulator (tests of streams at any hour need a book that moves; stocks are
   * closed ~60% of a week); the CLI turns it on (`--live-when-closed` turns it off).
   */
  frozenWhenClosed?: boolean;
  /** Latency before a historical request is answered (makes open-request limits observable). Default 0. */
  historicalLatencyMs?: number;
  /** Account summary / account updates refresh cadence (IB: 3 min). Default 180000. */
  accountRefreshMs?: number;
  /** PnL update cadence (IB: ~1 s). Default 1000. */
  pnlIntervalMs?: number;
  /** Ticks per flood batch per subscription. Default 256. */
  floodBatch?: number;
  logger?: Logger;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  seed: number;
  now: () => number;
  tickIntervalMs: number;
  tickByTickIntervalMs: number;
  flood: boolean;
  floodRatePerSec: number | undefined;
  floodStampSizes: boolean;
  accounts: AccountConfig[];
  entitlements: Record<string, Entitlement>;
  optionDataPermission: boolean;
  limits: Limits;
  maxServerVersion: number;
  delayedMs: number;
  frozenWhenClosed: boolean;
  historicalLatencyMs: number;
  accountRefreshMs: number;
  pnlIntervalMs: number;
  floodBatch: number;
  logger: Logger | undefined;
}

export function resolveOptions(o: SimulatorOptions): ResolvedOptions {
  const accounts = (o.accounts ?? DEFAULT_ACCOUNTS).map((a) => (typeof a === "string" ? { id: a } : a));
  return {
    host: o.host ?? "127.0.0.1",
    port: o.port ?? 0,
    seed: o.seed ?? DEFAULT_SEED,
    now: o.now ?? Date.now,
    tickIntervalMs: Math.max(1, o.tickIntervalMs ?? 250),
    tickByTickIntervalMs: Math.max(1, o.tickByTickIntervalMs ?? Math.min(25, o.tickIntervalMs ?? 25)),
    flood: o.flood ?? false,
    floodRatePerSec: o.floodRatePerSec,
    floodStampSizes: o.floodStampSizes ?? false,
    accounts: accounts.length > 0 ? accounts : DEFAULT_ACCOUNTS,
    entitlements: o.entitlements ?? {},
    optionDataPermission: o.optionDataPermission ?? true,
    limits: { ...DEFAULT_LIMITS, ...(o.limits ?? {}) },
    maxServerVersion: Math.min(o.maxServerVersion ?? SERVER_VERSION, SERVER_VERSION),
    delayedMs: o.delayedMs ?? 15 * 60_000,
    frozenWhenClosed: o.frozenWhenClosed ?? false,
    historicalLatencyMs: o.historicalLatencyMs ?? 0,
    accountRefreshMs: o.accountRefreshMs ?? 180_000,
    pnlIntervalMs: o.pnlIntervalMs ?? 1000,
    floodBatch: o.floodBatch ?? 256,
    logger: o.logger,
  };
}
