import { EventName } from "@stoqey/ib";
import { decimalFromIb } from "../../domain/decimal.js";
import type { Level1, TradePrint } from "../../domain/marketData.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import type { TradeHistory } from "../history/outageTrades.js";
import { routeMessages, type FeedContext } from "./feedContext.js";
import { clockText, gapText, windowText } from "./outageWindow.js";
import type { FeedSource } from "../../stream/feedSource.js";

/** A trade print with the quote that prevailed when it arrived (for aggressor-side inference). */
export interface TradeEvent {
  trade: TradePrint;
  /** Increasing per instrument while the service runs. */
  sequence: number;
  quote: Pick<Level1, "bid" | "ask"> | undefined;
  /**
   * Fetched from IB's historical ticks after a Gateway outage (missed live), delivered before the live
   * prints resume; it has no quote (the one of its time is unknown).
   */
  backfilled?: true;
}

/** A print's identity at IB's resolution: whole second, price, size. */
const printKey = (t: TradePrint): string => `${Math.floor(t.timeMs / 1000)}|${t.price.toString()}|${t.size.toString()}`;

/** Counts of print keys (prints repeat within a second). */
class PrintBag {
  private readonly counts = new Map<string, number>();
  add(t: TradePrint): void {
    const k = printKey(t);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  /** Removes one print with t's key; whether there was one. */
  take(t: TradePrint): boolean {
    const k = printKey(t);
    const n = this.counts.get(k) ?? 0;
    if (n === 0) return false;
    if (n === 1) this.counts.delete(k);
    else this.counts.set(k, n - 1);
    return true;
  }
  clear(): void {
    this.counts.clear();
  }
  copy(): PrintBag {
    const bag = new PrintBag();
    for (const [k, n] of this.counts) bag.counts.set(k, n);
    return bag;
  }
}

/**
 * Tick-by-tick "AllLast" prints for one instrument (one IB tick-by-tick slot however many consumers).
 * IB reports trade time in whole seconds; prints within a second keep their arrival order.
 *
 * After a Gateway outage (the feed closed and opened again) the window from the last print seen to the
 * reopen is filled from IB's historical ticks (TradeHistory: bounded, paced after user calls), published
 * as backfilled prints before the live ones, which are held meanwhile. At both edges IB's whole seconds
 * overlap what was or will be delivered live: a print of the edge second with the same price and size as
 * one delivered live is the same print and is sent once (two equal prints in one second across the
 * subscription instant are indistinguishable at IB's resolution).
 *
 * The source fills its own gaps (FeedSource.fillsGaps): the reopen's GAP is its own, said once the prints to
 * deliver are known and before them, naming what was backfilled and what was not (the part of the window
 * beyond the backfill's bound, a budget that would have to be waited for, a failed or timed-out request). A
 * reopen during a backfill withdraws it unsaid: the next one fills the window from the first loss, and says
 * it in one GAP.
 */
export function tradesSource(ctx: FeedContext, instrument: ResolvedInstrument, quote: () => Level1 | undefined, history?: TradeHistory): FeedSource<TradeEvent> {
  let sequence = 0;
  /** The second of the last print delivered, and the prints delivered in it (they outlive a reopen). */
  let lastSec: number | undefined;
  const lastSecPrints = new PrintBag();
  /** When the feed was last closed with data possibly missed since (kept until the window is filled). */
  let lostAtMs: number | undefined;
  /** When the feed first opened: with no print seen yet, an outage's window starts there. */
  let firstOpenedAt: number | undefined;

  return {
    // Every print matters (volume, VWAP, signals): a client that cannot keep up is disconnected with
    // RESOURCE_EXHAUSTED rather than silently missing prints.
    overflow: "fail",
    // Without a history the feed's own GAP is said at the reopen.
    fillsGaps: history !== undefined,
    open(sink) {
      ctx.budget.take("tickByTick");
      const openedAt = ctx.now();
      firstOpenedAt ??= openedAt;
      const closing = new AbortController();
      let closed = false;
      const deliver = (trade: TradePrint, q: TradeEvent["quote"], backfilled: boolean) => {
        const sec = Math.floor(trade.timeMs / 1000);
        if (sec !== lastSec) {
          lastSec = sec;
          lastSecPrints.clear();
        }
        lastSecPrints.add(trade);
        const event: TradeEvent = { trade, sequence: ++sequence, quote: q };
        if (backfilled) event.backfilled = true;
        sink.data(event);
      };

      // After an outage the window is filled from the last print's second (with no print seen yet, from the
      // first whole second the feed was open); live prints are held meanwhile, and those of the edge second
      // the history already delivered are dropped once each when they come.
      const outage = lostAtMs !== undefined && history !== undefined ? { lostAtMs, fromSec: lastSec ?? Math.ceil(firstOpenedAt / 1000) } : undefined;
      let held: { trade: TradePrint; quote: TradeEvent["quote"] }[] | undefined = outage === undefined ? undefined : [];
      const endEdge = new PrintBag();
      let endEdgeSec: number | undefined;
      const live = (trade: TradePrint, q: TradeEvent["quote"]) => {
        if (endEdgeSec !== undefined) {
          if (Math.floor(trade.timeMs / 1000) === endEdgeSec && endEdge.take(trade)) return;
          if (Math.floor(trade.timeMs / 1000) > endEdgeSec) endEdgeSec = undefined;
        }
        deliver(trade, q, false);
      };

      const reqId = ctx.router.allocateId();
      ctx.router.on(
        EventName.tickByTickAllLast,
        reqId,
        (_tickType: number, time: string | number, price: number, size: number, attribs: { pastLimit?: boolean; unreported?: boolean } | undefined, exchange: string, conditions: string) => {
          const p = decimalFromIb(price);
          const s = decimalFromIb(size);
          if (p === undefined || s === undefined) return;
          const q = quote();
          const trade: TradePrint = {
            timeMs: Number(time) * 1000,
            price: p,
            size: s,
            exchange: exchange ?? "",
            conditions: conditions ? conditions.split(/[;,]/).filter((c) => c !== "") : [],
            pastLimit: attribs?.pastLimit ?? false,
            unreported: attribs?.unreported ?? false,
          };
          const side = q === undefined ? undefined : { bid: q.bid, ask: q.ask };
          if (held !== undefined) held.push({ trade, quote: side });
          else live(trade, side);
        },
      );
      routeMessages(ctx, reqId, sink, `trades for ${instrument.symbol}`);
      ctx.api.reqTickByTickData(reqId, instrument.requestContract, "AllLast" as never, 0, false);

      if (outage !== undefined && history !== undefined) {
        const resumeLive = () => {
          const waiting = held ?? [];
          held = undefined;
          for (const h of waiting) live(h.trade, h.quote);
        };
        history.since(outage.fromSec * 1000, () => held?.[0]?.trade.timeMs, closing.signal).then(
          (filled) => {
            if (closed) return;
            const waiting = held ?? [];
            const firstLiveSec = waiting.length === 0 ? undefined : Math.floor(waiting[0]!.trade.timeMs / 1000);
            const lastLiveSec = waiting.length === 0 ? undefined : Math.floor(waiting.at(-1)!.trade.timeMs / 1000);
            // The edges: prints delivered live before the loss (nothing was delivered since: live prints
            // are held) and prints received live since the reopen are the same prints as IB's history of
            // those seconds. After the first live second, everything comes live.
            const before = lastSecPrints.copy();
            const since = new PrintBag();
            for (const h of waiting) since.add(h.trade);
            const lastHistorySec = filled.prints.length === 0 ? undefined : Math.floor(filled.prints.at(-1)!.timeMs / 1000);
            const edgeSec = firstLiveSec === undefined ? lastHistorySec : firstLiveSec === lastLiveSec ? firstLiveSec : undefined;
            // What to deliver is known before anything is: the GAP says it first, then the prints follow.
            const missed: TradePrint[] = [];
            for (const t of filled.prints) {
              const sec = Math.floor(t.timeMs / 1000);
              if (sec === outage.fromSec && before.take(t)) continue;
              if (firstLiveSec !== undefined && (sec > firstLiveSec || since.take(t))) continue;
              missed.push(t);
            }
            const toMs = firstLiveSec !== undefined ? firstLiveSec * 1000 : Math.max(openedAt, (lastHistorySec ?? 0) * 1000);
            sink.status("gap", tradesGapText(outage.lostAtMs, openedAt, outage.fromSec * 1000, toMs, missed.length, filled.requests, filled.unfilled));
            for (const t of missed) {
              if (Math.floor(t.timeMs / 1000) === edgeSec) {
                // Perhaps still on its way live: the live stream skips it once.
                endEdge.add(t);
                endEdgeSec = edgeSec;
              }
              deliver(t, undefined, true);
            }
            // Said once: what was not filled stays so (the next outage's window starts at the newest print).
            lostAtMs = undefined;
            resumeLive();
          },
          (err: unknown) => {
            if (closed) return;
            sink.status("gap", `${gapText(outage.lostAtMs, openedAt)}: not filled from IB historical ticks (${err instanceof Error ? err.message : String(err)})`);
            lostAtMs = undefined;
            resumeLive();
          },
        );
      }

      return {
        close() {
          closed = true;
          closing.abort(new Error("the feed closed (the Gateway connection was lost again, or no consumer is left)"));
          lostAtMs ??= ctx.now();
          if (ctx.isConnected()) ctx.api.cancelTickByTickData(reqId);
          ctx.router.release(reqId);
          ctx.budget.give("tickByTick");
        },
      };
    },
  };
}

/** The GAP of a trade feed's outage: what came from IB's historical ticks and what did not. */
function tradesGapText(lostAtMs: number, reopenedAtMs: number, fromMs: number, toMs: number, count: number, requests: number, unfilled: { fromMs: number; reason: string } | undefined): string {
  const gap = gapText(lostAtMs, reopenedAtMs);
  const spent = `${requests} historical-tick request${requests === 1 ? "" : "s"}`;
  if (count === 0 && unfilled !== undefined && unfilled.fromMs <= fromMs) {
    // Nothing fetched at all: the first request failed, timed out or was withdrawn before the budget allowed it.
    return `${gap}: ${windowText(fromMs, Math.max(toMs, fromMs))} not filled from IB historical ticks (${unfilled.reason})`;
  }
  const filled =
    count === 0 && unfilled === undefined
      ? `no trade printed between ${clockText(fromMs)} and ${clockText(toMs)} UTC beyond those delivered live (IB historical ticks, ${spent})`
      : `${count} trade${count === 1 ? "" : "s"} backfilled from IB historical ticks for ${windowText(fromMs, unfilled?.fromMs ?? toMs)} (${spent})`;
  const missing = unfilled === undefined ? "" : `; ${clockText(unfilled.fromMs)}–${clockText(Math.max(toMs, unfilled.fromMs))} UTC not filled: ${unfilled.reason}`;
  return `${gap}: ${filled}${missing}`;
}
