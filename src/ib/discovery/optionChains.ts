import { EventName } from "@stoqey/ib";
import { decimalFromIb, toWire } from "../../domain/decimal.js";
import type { MarketType } from "../../domain/marketType.js";
import { parseInstrumentSymbol } from "../../domain/instrumentSymbol.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { requireConnected, type FeedContext } from "../feeds/feedContext.js";
import { IbError } from "../ibErrors.js";

/** One row of IB's option parameters (reqSecDefOptParams): an exchange and trading class of the chain. */
export interface OptionChainRow {
  exchange: string;
  tradingClass: string;
  multiplier: string;
  /** YYYYMMDD ascending. */
  expirations: string[];
  /** Decimal text, numeric ascending. */
  strikes: string[];
}

export interface OptionChain {
  underlying: ResolvedInstrument;
  rows: OptionChainRow[];
  fetchedAtMs: number;
}

export interface OptionChainsOptions {
  resolve: (marketType: MarketType, symbol: string) => Promise<ResolvedInstrument>;
  /** How long a chain is reused (IB lists new expirations and strikes a few times a day). */
  cacheMs?: number;
  timeoutMs?: number;
}

/** Classes IB lists options on: stocks and ETFs, indices, futures. */
const UNDERLYING_SECTYPES = ["STK", "IND", "FUT"];

/**
 * Option chains (expirations and strikes per exchange and trading class) of an underlying, from IB's
 * reqSecDefOptParams: cached per underlying for 15 minutes, one request in flight shared by every caller.
 */
export class OptionChains {
  private readonly cache = new Map<string, { atMs: number; chain: Promise<OptionChain> }>();
  private readonly cacheMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly ctx: FeedContext,
    private readonly options: OptionChainsOptions,
  ) {
    this.cacheMs = options.cacheMs ?? 15 * 60_000;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Chains kept (tests read it to see expired ones forgotten). */
  get size(): number {
    return this.cache.size;
  }

  chain(marketType: MarketType, underlyingSymbol: string): Promise<OptionChain> {
    const parsed = parseInstrumentSymbol(marketType, underlyingSymbol);
    // From the syntax first: an option's options, a bond's or a combo's are refused before any IB request.
    if (!("error" in parsed) && !["stock", "index", "future"].includes(parsed.spec.assetClass)) return Promise.reject(notAnUnderlying(parsed.text, parsed.spec.assetClass));
    const key = `${marketType}/${"error" in parsed ? underlyingSymbol.trim().toUpperCase() : parsed.text}`;
    const nowMs = this.ctx.now();
    // Expired chains are forgotten, not only replaced when asked again: a client scanning thousands of
    // underlyings would otherwise keep every chain (SPX's: tens of thousands of strikes) for the process's life.
    for (const [k, entry] of this.cache) if (nowMs - entry.atMs >= this.cacheMs) this.cache.delete(k);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached.chain;
    const chain = this.fetch(marketType, underlyingSymbol);
    this.cache.set(key, { atMs: nowMs, chain });
    chain.catch(() => {
      if (this.cache.get(key)?.chain === chain) this.cache.delete(key);
    });
    return chain;
  }

  private async fetch(marketType: MarketType, symbol: string): Promise<OptionChain> {
    const underlying = await this.options.resolve(marketType, symbol);
    // A config override may map a symbol to another class than its syntax says: checked on IB's answer too.
    if (!UNDERLYING_SECTYPES.includes(underlying.secType)) throw notAnUnderlying(underlying.symbol, underlying.assetClass);
    const what = `the option chain of ${underlying.symbol}`;
    requireConnected(this.ctx, what);
    const rows: OptionChainRow[] = [];
    await this.ctx.router.request({
      what,
      timeoutMs: this.timeoutMs,
      listen: (reqId, end) => {
        this.ctx.router.on(EventName.securityDefinitionOptionParameter, reqId, (exchange: string, _underlyingConId: number, tradingClass: string, multiplier: string, expirations: string[], strikes: number[]) =>
          rows.push(toRow(exchange, tradingClass, multiplier, expirations, strikes)),
        );
        this.ctx.router.on(EventName.securityDefinitionOptionParameterEnd, reqId, end);
      },
      result: () => rows,
      send: (reqId) => {
        const contract = underlying.requestContract;
        // IB wants the IB symbol (BRK B), the future's exchange for options on futures, "" otherwise.
        const futFopExchange = underlying.secType === "FUT" ? underlying.exchange : "";
        this.ctx.api.reqSecDefOptParams(reqId, String(contract.symbol ?? underlying.baseAsset), futFopExchange, underlying.secType, underlying.conId);
      },
    });
    if (rows.length === 0) throw new IbError("not-found", `IB lists no options on ${underlying.symbol}`);
    return { underlying, rows, fetchedAtMs: this.ctx.now() };
  }
}

function notAnUnderlying(symbol: string, assetClass: string): IbError {
  return new IbError("invalid", `${symbol} is a ${assetClass}: IB lists option chains on stocks and ETFs, indices and futures only`, undefined, "not-offered-for-class");
}

function toRow(exchange: string, tradingClass: string, multiplier: string, expirations: Iterable<string>, strikes: Iterable<number>): OptionChainRow {
  // @stoqey/ib may hand sets or arrays; expirations are YYYYMMDD so text order is date order.
  const sortedStrikes = [...new Set([...strikes])].sort((a, b) => a - b).map((s) => toWire(decimalFromIb(s))).filter((s) => s !== "");
  return { exchange, tradingClass, multiplier: String(multiplier), expirations: [...new Set([...expirations])].sort(), strikes: sortedStrikes };
}
