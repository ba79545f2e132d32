/**
 * Historical bars (reqHistoricalData, keepUpToDate updates), head timestamps and 5-second real-time bars,
 * all from the market model. Complete bars come from `market.bars`; the bar still forming at "now" is
 * aggregated from the trades (or quotes) up to now, so no future data leaks out.
 */
import { Decimal } from "decimal.js";
import type { Bar, BarQuery, InstrumentSpec, Market, Trade, WhatToShow } from "../market/types.js";
import { MIN_SV } from "../messages/ids.js";
import * as msg from "../messages/outbound.js";
import { formatYmd, formatZoned } from "./ibDateTime.js";
import type { FeedContext, Subscription } from "./feed.js";

export const WHAT_TO_SHOW: readonly WhatToShow[] = ["TRADES", "AGGTRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST"];

export function isTradeData(w: WhatToShow): boolean {
  return w === "TRADES" || w === "AGGTRADES" || w === "ADJUSTED_LAST";
}

/** A bar size as `BarQuery` takes it: seconds, or "week" / "month" (market's `barSizeForQuery` of `parseBarSize`). */
export type BarSize = BarQuery["barSize"];

/** Seconds of a bar, calendar sizes approximated (sanity limits and the forming bar's search window). */
export function barSeconds(b: BarSize): number {
  return b === "week" ? 7 * 86400 : b === "month" ? 31 * 86400 : b;
}

/**
 * IB date text of a bar start: daily and longer bars "yyyyMMdd"; intraday epoch seconds (formatDate 2) or,
 * from sv 174 (instrument time zone), "yyyyMMdd HH:mm:ss <instrument TZ>"; before that TWS sent
 * "yyyyMMdd  HH:mm:ss" (two spaces) in the Gateway's zone (UTC here).
 */
export function formatBarDate(startSec: number, barSize: BarSize, formatDate: number, tz: string, sv: number): string {
  const tzName = tz || "UTC";
  if (barSize === "week" || barSize === "month" || barSize >= 86400) return formatYmd(startSec * 1000, tzName);
  if (formatDate === 2) return String(startSec);
  if (sv < MIN_SV.INSTRUMENT_TIMEZONE) return formatZoned(startSec * 1000, "UTC").replace(" ", "  ");
  return `${formatZoned(startSec * 1000, tzName)} ${tzName}`;
}

/** Aggregates trades into one bar (undefined when there are none). */
export function barFromTrades(startSec: number, trades: readonly Trade[]): Bar | undefined {
  const first = trades[0];
  if (!first) return undefined;
  const acc = new BarAccumulator(startSec);
  for (const t of trades) acc.addTrade(t);
  return acc.bar();
}

export class BarAccumulator {
  private open?: string;
  private close?: string;
  private high?: Decimal;
  private low?: Decimal;
  private volume = new Decimal(0);
  private pv = new Decimal(0);
  private count = 0;
  private readonly quoteOnly: boolean;
  constructor(
    readonly startSec: number,
    quoteOnly = false,
  ) {
    this.quoteOnly = quoteOnly;
  }
  addTrade(t: Trade): void {
    this.addPrice(t.price);
    this.volume = this.volume.add(t.size);
    this.pv = this.pv.add(new Decimal(t.price).mul(t.size));
    this.count++;
  }
  /** Merges a complete bar (in time order). */
  addBar(b: Bar): void {
    if (this.open === undefined) this.open = b.open;
    this.close = b.close;
    const hi = new Decimal(b.high);
    const lo = new Decimal(b.low);
    if (!this.high || hi.gt(this.high)) this.high = hi;
    if (!this.low || lo.lt(this.low)) this.low = lo;
    const v = new Decimal(b.volume);
    if (v.gt(0)) {
      this.volume = this.volume.add(v);
      this.pv = this.pv.add(new Decimal(b.wap).mul(v));
    }
    this.count += Math.max(0, b.count);
  }
  addPrice(price: string): void {
    const p = new Decimal(price);
    if (this.open === undefined) this.open = price;
    this.close = price;
    if (!this.high || p.gt(this.high)) this.high = p;
    if (!this.low || p.lt(this.low)) this.low = p;
  }
  get empty(): boolean {
    return this.open === undefined;
  }
  bar(): Bar | undefined {
    if (this.open === undefined || this.close === undefined || !this.high || !this.low) return undefined;
    const wap = this.quoteOnly ? "-1" : this.volume.isZero() ? this.close : this.pv.div(this.volume).toDecimalPlaces(8).toFixed();
    return {
      startSec: this.startSec,
      open: this.open,
      high: this.high.toFixed(),
      low: this.low.toFixed(),
      close: this.close,
      volume: this.quoteOnly ? "-1" : this.volume.toFixed(),
      wap,
      count: this.quoteOnly ? -1 : this.count,
    };
  }
}

