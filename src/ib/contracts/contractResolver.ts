import { EventName, type Contract, type ContractDetails } from "@stoqey/ib";
import type { IbContractOverride } from "../../config/providerConfig.js";
import { parseInstrumentSymbol } from "../../domain/instrumentSymbol.js";
import type { MarketType } from "../../domain/marketType.js";
import { requireConnected } from "../feeds/feedContext.js";
import { IbError } from "../ibErrors.js";
import type { RequestRouter } from "../connection/requestRouter.js";
import { comboOf, deserializeInstrument, serializeInstrument, toResolved, type ResolvedInstrument } from "./resolvedInstrument.js";
import { mapSymbol, type ContractQuery } from "./symbolMapping.js";

export type { ResolvedInstrument } from "./resolvedInstrument.js";

export interface ContractResolverOptions {
  router: RequestRouter;
  send: (reqId: number, contract: Contract) => void;
  override: (marketType: MarketType, symbol: string) => IbContractOverride | undefined;
  timeoutMs?: number;
  now?: () => number;
  isConnected: () => boolean;
  /** Resolved contracts kept across restarts (the store); used for `persistedMaxAgeMs` after they were fetched. */
  persisted?: PersistedContracts;
  persistedMaxAgeMs?: number;
}

/** Where resolved contracts are kept across restarts (the store's ContractStore satisfies it). */
export interface PersistedContracts {
  get(key: string): { details: string; fetchedAtMs: number } | undefined;
  put(key: string, conId: number, details: string, nowMs: number): void;
}

/** A day: contract details change rarely, trading hours cover the next days, futures are checked for expiry. */
export const DEFAULT_PERSISTED_CONTRACT_AGE_MS = 24 * 3_600_000;

/**
 * Resolves symbols via reqContractDetails, cached per (market, symbol) with in-flight requests shared:
 * a hundred streams asking for BTCUSDT cost IB one request. Unknown symbols fail fast with a typed
 * not-found error (IB 200), and a request that IB never answers fails with a timeout, never a hang.
 */
export class ContractResolver {
  private readonly cache = new Map<string, Promise<ResolvedInstrument>>();
  /** Settled resolutions of this process (the cache above holds promises, in flight ones too). */
  private readonly resolved = new Map<string, ResolvedInstrument>();
  private readonly timeoutMs: number;

