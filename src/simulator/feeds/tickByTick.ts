/**
 * Tick-by-tick data (reqTickByTickData): every model trade at its own time (Last / AllLast), and the
 * top of book whenever it changes (BidAsk / MidPoint), sampled at the trade times and at each pump.
 */
import { Decimal } from "decimal.js";
import * as msg from "../messages/outbound.js";
import type { InstrumentSpec, Quote } from "../market/types.js";
import type { FeedContext, Subscription } from "./feed.js";
import type { Field } from "../wire/fields.js";

export type TickByTickType = "Last" | "AllLast" | "BidAsk" | "MidPoint";

export function parseTickByTickType(s: string): TickByTickType | undefined {
  const m = ({ last: "Last", alllast: "AllLast", bidask: "BidAsk", midpoint: "MidPoint" } as const)[s.toLowerCase() as "last"];
  return m;
}

export class TickByTickFeed implements Subscription {
  readonly kind = "tickByTick" as const;
  stalledUntil = 0;
  private fromMs: number;
  private lastQuote: Quote | undefined;
  private lastMid: string | undefined;

  constructor(
    private readonly ctx: FeedContext,
    readonly reqId: number,
    readonly instrument: InstrumentSpec,
    readonly type: TickByTickType,
    private readonly ignoreSize: boolean,
    startMs: number,
  ) {
    this.fromMs = startMs;
  }

  pump(nowMs: number): void {
    if (nowMs <= this.fromMs) return;
    const { ctx, reqId, instrument } = this;
    const trades = ctx.market.trades(instrument, this.fromMs, nowMs);
    this.fromMs = nowMs;
    if (this.type === "Last" || this.type === "AllLast") {
      const code = this.type === "Last" ? 1 : 2;
      for (const t of trades) {
        ctx.send(msg.tickByTickLast(ctx.sv, reqId, code, Math.floor(t.timeMs / 1000), t.price, t.size, 0, t.exchange, ""));
      }
      return;
    }
    const times = [...trades.map((t) => t.timeMs), nowMs];
    for (const tm of times) this.quoteAt(tm);
  }

  /** Flood mode: trade prints at the current price (Last/AllLast only), as fast as the socket accepts. */
  floodFrames(nowMs: number, n: number, out: Field[][], stamp: string | undefined): void {
    const q = this.ctx.market.quote(this.instrument, nowMs);
    const code = this.type === "Last" ? 1 : 2;
    const sec = Math.floor(nowMs / 1000);
    for (let i = 0; i < n; i++) out.push(msg.tickByTickLast(this.ctx.sv, this.reqId, code, sec, i % 2 === 0 ? q.bid : q.ask, stamp ?? "1", 0, "PAXOS", ""));
  }

  private quoteAt(timeMs: number): void {
    const q = this.ctx.market.quote(this.instrument, timeMs);
    const sec = Math.floor(timeMs / 1000);
    if (this.type === "BidAsk") {
      const p = this.lastQuote;
      const priceChanged = !p || p.bid !== q.bid || p.ask !== q.ask;
      const sizeChanged = !p || p.bidSize !== q.bidSize || p.askSize !== q.askSize;
      if (priceChanged || (!this.ignoreSize && sizeChanged)) {
        this.ctx.send(msg.tickByTickBidAsk(this.ctx.sv, this.reqId, sec, q.bid, q.ask, q.bidSize, q.askSize, 0));
      }
      this.lastQuote = q;
      return;
    }
    const mid = new Decimal(q.bid).add(q.ask).div(2).toFixed();
    if (mid !== this.lastMid) this.ctx.send(msg.tickByTickMidPoint(this.reqId, sec, mid));
    this.lastMid = mid;
  }
}