/** The price a quote contributes to a quote-based bar. */
export function quotePrice(market: Market, inst: InstrumentSpec, timeMs: number, what: WhatToShow): string {
  const q = market.quote(inst, timeMs);
  if (what === "BID") return q.bid;
  if (what === "ASK") return q.ask;
  return new Decimal(q.bid).add(q.ask).div(2).toFixed();
}

/** End (exclusive, epoch s) of the bar starting at startSec. */
export function barEndSec(startSec: number, size: BarSize): number {
  if (size === "week") return startSec + 7 * 86400;
  if (size === "month") {
    const d = new Date(startSec * 1000);
    d.setUTCMonth(d.getUTCMonth() + 1);
    return Math.floor(d.getTime() / 1000);
  }
  return startSec + size;
}

/** Start of the bar that contains `nowSec`, using the model's alignment when it has a bar there. */
export function currentBarStart(market: Market, inst: InstrumentSpec, size: BarSize, nowSec: number, useRTH: boolean, what: WhatToShow): number {
  const span = barSeconds(size);
  const bars = market.bars(inst, { barSize: size, fromSec: nowSec - span + 1, toSec: nowSec + 1, useRTH, whatToShow: what });
  const last = bars[bars.length - 1];
  if (last && last.startSec <= nowSec && barEndSec(last.startSec, size) > nowSec) return last.startSec;
  if (typeof size === "number") return Math.floor(nowSec / size) * size;
  return nowSec - (nowSec % 86400);
}

/**
 * Bars for [fromSec, toSec) as of `nowMs`: complete bars from the model, the bar in progress rebuilt from
 * data up to now, nothing after now.
 */
export function barsAsOf(
  market: Market,
  inst: InstrumentSpec,
  q: { barSize: BarSize; fromSec: number; toSec: number; useRTH: boolean; whatToShow: WhatToShow },
  nowMs: number,
): Bar[] {
  const nowSec = Math.floor(nowMs / 1000);
  const to = Math.min(q.toSec, nowSec + 1);
  const bars = market.bars(inst, { ...q, toSec: to });
  const last = bars[bars.length - 1];
  if (last && barEndSec(last.startSec, q.barSize) * 1000 > nowMs) {
    const partial = partialBar(market, inst, last.startSec, nowMs, q.useRTH, q.whatToShow);
    if (partial) bars[bars.length - 1] = partial;
    else bars.pop();
  }
  return bars;
}

/**
 * A bar from startSec up to (excluding) nowMs. Trade bars are merged from the model's complete hourly
 * and minute bars plus the trades of the current minute (cheap even for a month-long bar, and equal to
 * aggregating every trade, since the model's bars are aggregates of its trades).
 */
export function partialBar(market: Market, inst: InstrumentSpec, startSec: number, nowMs: number, useRTH: boolean, what: WhatToShow): Bar | undefined {
  if (isTradeData(what)) {
    const nowSec = Math.floor(nowMs / 1000);
    const minuteStart = Math.max(startSec, Math.floor(nowSec / 60) * 60);
    const hourStart = Math.max(startSec, Math.floor(nowSec / 3600) * 3600);
    const firstHour = Math.ceil(startSec / 3600) * 3600;
    const parts: Bar[] = [];
    const q = (barSize: number, fromSec: number, toSec: number) =>
      toSec > fromSec ? market.bars(inst, { barSize, fromSec, toSec, useRTH, whatToShow: what }) : [];
    if (firstHour < hourStart) {
      const hours = q(3600, firstHour, hourStart);
      if (hours.every((b) => b.startSec % 3600 === 0)) {
        parts.push(...q(60, startSec, firstHour), ...hours, ...q(60, hourStart, minuteStart));
      } else {
        parts.push(...q(60, startSec, minuteStart));
      }
    } else {
      parts.push(...q(60, startSec, minuteStart));
    }
    let trades = market.trades(inst, minuteStart * 1000, nowMs);
    if (useRTH) trades = trades.filter((t) => market.isOpen(inst, t.timeMs, true));
    const acc = new BarAccumulator(startSec);
    for (const b of parts) acc.addBar(b);
    for (const t of trades) acc.addTrade(t);
    return acc.bar();
  }
  const acc = new BarAccumulator(startSec, true);
  const span = nowMs - startSec * 1000;
  const step = Math.max(1000, Math.ceil(span / 120));
  for (let t = startSec * 1000; t < nowMs; t += step) {
    if (market.isOpen(inst, t, useRTH)) acc.addPrice(quotePrice(market, inst, t, what));
  }
  return acc.bar();
}