  constructor(private readonly options: ContractResolverOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument> {
    const upper = symbol.toUpperCase();
    const key = `${marketType}/${upper}`;
    const settled = this.resolved.get(key);
    if (settled !== undefined && settled.lastTradeDate !== "" && settled.lastTradeDate < yyyymmdd(this.now()) && isFrontMonth(marketType, upper)) {
      // A root (ES) means the front month: the day after its last trade date it is the next month, even when no
      // reconnect has cleared what this process resolved (an explicitly named month stays what it was).
      this.cache.delete(key);
      this.resolved.delete(key);
    }
    let pending = this.cache.get(key);
    if (pending === undefined) {
      const kept = this.persisted(key, this.options.persistedMaxAgeMs ?? DEFAULT_PERSISTED_CONTRACT_AGE_MS);
      pending = kept !== undefined ? Promise.resolve(kept) : this.lookup(marketType, upper).then((r) => this.keep(key, r));
      if (kept !== undefined) this.resolved.set(key, kept);
      this.cache.set(key, pending);
      // Failures are not cached: the symbol may be listed later, or the Gateway was just down.
      const attempt = pending;
      pending.catch(() => {
        if (this.cache.get(key) === attempt) this.cache.delete(key);
      });
    }
    return pending;
  }

  /**
   * What is known of a symbol without asking IB: resolved by this process, or kept by the store (of any
   * age: for showing, not for requests). Undefined when neither has it.
   */
  known(marketType: MarketType, symbol: string): ResolvedInstrument | undefined {
    const key = `${marketType}/${symbol.toUpperCase()}`;
    return this.resolved.get(key) ?? this.persisted(key, Infinity);
  }

  /** Forget everything (e.g. after the daily restart, when futures may have rolled). */
  clear(): void {
    this.cache.clear();
    this.resolved.clear();
  }

  private keep(key: string, r: ResolvedInstrument): ResolvedInstrument {
    this.resolved.set(key, r);
    // A combo is not kept: it is rebuilt from its legs' kept records, so a leg that expired is never reused.
    if (r.legs.length === 0) this.options.persisted?.put(key, r.conId, serializeInstrument(r), this.now());
    return r;
  }

  /** A kept contract fetched less than maxAgeMs ago; never a future that has expired since. */
  private persisted(key: string, maxAgeMs: number): ResolvedInstrument | undefined {
    let kept: { details: string; fetchedAtMs: number } | undefined;
    try {
      kept = this.options.persisted?.get(key);
    } catch {
      return undefined; // a store that cannot be read (I/O error, closed) holds nothing: IB is asked
    }
    if (kept === undefined || this.now() - kept.fetchedAtMs >= maxAgeMs) return undefined;
    let r: ResolvedInstrument;
    try {
      r = deserializeInstrument(kept.details);
    } catch {
      return undefined; // written by another version: ask IB again
    }
    const today = yyyymmdd(this.now());
    if ((r.lastTradeDate !== "" && r.lastTradeDate < today) || (r.expiry !== "" && r.expiry < today)) return undefined;
    return r;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private async lookup(marketType: MarketType, symbol: string): Promise<ResolvedInstrument> {
    const mapped = mapSymbol(marketType, symbol, this.options.override(marketType, symbol), this.now());
    if ("error" in mapped) throw new IbError("not-found", mapped.error);
    if (mapped.legs !== undefined) {
      // IB has no contract details for a BAG: each leg is resolved (and cached) as a symbol of its own.
      const legs = await Promise.all(mapped.legs.map(async (l) => ({ instrument: await this.resolve(marketType, l.symbol), ratio: l.ratio })));
      return comboOf(marketType, symbol, mapped, legs);
    }
    const details = await this.contractDetails(mapped.contract);
    const chosen = this.choose(details, mapped, symbol);
    return toResolved(marketType, symbol, mapped, chosen);
  }

  private choose(details: ContractDetails[], mapped: ContractQuery, symbol: string): ContractDetails {
    if (details.length === 0) throw new IbError("not-found", `no IB contract for ${symbol}`, 200);
    if (mapped.pickFrontMonth) {
      const today = yyyymmdd(this.now());
      const live = details
        .filter((d) => (d.contract.lastTradeDateOrContractMonth ?? "").slice(0, 8) >= today)
        .sort((a, b) => (a.contract.lastTradeDateOrContractMonth ?? "").localeCompare(b.contract.lastTradeDateOrContractMonth ?? ""));
      if (live[0] !== undefined) return live[0];
      throw new IbError("not-found", `no unexpired ${mapped.contract.symbol} futures contract`, 200);
    }
    if (mapped.futureMonth !== undefined && details.length > 1) {
      // Options of one month's class may sit on several futures (serials): the one on the future named.
      const onFuture = details.filter((d) => d.contractMonth === mapped.futureMonth);
      if (onFuture.length === 1) return onFuture[0]!;
    }
    if (details.length > 1) {
      const candidates = details.map((d) => `${d.contract.symbol} ${d.contract.secType} ${d.contract.primaryExch ?? d.contract.exchange} ${d.contract.currency} (conId ${d.contract.conId})`);
      throw new IbError("not-found", `${symbol} is ambiguous at IB: ${candidates.join("; ")}. Set "ib": {"primaryExch" or "conId"} for it in config.provider.json`, 200);
    }
    return details[0]!;
  }

  /** Every contract IB lists for a query (e.g. all months of a futures root), as sent: nothing cached. */
  contractDetails(contract: Contract): Promise<ContractDetails[]> {
    const what = `contract details for ${describe(contract)}`;
    requireConnected(this.options, what);
    const found: ContractDetails[] = [];
    return this.options.router.request({
      what,
      timeoutMs: this.timeoutMs,
      listen: (reqId, end) => {
        this.options.router.on(EventName.contractDetails, reqId, (d: ContractDetails) => found.push(d));
        // IB answers a bond query with BOND_CONTRACT_DATA (18), its own event, and the same end marker.
        this.options.router.on(EventName.bondContractDetails, reqId, (d: ContractDetails) => found.push(d));
        this.options.router.on(EventName.contractDetailsEnd, reqId, end);
      },
      result: () => found,
      send: (reqId) => this.options.send(reqId, contract),
      mapError: (code, message, cls) =>
        cls.kind === "not-found" ? new IbError("not-found", `IB has no contract for ${describe(contract)} (${message})`, code) : new IbError(cls.kind, message, code),
    });
  }
}

/** A bare futures root: resolved to whichever month is the front one today. */
function isFrontMonth(marketType: MarketType, symbol: string): boolean {
  const parsed = parseInstrumentSymbol(marketType, symbol);
  return !("error" in parsed) && parsed.spec.assetClass === "future" && parsed.spec.expiry === undefined && parsed.spec.localSymbol === undefined;
}

function yyyymmdd(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, "");
}

function describe(c: Contract): string {
  return [c.symbol, c.secType, c.exchange, c.currency, c.lastTradeDateOrContractMonth, c.localSymbol].filter((x) => x !== undefined && x !== "").join(" ");
}
