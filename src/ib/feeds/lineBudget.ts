import { IbError } from "../ibErrors.js";

/** IB's concurrent-subscription limits, tracked here so going over fails with a clear error before IB rejects. */
export interface LineLimits {
  /** reqMktData + reqRealTimeBars (IB default 100). */
  marketDataLines: number;
  /** reqMktDepth (IB default 3). */
  depth: number;
  /** reqTickByTickData (IB: about 5% of lines, 3 on small accounts). */
  tickByTick: number;
}

export const DEFAULT_LINE_LIMITS: LineLimits = { marketDataLines: 100, depth: 3, tickByTick: 3 };

export type LineKind = keyof LineLimits;

export const LINE_KINDS: readonly LineKind[] = ["marketDataLines", "depth", "tickByTick"];

/** How IB calls each kind, for messages. */
export const LINE_NAMES: Record<LineKind, string> = {
  marketDataLines: "market data lines",
  depth: "market depth subscriptions",
  tickByTick: "tick-by-tick subscriptions",
};

export class LineBudget {
  private readonly used: Record<LineKind, number> = { marketDataLines: 0, depth: 0, tickByTick: 0 };

  constructor(private readonly limits: LineLimits = DEFAULT_LINE_LIMITS) {}

  take(kind: LineKind): void {
    if (this.used[kind] >= this.limits[kind]) throw lineLimitReached(kind, this.limits[kind]);
    this.used[kind]++;
  }

  give(kind: LineKind): void {
    this.used[kind] = Math.max(0, this.used[kind] - 1);
  }

  inUse(kind: LineKind): number {
    return this.used[kind];
  }

  /** IB's limit of `kind` as configured. */
  limit(kind: LineKind): number {
    return this.limits[kind];
  }

  /** Lines of `kind` free right now (IB's limit less those taken). */
  available(kind: LineKind): number {
    return Math.max(0, this.limits[kind] - this.used[kind]);
  }
}

/** IB's own limit of a kind is reached (every client's lines together). */
export function lineLimitReached(kind: LineKind, limit: number): IbError {
  return new IbError("limit", `all ${limit} IB ${LINE_NAMES[kind]} are in use; close a subscription or raise the account's limit`);
}
