/**
 * Historical bars. Sub-minute bars aggregate materialised trades; bars of one minute and more
 * aggregate the O(1) per-minute aggregates (which equal the minute's trades, see priceProcess.ts);
 * day / week / month bars group whole trade days.
 *
 * Quote-derived bars (documented simplification): within a minute the quote is last trade − bidOff /
 * + askOff with that minute's offsets, so BID / ASK / MIDPOINT bars are the trade path shifted by the
 * offsets, sampled at each trade (OHLC exact with respect to quote()). BID_ASK follows IB's layout:
 * open = average bid, high = max ask, low = min bid, close = average ask, where the averages are over
 * per-minute means ((open+close)/2 ± offset) — or over trades for sub-minute bars. MIDPOINT / BID_ASK
 * prices may sit on half ticks. Volume, wap and count are −1 for all of them, like IB.
 */
import { formatHalfMultiple, formatMultiple, formatWap } from "./decimals.js";
import type { InstrumentModel } from "./instruments.js";
import { MinuteScanner } from "./minutes.js";
import { materialise, type MarketContext, type MinuteAgg, type MinutePlan, type RawTrade } from "./priceProcess.js";
import { NEW_YORK, tradeDay } from "./sessions.js";
import type { Bar, BarQuery, WhatToShow } from "./types.js";
import { MINUTE_MS, dayToYmd, weekday, ymdToDay, zone } from "./tz.js";

const PV_FLUSH = 2 ** 52;

function isTradeData(w: WhatToShow): boolean {
  return w === "TRADES" || w === "AGGTRADES" || w === "ADJUSTED_LAST";
}

/** Shift of the sampled price from the trade price, in half ticks, for single-sided quote bars. */
function shift2(w: WhatToShow, p: MinutePlan): number {
  switch (w) {
    case "BID":
      return -2 * p.bidOff;
    case "ASK":
      return 2 * p.askOff;
    case "MIDPOINT":
      return p.askOff - p.bidOff;
    default:
      return 0;
  }
}

/** Accumulates one bar; prices in half ticks so midpoints stay exact integers. */
class BarAcc {
  has = false;
  o2 = 0;
  h2 = 0;
  l2 = 0;
  c2 = 0;
  volume = 0;
  count = 0;
  pv = 0;
  pvBig = 0n;
  samples = 0;
  bidAvg2 = 0;
  askAvg2 = 0;

  constructor(
    readonly startSec: number,
    private readonly what: WhatToShow,
  ) {}

  private prices(o2: number, h2: number, l2: number, c2: number): void {
    if (!this.has) {
      this.has = true;
      this.o2 = o2;
      this.h2 = h2;
      this.l2 = l2;
    } else {
      if (h2 > this.h2) this.h2 = h2;
      if (l2 < this.l2) this.l2 = l2;
    }
    this.c2 = c2;
  }

  private addPv(pv: number): void {
    this.pv += pv;
    if (this.pv > PV_FLUSH) {
      this.pvBig += BigInt(this.pv);
      this.pv = 0;
    }
  }

  addMinute(a: MinuteAgg, p: MinutePlan): void {
    const w = this.what;
    if (w === "BID_ASK") {
      this.prices(0, 2 * (a.h + p.askOff), 2 * (a.l - p.bidOff), 0);
      this.samples++;
      this.bidAvg2 += a.o + a.c - 2 * p.bidOff;
      this.askAvg2 += a.o + a.c + 2 * p.askOff;
      return;
    }
    const s = shift2(w, p);
    this.prices(2 * a.o + s, 2 * a.h + s, 2 * a.l + s, 2 * a.c + s);
    this.volume += a.volume;
    this.count += a.count;
    this.addPv(a.pv);
  }

  /** A trade; `units` 0 marks a "no trade in this bucket" sample at the last price. */
  addTrade(ticks: number, units: number, p: MinutePlan): void {
    const w = this.what;
    if (w === "BID_ASK") {
      this.prices(0, 2 * (ticks + p.askOff), 2 * (ticks - p.bidOff), 0);
      this.samples++;
      this.bidAvg2 += 2 * (ticks - p.bidOff);
      this.askAvg2 += 2 * (ticks + p.askOff);
      return;
    }
    const v2 = 2 * ticks + shift2(w, p);
    this.prices(v2, v2, v2, v2);
    if (units > 0) {
      this.volume += units;
      this.count++;
      this.addPv(ticks * units);
    }
  }

  toBar(model: InstrumentModel): Bar {
    const t = model.tick;
    if (isTradeData(this.what)) {
      const close = formatHalfMultiple(this.c2, t);
      return {
        startSec: this.startSec,
        open: formatHalfMultiple(this.o2, t),
        high: formatHalfMultiple(this.h2, t),
        low: formatHalfMultiple(this.l2, t),
        close,
        volume: formatMultiple(this.volume, model.sizeStep),
        wap: this.volume > 0 ? formatWap(this.pvBig + BigInt(this.pv), this.volume, t) : close,
        count: this.count,
      };
    }
    let o2 = this.o2;
    let c2 = this.c2;
    if (this.what === "BID_ASK") {
      o2 = Math.round(this.bidAvg2 / this.samples);
      c2 = Math.round(this.askAvg2 / this.samples);
    }
    return {
      startSec: this.startSec,
      open: formatHalfMultiple(o2, t),
      high: formatHalfMultiple(this.h2, t),
      low: formatHalfMultiple(this.l2, t),
      close: formatHalfMultiple(c2, t),
      volume: "-1",
      wap: "-1",
      count: -1,
    };
  }
}

