/**
 * Level-1 market data (reqMktData): tickReqParams, marketDataType, then conflated ticks derived from the
 * market model. Delayed data is the same feed shifted by `delayMs` with delayed tick types (+65 / 88).
 */
import { Decimal } from "decimal.js";
import { MIN_SV, TICK } from "../messages/ids.js";
import * as msg from "../messages/outbound.js";
import * as msgAssets from "../messages/outboundAssets.js";
import { tradeDay, tradeDayOf, type Interval } from "../market/sessions.js";
import type { InstrumentSpec, Quote } from "../market/types.js";
import type { Field } from "../wire/fields.js";
import { zonedParts, zonedToEpochMs } from "./ibDateTime.js";
import type { FeedContext, Subscription } from "./feed.js";

export interface MarketDataOptions {
  reqId: number;
  instrument: InstrumentSpec;
  /** Announced market data type: 1 live, 2 frozen, 3 delayed, 4 delayed-frozen. */
  dataType: number;
  delayMs: number;
  genericTicks: Set<number>;
}

interface DayStats {
  dayStartMs: number;
  open?: string;
  high?: Decimal;
  low?: Decimal;
  volume: Decimal;
  close?: string;
  pv: Decimal;
}

/** Live → delayed tick types (tws-protocol.md §2.3); option computations 10–13 → 80–83. */
const DELAYED: Record<number, number> = { 1: 66, 2: 67, 4: 68, 0: 69, 3: 70, 5: 71, 6: 72, 7: 73, 8: 74, 9: 75, 14: 76, 45: 88, 10: 80, 11: 81, 12: 82, 13: 83 };

/**
 * What IB sends per asset class: an index has prices only (its value as LAST, no bid/ask, no sizes, no
 * volume); a bond has a two-sided market but prints no trades; options add option computations.
 */
interface TickProfile {
  quotes: boolean;
  sizes: boolean;
  trades: boolean;
  options: boolean;
}
function profileOf(inst: InstrumentSpec): TickProfile {
  const t = inst.secType;
  return { quotes: t !== "IND", sizes: t !== "IND", trades: t !== "BOND", options: t === "OPT" || t === "FOP" };
}

export class MarketDataFeed implements Subscription {
  readonly kind = "mktData" as const;
  readonly reqId: number;
  readonly instrument: InstrumentSpec;
  stalledUntil = 0;
  private readonly delayed: boolean;
  private lastQuote: Quote | undefined;
  private lastTradeEndMs = 0;
  private stats: DayStats | undefined;
  private readonly profile: TickProfile;
  /** Last model price (tick 13) and underlying price sent: computations are resent when either moves. */
  private lastModel: string | undefined;
  private lastUnd: number | undefined;

  constructor(
    private readonly ctx: FeedContext,
    private readonly o: MarketDataOptions,
  ) {
    this.reqId = o.reqId;
    this.instrument = o.instrument;
    this.delayed = o.dataType >= 3;
    this.profile = profileOf(o.instrument);
  }

  private tt(live: number): number {
    if (!this.delayed) return live;
    return DELAYED[live] ?? live;
  }

  /** Time the feed shows (live: now; delayed: now − delay). */
  private view(nowMs: number): number {
    return this.delayed ? nowMs - this.o.delayMs : nowMs;
  }

  /** tickReqParams + marketDataType + the full current state. */
  start(nowMs: number): void {
    const { ctx, reqId, instrument } = this;
    if (ctx.sv >= MIN_SV.REQ_SMART_COMPONENTS) ctx.send(msg.tickReqParams(reqId, instrument.minTick, instrument.secType === "STK" ? "9c0001" : "", 3));
    ctx.send(msg.marketDataType(reqId, this.o.dataType));
    this.sendFull(nowMs);
  }

