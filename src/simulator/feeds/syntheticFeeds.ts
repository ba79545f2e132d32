/**
 * L1 feeds that are not one instrument's book: a combo (BAG) quoted from its legs, and a mutual fund whose
 * only price is its daily NAV. Both hold a market data line like any reqMktData (kind "mktData").
 */
import { Decimal } from "decimal.js";
import type { InstrumentSpec } from "../market/types.js";
import { MIN_SV, TICK } from "../messages/ids.js";
import * as msg from "../messages/outbound.js";
import type { FeedContext, Subscription } from "./feed.js";

/** Live → delayed tick types used here (tws-protocol.md §2.3). */
const DELAYED: Record<number, number> = { 0: 69, 1: 66, 2: 67, 3: 70, 4: 68, 9: 75 };

abstract class SyntheticFeed implements Subscription {
  readonly kind = "mktData" as const;
  stalledUntil = 0;
  private readonly sent = new Map<number, string>();
  constructor(
    protected readonly ctx: FeedContext,
    readonly reqId: number,
    private readonly dataType: number,
    private readonly delayMs: number,
    private readonly minTick: string,
  ) {}

  start(nowMs: number): void {
    if (this.ctx.sv >= MIN_SV.REQ_SMART_COMPONENTS) this.ctx.send(msg.tickReqParams(this.reqId, this.minTick, "", 3));
    this.ctx.send(msg.marketDataType(this.reqId, this.dataType));
    this.sendFull(nowMs);
  }

  sendFull(nowMs: number): void {
    this.sent.clear();
    this.pump(nowMs);
  }

  pump(nowMs: number): void {
    this.emit(this.dataType >= 3 ? nowMs - this.delayMs : nowMs);
  }

  protected abstract emit(t: number): void;

  private tt(live: number): number {
    return this.dataType >= 3 ? (DELAYED[live] ?? live) : live;
  }

  /** A price tick (with its size tick when it has one), only when it changed. */
  protected price(tickType: number, price: string, size?: { tickType: number; value: string }): void {
    const key = `${price}|${size?.value ?? ""}`;
    if (this.sent.get(tickType) === key) return;
    this.sent.set(tickType, key);
    this.ctx.send(msg.tickPrice(this.ctx.sv, this.reqId, this.tt(tickType), price, size?.value ?? "0", 0));
    if (size) this.ctx.send(msg.tickSize(this.ctx.sv, this.reqId, this.tt(size.tickType), size.value));
  }
}

export interface ResolvedLeg {
  spec: InstrumentSpec;
  ratio: number;
  /** BUY legs add, SELL legs subtract. */
  buy: boolean;
}

/**
 * A combo's market from its legs at the same instant: bid = Σ buy ratio×bid − Σ sell ratio×ask, ask the
 * mirror image, sizes the legs' smallest size per ratio, last = Σ ±ratio × the legs' model prices.
 */
export class ComboFeed extends SyntheticFeed {
  constructor(ctx: FeedContext, reqId: number, dataType: number, delayMs: number, private readonly legs: readonly ResolvedLeg[]) {
    super(ctx, reqId, dataType, delayMs, "0.01");
  }

  /** The combo's quote and last at an instant (exported for tests through `quoteAt`). */
  quoteAt(t: number): { bid: string; ask: string; bidSize: string; askSize: string; last: string } {
    const { market } = this.ctx;
    let bid = new Decimal(0);
    let ask = new Decimal(0);
    let last = new Decimal(0);
    let bidSize = Infinity;
    let askSize = Infinity;
    for (const leg of this.legs) {
      const q = market.quote(leg.spec, t);
      const r = leg.ratio;
      const model = new Decimal((market.modelPrice?.(leg.spec, t) ?? (Number(q.bid) + Number(q.ask)) / 2).toFixed(4));
      if (leg.buy) {
        bid = bid.add(new Decimal(q.bid).mul(r));
        ask = ask.add(new Decimal(q.ask).mul(r));
        last = last.add(model.mul(r));
        bidSize = Math.min(bidSize, Math.floor(Number(q.bidSize) / r));
        askSize = Math.min(askSize, Math.floor(Number(q.askSize) / r));
      } else {
        bid = bid.sub(new Decimal(q.ask).mul(r));
        ask = ask.sub(new Decimal(q.bid).mul(r));
        last = last.sub(model.mul(r));
        bidSize = Math.min(bidSize, Math.floor(Number(q.askSize) / r));
        askSize = Math.min(askSize, Math.floor(Number(q.bidSize) / r));
      }
    }
    return { bid: bid.toFixed(), ask: ask.toFixed(), bidSize: String(bidSize), askSize: String(askSize), last: last.toDecimalPlaces(2).toFixed() };
  }

  protected emit(t: number): void {
    const q = this.quoteAt(t);
    this.price(TICK.BID, q.bid, { tickType: TICK.BID_SIZE, value: q.bidSize });
    this.price(TICK.ASK, q.ask, { tickType: TICK.ASK_SIZE, value: q.askSize });
    this.price(TICK.LAST, q.last);
  }
}

/** Hours after a fund's trade-day midnight at which its NAV is struck (16:00 New York). */
const NAV_HOUR_MS = 16 * 3_600_000;

/** A mutual fund: LAST = the latest NAV (struck at 16:00 New York), CLOSE = the one before; nothing else. */
export class FundFeed extends SyntheticFeed {
  private cache: { minute: number; nav?: string; prev?: string } | undefined;
  constructor(ctx: FeedContext, reqId: number, dataType: number, delayMs: number, private readonly fund: InstrumentSpec) {
    super(ctx, reqId, dataType, delayMs, fund.minTick);
  }

  protected emit(t: number): void {
    const minute = Math.floor(t / 60_000);
    if (!this.cache || this.cache.minute !== minute) {
      const toSec = Math.floor(t / 1000);
      const days = this.ctx.market
        .bars(this.fund, { barSize: 86400, fromSec: toSec - 14 * 86400, toSec, useRTH: true, whatToShow: "TRADES" })
        .filter((b) => b.startSec * 1000 + NAV_HOUR_MS <= t);
      this.cache = { minute, nav: days[days.length - 1]?.close, prev: days[days.length - 2]?.close };
    }
    if (this.cache.nav) this.price(TICK.LAST, this.cache.nav);
    if (this.cache.prev) this.price(TICK.CLOSE, this.cache.prev);
  }
}
