import type { Level1 } from "../../domain/marketData.js";
import type { MarketType } from "../../domain/marketType.js";
import type { FeedSink, OpenFeed } from "../../stream/feedSource.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { requireConnected, type FeedContext } from "../feeds/feedContext.js";
import { level1Source } from "../feeds/level1Feed.js";
import { IbError } from "../ibErrors.js";

export interface OptionQuotesOptions {
  /** Most lines this call opens at once (default: every free line, at each moment). */
  maxLines?: number;
  /** How long a line waits for a full quote before it is cancelled (default 4 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Whose lines these are (the clients' accounting). */
  client?: string;
}

export interface OptionQuotes {
  quotes: { symbol: string; instrument: ResolvedInstrument; level1: Level1 }[];
  missing: { symbol: string; reason: string }[];
  /** The most lines this call held open at the same time. */
  maxLinesOpen: number;
}

export interface OptionQuotesDeps {
  ctx: FeedContext;
  resolve: (marketType: MarketType, symbol: string) => Promise<ResolvedInstrument>;
  /** The latest state of an L1 feed already open for the instrument (used instead of a new line), if any. */
  openQuote?: (instrument: ResolvedInstrument) => Level1 | undefined;
  /** Charges one line to the caller's client (throws when its share is used up); returns the release. */
  charge?: (key: string) => () => void;
}

export const DEFAULT_QUOTE_TIMEOUT_MS = 4_000;
const DISCONNECTED = "the connection to the Gateway was lost (reconnecting): not quoted";

/**
 * A chain snapshot: quotes many instruments (typically options) with plain streaming reqMktData — IB's
 * snapshot=true waits up to 11 s per line and gives no greeks for some — holding each line only until it
 * has a quote (bid and ask, or last) and, for an option, IB's model computation, or `timeoutMs` passes.
 * Lines are taken through the LineBudget, so other feeds are accounted and never refused because of this
 * call: at most min(maxLines, the free lines at that moment) are open, new ones as others are released.
 * An instrument already streamed is answered from that stream's latest state, without a line. One symbol's
 * failure (unknown, no entitlement (354), nothing in time, no free line) is reported in `missing`.
 */
export async function optionQuotes(deps: OptionQuotesDeps, marketType: MarketType, symbols: readonly string[], options: OptionQuotesOptions = {}): Promise<OptionQuotes> {
  const { signal } = options;
  // Cancelled already (the caller went away while its chain was fetched): resolving first would still send
  // IB a contract details request per symbol (hundreds for a chain, seconds of the outbound queue).
  if (signal?.aborted) throw cancelled();
  requireConnected(deps.ctx, "option quotes");
  const unique = [...new Set(symbols.map((s) => s.trim().toUpperCase()))];
  const result: OptionQuotes = { quotes: [], missing: [], maxLinesOpen: 0 };
  const resolved = await Promise.all(unique.map((symbol) => deps.resolve(marketType, symbol).then((instrument) => ({ symbol, instrument }), (err: unknown) => ({ symbol, err }))));
  if (signal?.aborted) throw cancelled();
  const queue: { symbol: string; instrument: ResolvedInstrument }[] = [];
  for (const r of resolved) {
    if ("err" in r) result.missing.push({ symbol: r.symbol, reason: reasonOf(r.err) });
    else {
      // A running stream of the instrument answers without a line (IB would count a second one for it).
      const open = deps.openQuote?.(r.instrument);
      if (hasAnything(open)) result.quotes.push({ ...r, level1: open });
      else queue.push(r);
    }
  }
  await new LineRunner(deps, options, queue, result).run();
  const order = new Map(unique.map((s, i) => [s, i]));
  result.quotes.sort((a, b) => order.get(a.symbol)! - order.get(b.symbol)!);
  return result;
}

/** Whether a state is all this call waits for: a two-sided quote or a last, and an option's model computation. */
function isComplete(l: Level1, instrument: ResolvedInstrument): boolean {
  const quoted = (l.bid !== undefined && l.ask !== undefined) || l.last !== undefined;
  const needsModel = instrument.secType === "OPT" || instrument.secType === "FOP";
  return quoted && (!needsModel || (l.optionComputations?.some((c) => c.kind === "model") ?? false));
}

function hasAnything(l: Level1 | undefined): l is Level1 {
  return l !== undefined && (l.bid !== undefined || l.ask !== undefined || l.last !== undefined || (l.optionComputations?.length ?? 0) > 0);
}