  /** Everything a snapshot shows (also the first burst of a stream). */
  sendFull(nowMs: number): void {
    const t = this.view(nowMs);
    const stats = this.dayStats(t);
    const q = this.ctx.market.quote(this.instrument, t);
    this.sendQuote(q, undefined);
    this.lastQuote = q;
    const last = this.profile.trades ? this.lastTrade(t) : undefined;
    if (last) {
      this.sendLast(last.price, last.size, last.timeMs);
    }
    if (this.profile.options) this.sendOptionComputations(t, q, undefined, last?.price);
    if (stats.high) this.ctx.send(msg.tickPrice(this.ctx.sv, this.reqId, this.tt(TICK.HIGH), stats.high.toFixed(), "0", 0));
    if (stats.low) this.ctx.send(msg.tickPrice(this.ctx.sv, this.reqId, this.tt(TICK.LOW), stats.low.toFixed(), "0", 0));
    if (this.profile.sizes && this.profile.trades) this.ctx.send(msg.tickSize(this.ctx.sv, this.reqId, this.tt(TICK.VOLUME), stats.volume.toFixed()));
    if (stats.close) this.ctx.send(msg.tickPrice(this.ctx.sv, this.reqId, this.tt(TICK.CLOSE), stats.close, "0", 0));
    if (stats.open) this.ctx.send(msg.tickPrice(this.ctx.sv, this.reqId, this.tt(TICK.OPEN), stats.open, "0", 0));
    if (this.o.genericTicks.has(236) && this.instrument.secType === "STK") {
      // Generic tick 236: SHORTABLE (46); 3 = at least 1000 shares available.
      this.ctx.send(msg.tickGeneric(this.reqId, TICK.SHORTABLE, 3));
    }
    this.lastTradeEndMs = t;
  }

  pump(nowMs: number): void {
    const t = this.view(nowMs);
    if (t <= this.lastTradeEndMs) return;
    const q = this.ctx.market.quote(this.instrument, t);
    const prevQuote = this.lastQuote;
    this.sendQuote(q, prevQuote);
    this.lastQuote = q;
    const trades = this.profile.trades ? this.ctx.market.trades(this.instrument, this.lastTradeEndMs, t) : [];
    this.lastTradeEndMs = t;
    if (this.profile.options) this.sendOptionComputations(t, q, prevQuote, trades[trades.length - 1]?.price);
    if (trades.length === 0) return;
    const fresh = !this.stats || this.stats.dayStartMs !== this.dayStart(t);
    const stats = this.dayStats(t);
    // A freshly computed day already holds these trades.
    if (!fresh) for (const tr of trades) this.applyTrade(stats, tr.price, tr.size);
    const last = trades[trades.length - 1]!;
    this.sendLast(last.price, last.size, last.timeMs);
    const { sv } = this.ctx;
    if (stats.open === undefined) {
      // The regular session opens during the stream: its first price becomes the day's OPEN.
      stats.open = this.sessionValues(t, "open").open;
      if (stats.open) this.ctx.send(msg.tickPrice(sv, this.reqId, this.tt(TICK.OPEN), stats.open, "0", 0));
    }
    if (stats.high) this.ctx.send(msg.tickPrice(sv, this.reqId, this.tt(TICK.HIGH), stats.high.toFixed(), "0", 0));
    if (stats.low) this.ctx.send(msg.tickPrice(sv, this.reqId, this.tt(TICK.LOW), stats.low.toFixed(), "0", 0));
    if (this.profile.sizes) this.ctx.send(msg.tickSize(sv, this.reqId, this.tt(TICK.VOLUME), stats.volume.toFixed()));
    if (this.o.genericTicks.has(233) && !this.delayed && this.profile.sizes) {
      const vwap = stats.volume.isZero() ? last.price : stats.pv.div(stats.volume).toDecimalPlaces(6).toFixed();
      this.ctx.send(msg.tickString(this.reqId, TICK.RT_VOLUME, `${last.price};${last.size};${last.timeMs};${stats.volume.toFixed()};${vwap};false`));
    }
  }

  /** Encoded frames of one round of quote ticks, for flood mode: BID/ASK pairs (ASK last), n rounded up. */
  floodFrames(nowMs: number, n: number, out: Field[][], stamp: string | undefined): void {
    const q = this.ctx.market.quote(this.instrument, this.view(nowMs));
    const { sv } = this.ctx;
    for (let i = 0; i < n; i += 2) {
      out.push(msg.tickPrice(sv, this.reqId, this.tt(TICK.BID), q.bid, stamp ?? q.bidSize, 0));
      out.push(msg.tickPrice(sv, this.reqId, this.tt(TICK.ASK), q.ask, stamp ?? q.askSize, 0));
    }
  }

