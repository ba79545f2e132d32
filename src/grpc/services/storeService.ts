import { status } from "@grpc/grpc-js";
import type { BackfillFailure, BackfillRequest, BackfillResponse } from "../../../gen/ibprovider/v1/store_service.js";
import type { BackfillEvent, BackfillOptions, BackfillRequest as AdapterBackfillRequest } from "../../ib/history/backfill.js";
import { IbError } from "../../ib/ibErrors.js";
import { apiErrorFromAdapter } from "../adapterErrors.js";
import { ApiError, invalidArgument } from "../apiError.js";
import type { CallContext } from "../callContext.js";
import { timestampFromMs } from "../mapping/protoTime.js";
import type { MarketType } from "../../domain/marketType.js";
import { checkConnector, checkInterval, checkMarketType, checkSymbol } from "../requests/instrumentFields.js";
import { candleWindow } from "../requests/timeWindow.js";

/** What the store service needs from the adapter. */
export interface StoreSource {
  backfill(request: AdapterBackfillRequest, options?: BackfillOptions): AsyncIterable<BackfillEvent>;
}

/** Symbols one backfill may name: a research universe, not the whole exchange (IB paces per user anyway). */
export const MAX_BACKFILL_SYMBOLS = 100;

/** StoreService: bulk history into the store (the adapter's backfill), as a stream of progress then a summary. */
export class StoreService {
  constructor(
    private readonly source: StoreSource,
    private readonly options: BackfillOptions = {},
  ) {}

  async *backfill(request: BackfillRequest, ctx: CallContext): AsyncGenerator<BackfillResponse> {
    checkConnector(request.connectorType);
    const marketType = checkMarketType(request.marketType);
    const symbols = checkSymbols(marketType, request.symbols);
    const interval = checkInterval(request.interval);
    const { fromMs, toMs } = candleWindow(request, interval, Date.now());
    ctx.log.info({ client: ctx.client, symbols: symbols.length, interval: interval.name, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() }, "backfill started");
    const events = this.source.backfill({ marketType, symbols, interval, fromMs, toMs, regularHoursOnly: request.regularHoursOnly ?? true, client: ctx.client, signal: ctx.signal }, this.options);
    for await (const event of namingTheWindow(events, request)) {
      if (event.kind === "progress") {
        const p = event.progress;
        yield {
          event: {
            $case: "progress",
            value: {
              symbol: p.symbol,
              requestsDone: p.requestsDone,
              requestsPlanned: p.requestsPlanned,
              barsStored: String(p.barsStored),
              estimatedFinish: p.estimatedFinishMs === undefined ? undefined : timestampFromMs(p.estimatedFinishMs),
              waitingFor: p.waiting?.reason ?? "",
              waitingUntil: p.waiting?.untilMs === undefined ? undefined : timestampFromMs(p.waiting.untilMs),
              symbolsPlanned: p.symbolsPlanned,
            },
          },
        };
        continue;
      }
      const { summary } = event;
      const failed = summary.symbols.filter((s) => s.error !== undefined);
      ctx.log.info({ client: ctx.client, requestsSent: summary.requestsSent, bars: summary.barsStored, failed: failed.map((s) => s.symbol) }, "backfill done");
      yield {
        event: {
          $case: "summary",
          value: {
            symbols: summary.symbols.map((s) => ({
              symbol: s.symbol,
              bars: String(s.bars),
              requestsSent: s.requestsSent,
              rangesInStore: s.rangesInStore,
              requestsPlanned: s.requestsPlanned,
              failure: s.error === undefined ? undefined : failureOf(s.error, ctx),
            })),
            requestsSent: summary.requestsSent,
            barsStored: String(summary.barsStored),
            failedSymbols: failed.length,
          },
        },
      };
    }
  }
}

/** A window the backfill refuses as too long names the field that set it, as GetCandles does (before any event). */
async function* namingTheWindow<T>(events: AsyncIterable<T>, request: BackfillRequest): AsyncGenerator<T> {
  try {
    yield* events;
  } catch (err) {
    if (err instanceof IbError && err.fact === "history-too-long") throw invalidArgument(request.from !== undefined ? "from" : "days", err.message, "WINDOW_TOO_LONG");
    throw err;
  }
}

/** 1 to MAX_BACKFILL_SYMBOLS well-formed symbols, upper-cased, each once; a fault names its index. */
function checkSymbols(marketType: MarketType, symbols: readonly string[]): string[] {
  if (symbols.length === 0) throw invalidArgument("symbols", "name at least one symbol", "NO_SYMBOLS");
  if (symbols.length > MAX_BACKFILL_SYMBOLS) throw invalidArgument("symbols", `at most ${MAX_BACKFILL_SYMBOLS} symbols per backfill (got ${symbols.length})`, "TOO_MANY_SYMBOLS");
  const out = new Set<string>();
  symbols.forEach((symbol, i) => {
    try {
      out.add(checkSymbol(marketType, symbol, `symbols[${i}]`).symbol);
    } catch (err) {
      if (err instanceof ApiError) throw invalidArgument(`symbols[${i}]`, err.fieldViolations[0]?.description ?? err.message, err.reason);
      throw err;
    }
  });
  return [...out];
}

/** A symbol's failure as its own GetCandles would have reported it; anything unexpected is logged, not echoed. */
function failureOf(err: unknown, ctx: CallContext): BackfillFailure {
  const apiError = err instanceof ApiError ? err : apiErrorFromAdapter(err);
  if (apiError !== undefined) return { code: status[apiError.code] ?? String(apiError.code), reason: apiError.reason, message: apiError.message };
  ctx.log.error({ err }, "backfill of a symbol failed unexpectedly");
  return { code: "INTERNAL", reason: "INTERNAL", message: "internal error" };
}
