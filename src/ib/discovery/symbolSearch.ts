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

/** A pattern's answer (pending or kept), and how many callers still wait for it. */
interface SearchEntry {
  /** When the answer came (when it was asked, while pending): the cache's age. */
  atMs: number;
  answer: Promise<SymbolMatch[]>;
  /** Callers not cancelled (a caller without a signal never leaves). */
  waiters: number;
  settled: boolean;
}

/**
 * IB's symbol search. Requests go one at a time through a queue, at least `spacingMs` (1 s) apart, because IB
 * paces reqMatchingSymbols at about one per second; answers are cached per pattern for 60 s and a pattern
 * already asked (or queued) shares that request. A queued pattern whose callers have all cancelled (a
 * search-as-you-type client: "a", "ap", "app", …) is never sent: it would hold the queue a second each.
 */
export class SymbolSearch {
  private readonly cache = new Map<string, SearchEntry>();
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
    this.dropExpired(nowMs);
    const cached = this.cache.get(key);
    if (cached !== undefined) return join(cached, signal);
    if (!this.ctx.isConnected()) return Promise.reject(new IbError("unavailable", `not connected to the Gateway (reconnecting): cannot search for ${JSON.stringify(key)} now`));
    const entry: SearchEntry = { atMs: nowMs, answer: Promise.resolve([]), waiters: 0, settled: false };
    entry.answer = this.enqueue(key, entry);
    this.cache.set(key, entry);
    entry.answer.then(
      () => {
        entry.settled = true;
        entry.atMs = this.ctx.now();
      },
      // A failure is not kept: the next search asks again.
      () => {
        entry.settled = true;
        if (this.cache.get(key) === entry) this.cache.delete(key);
      },
    );
    return join(entry, signal);
  }

  /** Answers older than the cache's age are forgotten (not only replaced when asked again). */
  private dropExpired(nowMs: number): void {
    for (const [key, entry] of this.cache) if (entry.settled && nowMs - entry.atMs >= this.cacheMs) this.cache.delete(key);
  }

  private enqueue(pattern: string, entry: SearchEntry): Promise<SymbolMatch[]> {
    // Forgotten at once, so that a caller arriving now queues a request of its own instead of sharing a cancellation.
    const abandoned = () => {
      if (entry.waiters > 0) return false;
      if (this.cache.get(pattern) === entry) this.cache.delete(pattern);
      return true;
    };
    const answer = this.tail.then(async () => {
      if (abandoned()) throw cancelledSearch();
      await this.spaced();
      if (abandoned()) throw cancelledSearch();
      return this.ask(pattern);
    });
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

function cancelledSearch(): IbError {
  return new IbError("cancelled", "the symbol search was cancelled");
}

/** The shared answer, or a cancellation for this caller only (others sharing the request still get it). */
function join(entry: SearchEntry, signal: AbortSignal | undefined): Promise<SymbolMatch[]> {
  if (signal?.aborted) return Promise.reject(cancelledSearch());
  if (entry.settled) return entry.answer;
  entry.waiters++;
  if (signal === undefined) return entry.answer;
  return new Promise<SymbolMatch[]>((resolve, reject) => {
    const onAbort = () => {
      entry.waiters--;
      reject(cancelledSearch());
    };
    signal.addEventListener("abort", onAbort, { once: true });
    entry.answer.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