  /**
   * tickOptionComputation for the bid and ask (volatility implied by that price) when they or the
   * underlying move, the last price after a trade, and the model whenever its price or the underlying moves.
   */
  private sendOptionComputations(t: number, q: Quote, prev: Quote | undefined, lastPrice: string | undefined): void {
    const { market, sv } = this.ctx;
    const model = market.optionComputation?.(this.instrument, t);
    if (!model) return;
    const undMoved = model.undPrice !== this.lastUnd;
    this.lastUnd = model.undPrice;
    const send = (tickType: number, price: string) => {
      const c = market.optionComputation?.(this.instrument, t, Number(price));
      if (c) this.ctx.send(msgAssets.tickOptionComputation(sv, this.reqId, this.tt(tickType), c));
    };
    if (!prev || prev.bid !== q.bid || undMoved) send(TICK.BID_OPTION, q.bid);
    if (!prev || prev.ask !== q.ask || undMoved) send(TICK.ASK_OPTION, q.ask);
    if (lastPrice !== undefined) send(TICK.LAST_OPTION, lastPrice);
    const key = model.optPrice.toFixed(6);
    if (undMoved || key !== this.lastModel) {
      this.lastModel = key;
      this.ctx.send(msgAssets.tickOptionComputation(sv, this.reqId, this.tt(TICK.MODEL_OPTION), model));
    }
  }

  private sendQuote(q: Quote, prev: Quote | undefined): void {
    if (!this.profile.quotes) return;
    const { sv } = this.ctx;
    // TICK_PRICE carries the size, but @stoqey/ib drops the derived BID_SIZE (tick type 0 is falsy), and
    // TWS itself sends the separate TICK_SIZE too: always follow a price with its explicit size tick.
    if (!prev || prev.bid !== q.bid) {
      this.ctx.send(msg.tickPrice(sv, this.reqId, this.tt(TICK.BID), q.bid, q.bidSize, 1));
      this.ctx.send(msg.tickSize(sv, this.reqId, this.tt(TICK.BID_SIZE), q.bidSize));
    } else if (prev.bidSize !== q.bidSize) {
      this.ctx.send(msg.tickSize(sv, this.reqId, this.tt(TICK.BID_SIZE), q.bidSize));
    }
    if (!prev || prev.ask !== q.ask) {
      this.ctx.send(msg.tickPrice(sv, this.reqId, this.tt(TICK.ASK), q.ask, q.askSize, 1));
      this.ctx.send(msg.tickSize(sv, this.reqId, this.tt(TICK.ASK_SIZE), q.askSize));
    } else if (prev.askSize !== q.askSize) {
      this.ctx.send(msg.tickSize(sv, this.reqId, this.tt(TICK.ASK_SIZE), q.askSize));
    }
  }

  private sendLast(price: string, size: string, timeMs: number): void {
    const { sv } = this.ctx;
    // An index's value goes out as LAST with size 0 and no size tick, as IB sends it.
    this.ctx.send(msg.tickPrice(sv, this.reqId, this.tt(TICK.LAST), price, this.profile.sizes ? size : "0", 0));
    if (this.profile.sizes) this.ctx.send(msg.tickSize(sv, this.reqId, this.tt(TICK.LAST_SIZE), size));
    this.ctx.send(msg.tickString(this.reqId, this.tt(TICK.LAST_TIMESTAMP), String(Math.floor(timeMs / 1000))));
  }

  /** The most recent trade before t: the last minute's trades, else the last 1-minute bar of the past day. */
  private lastTrade(t: number) {
    const { market } = this.ctx;
    const recent = market.trades(this.instrument, t - 60_000, t);
    if (recent.length > 0) return recent[recent.length - 1];
    const tSec = Math.floor(t / 1000);
    const bars = market.bars(this.instrument, { barSize: 60, fromSec: tSec - 86400, toSec: tSec, useRTH: false, whatToShow: this.instrument.tradesWhatToShow });
    const bar = bars[bars.length - 1];
    if (!bar) return undefined;
    const tr = market.trades(this.instrument, bar.startSec * 1000, Math.min(t, (bar.startSec + 60) * 1000));
    return tr[tr.length - 1];
  }