/** Bars of `barSize` seconds below one minute: trades bucketed; quiet buckets repeat the last price. */
function subMinuteBars(scanner: MinuteScanner, model: InstrumentModel, q: BarQuery, size: number): Bar[] {
  const out: Bar[] = [];
  const fromMs = q.fromSec * 1000;
  const toMs = q.toSec * 1000;
  const perMinute = 60 / size;
  scanner.scan(fromMs, toMs, q.useRTH, (plan) => {
    const trades = materialise(plan, model.tradeExchanges.length);
    const minuteStart = plan.minute * MINUTE_MS;
    let last = plan.o; // the previous minute's close
    let i = 0;
    for (let b = 0; b < perMinute; b++) {
      const startMs = minuteStart + b * size * 1000;
      const endMs = startMs + size * 1000;
      const acc = startMs >= fromMs && startMs < toMs ? new BarAcc(startMs / 1000, q.whatToShow) : undefined;
      let any = false;
      for (; i < trades.length && (trades[i] as RawTrade).timeMs < endMs; i++) {
        const tr = trades[i] as RawTrade;
        acc?.addTrade(tr.ticks, tr.units, plan);
        last = tr.ticks;
        any = true;
      }
      if (!acc) continue;
      if (!any) acc.addTrade(last, 0, plan);
      out.push(acc.toBar(model));
    }
  });
  return out;
}

/** Intraday bars of 1 min … 8 hours. Sizes dividing an hour align to the clock; longer ones to NY local midnight. */
function intradayBars(scanner: MinuteScanner, model: InstrumentModel, q: BarQuery, size: number): Bar[] {
  const out: Bar[] = [];
  const utcAligned = 3600 % size === 0;
  let memoDay = Number.NaN;
  let memoK = Number.NaN;
  let memoStart = 0;
  const bucketOf = (ms: number): number => {
    if (utcAligned) return Math.floor(ms / 1000 / size) * size;
    const { day, minute } = NEW_YORK.localDayMinute(ms);
    const k = Math.floor((minute * 60) / size);
    if (day !== memoDay || k !== memoK) {
      memoDay = day;
      memoK = k;
      memoStart = NEW_YORK.localToUtc(day, (k * size) / 60) / 1000;
    }
    return memoStart;
  };
  const scanTo = utcAligned ? Math.ceil(q.toSec / size) * size : q.toSec + size + 3600;
  let acc: BarAcc | undefined;
  scanner.scan(q.fromSec * 1000, scanTo * 1000, q.useRTH, (plan, agg) => {
    const start = bucketOf(plan.minute * MINUTE_MS);
    if (start < q.fromSec || start >= q.toSec) return;
    if (!acc || acc.startSec !== start) {
      if (acc) out.push(acc.toBar(model));
      acc = new BarAcc(start, q.whatToShow);
    }
    acc.addMinute(agg, plan);
  });
  if (acc) out.push(acc.toBar(model));
  return out;
}

/** Day / week / month bars over trade days, labelled at local midnight (contract time zone) of the day, Monday, or the 1st. */
function calendarBars(scanner: MinuteScanner, model: InstrumentModel, q: BarQuery, unit: "day" | "week" | "month"): Bar[] {
  const out: Bar[] = [];
  const tz = zone(model.spec.timeZoneId);
  const labelDay = (d: number): number => {
    if (unit === "day") return d;
    if (unit === "week") return d - ((weekday(d) + 6) % 7);
    const { y, m } = dayToYmd(d);
    return ymdToDay(y, m, 1);
  };
  const firstDay = NEW_YORK.localDay(q.fromSec * 1000) - (unit === "day" ? 2 : unit === "week" ? 8 : 32);
  const lastDay = NEW_YORK.localDay(q.toSec * 1000) + (unit === "day" ? 2 : unit === "week" ? 8 : 32);
  let acc: BarAcc | undefined;
  for (let d = firstDay; d <= lastDay; d++) {
    const td = tradeDay(model.session, d);
    if (!td) continue;
    const start = tz.localToUtc(labelDay(d), 0) / 1000;
    if (start < q.fromSec || start >= q.toSec) continue;
    scanner.scanIntervals(td.all, td.rth, -Infinity, Infinity, q.useRTH, (plan, agg) => {
      if (!acc || acc.startSec !== start) {
        if (acc) out.push(acc.toBar(model));
        acc = new BarAcc(start, q.whatToShow);
      }
      acc.addMinute(agg, plan);
    });
  }
  if (acc) out.push(acc.toBar(model));
  return out;
}

export function computeBars(ctx: MarketContext, model: InstrumentModel, q: BarQuery): Bar[] {
  if (!(q.toSec > q.fromSec)) return [];
  const scanner = new MinuteScanner(ctx, model);
  if (q.barSize === "week" || q.barSize === "month") return calendarBars(scanner, model, q, q.barSize);
  const size = q.barSize;
  if (!Number.isInteger(size) || size < 1) throw new Error(`invalid bar size ${size}`);
  if (size >= 86400) return calendarBars(scanner, model, q, "day");
  if (size < 60) {
    if (60 % size !== 0) throw new Error(`bar size ${size}s must divide a minute`);
    return subMinuteBars(scanner, model, q, size);
  }
  if (size % 60 !== 0 || 86400 % size !== 0) throw new Error(`bar size ${size}s must be whole minutes dividing a day`);
  return intradayBars(scanner, model, q, size);
}