/** keepUpToDate: msg 90 with the bar in progress whenever it changes. */
export class HistoryUpdateFeed implements Subscription {
  readonly kind = "history" as const;
  stalledUntil = 0;
  private barStart = -1;
  private acc: BarAccumulator | undefined;
  private fromMs = 0;
  private lastSent = "";

  constructor(
    private readonly ctx: FeedContext,
    readonly reqId: number,
    readonly instrument: InstrumentSpec,
    private readonly barSize: BarSize,
    private readonly useRTH: boolean,
    private readonly what: WhatToShow,
    private readonly formatDate: number,
  ) {}

  pump(nowMs: number): void {
    const { market } = this.ctx;
    const nowSec = Math.floor(nowMs / 1000);
    if (this.barStart < 0 || nowSec >= barEndSec(this.barStart, this.barSize)) {
      this.barStart = currentBarStart(market, this.instrument, this.barSize, nowSec, this.useRTH, this.what);
      this.acc = new BarAccumulator(this.barStart, !isTradeData(this.what));
      this.fromMs = this.barStart * 1000;
      if (isTradeData(this.what) && nowMs - this.fromMs > 60_000) {
        // Seed a long bar from the model's complete bars instead of replaying every trade.
        const seeded = partialBar(market, this.instrument, this.barStart, nowMs, this.useRTH, this.what);
        if (seeded) this.acc.addBar(seeded);
        this.fromMs = nowMs;
      }
    }
    const acc = this.acc!;
    if (nowMs <= this.fromMs) return;
    if (isTradeData(this.what)) {
      for (const t of market.trades(this.instrument, this.fromMs, nowMs)) {
        if (!this.useRTH || market.isOpen(this.instrument, t.timeMs, true)) acc.addTrade(t);
      }
    } else if (market.isOpen(this.instrument, nowMs, this.useRTH)) {
      acc.addPrice(quotePrice(market, this.instrument, nowMs, this.what));
    }
    this.fromMs = nowMs;
    const bar = acc.bar();
    if (!bar) return;
    const key = `${bar.startSec}|${bar.open}|${bar.high}|${bar.low}|${bar.close}|${bar.volume}|${bar.count}`;
    if (key === this.lastSent) return;
    this.lastSent = key;
    const date = formatBarDate(bar.startSec, this.barSize, this.formatDate, this.instrument.timeZoneId, this.ctx.sv);
    this.ctx.send(msg.historicalDataUpdate(this.ctx.sv, this.reqId, date, bar));
  }
}

/** reqRealTimeBars: one 5-second bar after each 5-second boundary. */
export class RealTimeBarsFeed implements Subscription {
  readonly kind = "realTimeBars" as const;
  stalledUntil = 0;
  private nextStartSec: number;
  private lastClose: string | undefined;

  constructor(
    private readonly ctx: FeedContext,
    readonly reqId: number,
    readonly instrument: InstrumentSpec,
    private readonly what: WhatToShow,
    private readonly useRTH: boolean,
    startMs: number,
  ) {
    this.nextStartSec = Math.floor(startMs / 5000) * 5;
  }

  pump(nowMs: number): void {
    const { market } = this.ctx;
    // Emit every completed 5-s bar, but never replay more than a minute after a stall.
    if ((nowMs / 1000 - this.nextStartSec) > 60) this.nextStartSec = Math.floor(nowMs / 5000) * 5 - 60;
    while ((this.nextStartSec + 5) * 1000 <= nowMs) {
      const start = this.nextStartSec;
      this.nextStartSec += 5;
      if (!market.isOpen(this.instrument, start * 1000, this.useRTH)) continue;
      let bar: Bar | undefined;
      if (isTradeData(this.what)) {
        bar = barFromTrades(start, market.trades(this.instrument, start * 1000, (start + 5) * 1000));
        if (!bar && this.lastClose !== undefined) {
          const c = this.lastClose;
          bar = { startSec: start, open: c, high: c, low: c, close: c, volume: "0", wap: c, count: 0 };
        }
      } else {
        const acc = new BarAccumulator(start, true);
        for (let t = start * 1000; t < (start + 5) * 1000; t += 250) acc.addPrice(quotePrice(market, this.instrument, t, this.what));
        const b = acc.bar();
        bar = b && { ...b, volume: "0", wap: "0", count: 0 };
      }
      if (!bar) continue;
      this.lastClose = bar.close;
      this.ctx.send(msg.realTimeBar(this.ctx.sv, this.reqId, bar));
    }
  }
}