  /**
   * The official session values IB sends as OPEN (14) and CLOSE (9): for US stocks the regular session's
   * first price (09:30 ET, not the 04:00 pre-market print) and the previous trade day's regular close
   * (16:00, or 13:00 on an early close; not the 20:00 after-hours print); for 24-hour instruments the
   * session's own first and last prices. OPEN is undefined until the regular session has started.
   */
  private sessionValues(t: number, which: "open" | "both" = "both"): { open?: string; close?: string } {
    const { market } = this.ctx;
    const kind = this.instrument.session;
    const regular = (iv: { all: readonly Interval[]; rth: readonly Interval[] }) => (kind === "us-equity" ? iv.rth : iv.all);
    const rthOnly = kind === "us-equity";
    const what = this.instrument.tradesWhatToShow;
    const day = tradeDayOf(kind, t);
    const out: { open?: string; close?: string } = {};
    for (let d = day - 1; which === "both" && d > day - 15; d--) {
      const prev = tradeDay(kind, d);
      const last = prev && regular(prev)[regular(prev).length - 1];
      if (!last) continue;
      const end = Math.min(last[1], t);
      const bars = market.bars(this.instrument, { barSize: 60, fromSec: Math.floor(end / 1000) - 3600, toSec: Math.ceil(end / 1000), useRTH: rthOnly, whatToShow: what });
      out.close = bars[bars.length - 1]?.close;
      break;
    }
    const today = tradeDay(kind, day);
    const first = today && regular(today)[0];
    if (first && t >= first[0]) {
      const from = Math.floor(first[0] / 1000);
      const bar = market.bars(this.instrument, { barSize: 60, fromSec: from, toSec: from + 3600, useRTH: rthOnly, whatToShow: what })[0];
      if (bar && bar.startSec * 1000 <= t) out.open = bar.open;
    }
    return out;
  }

  private applyTrade(s: DayStats, price: string, size: string): void {
    const p = new Decimal(price);
    if (!s.high || p.gt(s.high)) s.high = p;
    if (!s.low || p.lt(s.low)) s.low = p;
    s.volume = s.volume.add(size);
    s.pv = s.pv.add(p.mul(size));
  }

  /** Midnight of t's calendar day in the instrument's time zone (volume/high/low reset there). */
  private dayStart(t: number): number {
    const tz = this.instrument.timeZoneId || "UTC";
    try {
      const p = zonedParts(t, tz);
      return zonedToEpochMs(+p.y, +p.mo, +p.d, 0, 0, 0, tz);
    } catch {
      return t - (t % 86_400_000);
    }
  }

  /** Day statistics (instrument-zone day), from hourly bars plus the trades of the current hour. */
  private dayStats(t: number): DayStats {
    const dayStartMs = this.dayStart(t);
    if (this.stats && this.stats.dayStartMs === dayStartMs) return this.stats;
    const s: DayStats = { dayStartMs, volume: new Decimal(0), pv: new Decimal(0) };
    const { market } = this.ctx;
    const tradesWts = this.instrument.tradesWhatToShow;
    const official = this.sessionValues(t);
    s.open = official.open;
    s.close = official.close;
    const hourStartSec = Math.floor(t / 3_600_000) * 3600;
    const bars = market.bars(this.instrument, { barSize: 3600, fromSec: dayStartMs / 1000, toSec: hourStartSec, useRTH: false, whatToShow: tradesWts });
    for (const b of bars) {
      const hi = new Decimal(b.high);
      const lo = new Decimal(b.low);
      if (!s.high || hi.gt(s.high)) s.high = hi;
      if (!s.low || lo.lt(s.low)) s.low = lo;
      if (Number(b.volume) > 0) {
        s.volume = s.volume.add(b.volume);
        s.pv = s.pv.add(new Decimal(b.wap).mul(b.volume));
      }
    }
    for (const tr of market.trades(this.instrument, Math.max(hourStartSec * 1000, dayStartMs), t)) this.applyTrade(s, tr.price, tr.size);
    this.stats = s;
    return s;
  }
}
