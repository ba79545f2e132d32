import { EventName, type ContractDescription } from "@stoqey/ib";
import type { AssetClass } from "../../domain/instrumentSymbol.js";
import { assetClassOfSecType } from "../contracts/resolvedInstrument.js";
import { requireConnected, type FeedContext } from "../feeds/feedContext.js";
import { IbError } from "../ibErrors.js";

/** One instrument IB's symbol search (reqMatchingSymbols) found. */
export interface SymbolMatch {
  conId: number;
  symbol: string;
  secType: string;
  /** undefined for security types we do not serve (CFD, WAR, ...). */
  assetClass: AssetClass | undefined;
  primaryExchange: string;
  currency: string;
  /** What IB lists on it (OPT, FUT, WAR, ...). */
  derivativeSecTypes: string[];
  description: string;
}

export interface SymbolSearchOptions {
  /** IB allows about one reqMatchingSymbols per second (more are answered late or not at all). */
  spacingMs?: number;
  /** How long an answer is reused for the same pattern. */
  cacheMs?: number;
  timeoutMs?: number;
}

/**
 * IB's symbol search. Requests go one at a time through a queue, at least `spacingMs` (1 s) apart, because IB
 * paces reqMatchingSymbols at about one per second; answers are cached per pattern for 60 s and a pattern
 * already asked (or queued) shares that request.
 */
export class SymbolSearch {
  private readonly cache = new Map<string, { atMs: number; answer: Promise<SymbolMatch[]> }>();
  /** The queue: each request starts when the previous one was sent `spacingMs` ago. */
  private tail: Promise<void> = Promise.resolve();
  private lastSentMs = -Infinity;
  private readonly spacingMs: number;
  private readonly cacheMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly ctx: FeedContext,
    options: SymbolSearchOptions = {},
  ) {
    this.spacingMs = options.spacingMs ?? 1_000;
    this.cacheMs = options.cacheMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  search(pattern: string, signal?: AbortSignal): Promise<SymbolMatch[]> {
    const key = pattern.trim().toUpperCase();
    if (key === "") return Promise.reject(new IbError("invalid", "a symbol search needs a pattern of at least one character"));
    const nowMs = this.ctx.now();
    const cached = this.cache.get(key);
    if (cached !== undefined && nowMs - cached.atMs < this.cacheMs) return withSignal(cached.answer, signal);
    if (!this.ctx.isConnected()) return Promise.reject(new IbError("unavailable", `not connected to the Gateway (reconnecting): cannot search for ${JSON.stringify(key)} now`));
    const answer = this.enqueue(key);
    this.cache.set(key, { atMs: nowMs, answer });
    // A failure is not kept: the next search asks again.
    answer.catch(() => {
      if (this.cache.get(key)?.answer === answer) this.cache.delete(key);
    });
    return withSignal(answer, signal);
  }

  private enqueue(pattern: string): Promise<SymbolMatch[]> {
    const turn = this.tail.then(() => this.spaced());
    const answer = turn.then(() => this.ask(pattern));
    this.tail = answer.then(
      () => undefined,
      () => undefined,
    );
    return answer;
  }

  private spaced(): Promise<void> {
    const waitMs = this.lastSentMs + this.spacingMs - Date.now();
    return waitMs <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, waitMs));
  }

  private ask(pattern: string): Promise<SymbolMatch[]> {
    const what = `a symbol search for ${JSON.stringify(pattern)}`;
    requireConnected(this.ctx, what);
    let found: SymbolMatch[] = [];
    return this.ctx.router.request({
      what,
      timeoutMs: this.timeoutMs,
      listen: (reqId, end) =>
        this.ctx.router.on(EventName.symbolSamples, reqId, (descriptions: ContractDescription[]) => {
          found = descriptions.map(toMatch);
          end();
        }),
      result: () => found,
      send: (reqId) => {
        this.lastSentMs = Date.now();
        this.ctx.api.reqMatchingSymbols(reqId, pattern);
      },
    });
  }
}

function toMatch(d: ContractDescription): SymbolMatch {
  const c = d.contract ?? {};
  const secType = String(c.secType ?? "");
  return {
    conId: c.conId ?? 0,
    symbol: c.symbol ?? "",
    secType,
    assetClass: assetClassOfSecType(secType),
    primaryExchange: c.primaryExch ?? "",
    currency: c.currency ?? "",
    derivativeSecTypes: (d.derivativeSecTypes ?? []).map(String),
    description: c.description ?? "",
  };
}

/** The shared answer, or a cancellation for this caller only (others sharing the request still get it). */
function withSignal<T>(answer: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return answer;
  if (signal.aborted) return Promise.reject(new IbError("cancelled", "the symbol search was cancelled"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new IbError("cancelled", "the symbol search was cancelled"));
    signal.addEventListener("abort", onAbort, { once: true });
    answer.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