/** Opens lines from the queue as the budget allows and settles when every symbol has an outcome. */
class LineRunner {
  private readonly open = new Set<() => void>();
  private readonly maxLines: number;
  private readonly timeoutMs: number;
  private next = 0;
  private settled = false;
  private finish!: (err?: Error) => void;

  constructor(
    private readonly deps: OptionQuotesDeps,
    private readonly options: OptionQuotesOptions,
    private readonly queue: { symbol: string; instrument: ResolvedInstrument }[],
    private readonly result: OptionQuotes,
  ) {
    this.maxLines = Math.max(1, options.maxLines ?? Infinity);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_QUOTE_TIMEOUT_MS;
  }

  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => this.finish(cancelled());
      this.finish = (err) => {
        if (this.settled) return;
        this.settled = true;
        this.options.signal?.removeEventListener("abort", onAbort);
        for (const close of [...this.open]) close();
        if (err === undefined) resolve();
        else reject(err);
      };
      this.options.signal?.addEventListener("abort", onAbort, { once: true });
      this.fill();
    });
  }

  /** Opens as many lines as allowed now; ends when nothing is queued or open. */
  private fill(): void {
    const budget = this.deps.ctx.budget;
    if (!this.deps.ctx.isConnected()) {
      // The Gateway dropped mid-way: IB answers no reqMktData now (@stoqey/ib reports it under no request id), so
      // each new line would only wait out its timeout and be reported as "no quote".
      for (const { symbol } of this.queue.slice(this.next)) this.result.missing.push({ symbol, reason: DISCONNECTED });
      this.next = this.queue.length;
    }
    while (this.next < this.queue.length && this.open.size < this.maxLines && budget.available("marketDataLines") > 0) {
      if (!this.start(this.queue[this.next]!)) break;
      this.next++;
    }
    if (this.open.size > 0 || this.settled) return;
    // Nothing open and no line free: the rest cannot be quoted now (the lines are held by other feeds).
    for (const { symbol } of this.queue.slice(this.next)) this.result.missing.push({ symbol, reason: `no free IB market data line (all ${budget.inUse("marketDataLines")} in use)` });
    this.next = this.queue.length;
    this.finish();
  }

  /** One line for one symbol; false when the caller's client may not take one more now. */
  private start({ symbol, instrument }: { symbol: string; instrument: ResolvedInstrument }): boolean {
    let release: () => void = () => undefined;
    try {
      if (this.deps.charge !== undefined) release = this.deps.charge(`quotes/${this.deps.ctx.router.allocateId()}`);
    } catch (err) {
      if (this.open.size > 0) return false; // wait for one of ours to be given back
      this.result.missing.push({ symbol, reason: reasonOf(err) });
      return true;
    }
    let latest: Level1 | undefined;
    let feed: OpenFeed | undefined;
    let done = false;
    const end = (outcome: { level1: Level1 } | { reason: string }) => {
      if (done || this.settled) return;
      done = true;
      clearTimeout(timer);
      feed?.close();
      release();
      this.open.delete(close);
      if ("level1" in outcome) this.result.quotes.push({ symbol, instrument, level1: outcome.level1 });
      else this.result.missing.push({ symbol, reason: outcome.reason });
      this.fill();
    };
    // Closed by the runner (abort): no outcome recorded, nothing refilled.
    const close = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      feed?.close();
      release();
      this.open.delete(close);
    };
    const timer = setTimeout(() => end(hasAnything(latest) ? { level1: latest } : { reason: this.deps.ctx.isConnected() ? `no quote from IB within ${this.timeoutMs} ms` : DISCONNECTED }), this.timeoutMs);
    timer.unref();
    const sink: FeedSink<Level1> = {
      data: (l) => {
        latest = l;
        if (isComplete(l, instrument)) queueMicrotask(() => end({ level1: l }));
      },
      status: () => undefined, // delayed data and class advisories: the quote is still taken
      waiting: () => undefined,
      restart: (message) => queueMicrotask(() => end({ reason: message })),
      fail: (err) => queueMicrotask(() => end({ reason: reasonOf(err) })),
    };
    this.open.add(close);
    this.result.maxLinesOpen = Math.max(this.result.maxLinesOpen, this.open.size);
    try {
      feed = level1Source(this.deps.ctx, instrument).open(sink);
    } catch (err) {
      // Settled on the next turn: `fill` is still looping over the queue here.
      queueMicrotask(() => end({ reason: reasonOf(err) }));
    }
    return true;
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function cancelled(): IbError {
  return new IbError("cancelled", "the option quotes were cancelled");
}
