/**
 * Live candles for one Barfinex interval, built from trade prints and/or IB bars (5-second real-time bars, or
 * history bars in aggregateBars), with the boundary rules of calendar.ts.
 *
 * Emission contract (every method returns the candles it emits, oldest first):
 *  - each change of the forming candle → a copy with complete=false;
 *  - exactly one complete=true candle per interval that had data, when data for a later interval arrives,
 *    when advance(nowMs) sees nowMs >= end + closeDelayMs, or on finish().
 * Intervals without data produce nothing. Data for an interval older than the forming one (or already closed)
 * is ignored and counted in lateCount: a closed candle is never reopened.
 *
 * Within the forming candle, open/close follow timestamps, not arrival (an out-of-order trade inside the
 * interval updates high/low/volume but becomes open/close only if it is earliest/latest); ties go by arrival.
 *
 * VWAP = Σ(price·size) / Σ(size), computed exactly and rounded half-even to 8 decimal places
 * (VWAP_DECIMALS), the only rounding step. A bar contributes vwap·volume; a bar with volume but no vwap makes the
 * candle's vwap unknown (absent). tradeCount adds 1 per trade and bar.count (0 when absent) per bar.
 *
 * Feed one source per time span: trades and bars covering the same period would be counted twice.
 */
import { assertTimeZone, type IntervalBounds, intervalBounds } from "./calendar.js";
import { Dec, type Decimal, ZERO } from "./decimal.js";
import { describeAcceptedIntervals, type Interval, type IntervalName, parseInterval } from "./intervals.js";
import type { Bar, Candle, TradePrint } from "./marketData.js";

export const VWAP_DECIMALS = 8;
const VWAP_SCALE = new Dec(10).pow(VWAP_DECIMALS);

export interface CandleAggregatorOptions {
  /** IANA zone for day/week/month boundaries; default "UTC". Fixed intervals ignore it. */
  timeZone?: string;
  /** advance() closes a candle only once nowMs >= end + closeDelayMs, leaving room for trades still in flight. */
  closeDelayMs?: number;
}

/** A trade or a bar, normalised. */
interface Sample {
  atMs: number;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  volume: Decimal;
  /** Σ price·size of the sample; undefined when unknown. */
  turnover: Decimal | undefined;
  count: number;
}

interface Forming {
  bounds: IntervalBounds;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  openAtMs: number;
  closeAtMs: number;
  volume: Decimal;
  turnover: Decimal;
  turnoverKnown: boolean;
  tradeCount: number;
  afterGap: boolean;
}

/** Σ(p·s)/Σ(s) rounded half-even to VWAP_DECIMALS, by integer division so no intermediate rounding happens. */
export function vwapOf(turnover: Decimal, volume: Decimal): Decimal | undefined {
  if (volume.isZero()) return undefined;
  const scaled = turnover.times(VWAP_SCALE);
  const q = scaled.divToInt(volume);
  const remainder = scaled.minus(q.times(volume)).abs();
  const cmp = remainder.times(2).comparedTo(volume.abs());
  const awayFromZero = cmp > 0 || (cmp === 0 && !q.mod(2).isZero());
  const sign = scaled.isNeg() !== volume.isNeg() ? -1 : 1;
  return (awayFromZero ? q.plus(sign) : q).div(VWAP_SCALE);
}

function resolveInterval(interval: Interval | IntervalName | string): Interval {
  if (typeof interval !== "string") return interval;
  const parsed = parseInterval(interval);
  if (parsed === undefined) {
    throw new RangeError(`unknown interval "${interval}"; accepted: ${describeAcceptedIntervals()}`);
  }
  return parsed;
}


export class CandleAggregator {
  readonly interval: Interval;
  readonly timeZone: string;
  private readonly closeDelayMs: number;
  private forming: Forming | undefined;
  /** End of the last closed candle: nothing before it may open a candle again. */
  private closedUntilMs = Number.NEGATIVE_INFINITY;
  /** A gap seen while no candle covered it: "next" = flag the next candle, or the interval it happened in. */
  private pendingGap: IntervalBounds | "next" | undefined;
  private late = 0;
  private rejected = 0;

  constructor(interval: Interval | IntervalName | string, options: CandleAggregatorOptions = {}) {
    this.interval = resolveInterval(interval);
    this.timeZone = options.timeZone ?? "UTC";
    assertTimeZone(this.timeZone);
    this.closeDelayMs = options.closeDelayMs ?? 0;
    if (!(Number.isFinite(this.closeDelayMs) && this.closeDelayMs >= 0)) {
      throw new RangeError(`closeDelayMs must be a non-negative number, got ${this.closeDelayMs}`);
    }
  }

  /** Samples ignored because their interval was older than the forming one or already closed. */
  get lateCount(): number {
    return this.late;
  }

  /** Samples ignored because of a non-finite time, price or size, or a negative size. */
  get rejectedCount(): number {
    return this.rejected;
  }

  /** The forming candle (complete=false), if any. */
  current(): Candle | undefined {
    return this.forming === undefined ? undefined : this.toCandle(this.forming, false);
  }

  /** Bounds of the interval containing ms, with this aggregator's interval and zone. */
  boundsAt(ms: number): IntervalBounds {
    return intervalBounds(ms, this.interval, this.timeZone);
  }

  addTrade(t: TradePrint): Candle[] {
    return this.ingest({
      atMs: t.timeMs,
      open: t.price,
      high: t.price,
      low: t.price,
      close: t.price,
      volume: t.size,
      turnover: t.price.isFinite() && t.size.isFinite() ? t.price.times(t.size) : undefined,
      count: 1,
    });
  }

  /** Merge a bar (assigned to the interval containing its startMs). */
  addBar(b: Bar): Candle[] {
    let turnover: Decimal | undefined;
    if (b.volume.isZero()) turnover = ZERO;
    else if (b.vwap !== undefined && b.vwap.isFinite()) turnover = b.vwap.times(b.volume);
    return this.ingest({
      atMs: b.startMs,
      open: b.open,
      high: b.high,
      low: b.low,
      close: b.close,
      volume: b.volume,
      turnover,
      count: b.count ?? 0,
    });
  }

  /** Close the forming candle if nowMs is past its end (+ closeDelayMs). Called from the adapter's timer. */
  advance(nowMs: number): Candle[] {
    const f = this.forming;
    if (f === undefined || !(nowMs >= f.bounds.endMs + this.closeDelayMs)) return [];
    return [this.close()];
  }

  /** Close the forming candle now, whatever the time (end of a history stream, unsubscribe). */
  finish(): Candle[] {
    return this.forming === undefined ? [] : [this.close()];
  }

  /**
   * A feed gap (disconnect, reconnect, IB "data lost"): the forming candle may miss trades, so it is flagged
   * afterGap and keeps aggregating. With nowMs, finished candles are closed first and, if no candle covers nowMs,
   * the candle that later opens in nowMs's interval is flagged; without nowMs the next candle opened is.
   * Call it when the gap starts and when it ends, so candles on both sides are flagged.
   */
  markGap(nowMs?: number): Candle[] {
    const out = nowMs === undefined ? [] : this.advance(nowMs);
    const f = this.forming;
    if (f !== undefined && !f.afterGap) {
      f.afterGap = true;
      out.push(this.toCandle(f, false));
    }
    if (nowMs === undefined) {
      if (f === undefined) this.pendingGap = "next";
    } else {
      const b = this.boundsAt(nowMs);
      if (f === undefined || b.startMs >= f.bounds.endMs) this.pendingGap = b;
    }
    return out;
  }

  private ingest(s: Sample): Candle[] {
    if (
      !Number.isFinite(s.atMs) ||
      ![s.open, s.high, s.low, s.close, s.volume].every((d) => d.isFinite()) ||
      s.volume.lt(0)
    ) {
      this.rejected += 1;
      return [];
    }
    const out: Candle[] = [];
    if (this.forming !== undefined && s.atMs >= this.forming.bounds.endMs) out.push(this.close());
    let f = this.forming;
    if (f === undefined) {
      if (s.atMs < this.closedUntilMs) {
        this.late += 1;
        return out;
      }
      f = this.open(s);
    } else if (s.atMs < f.bounds.startMs) {
      this.late += 1;
      return out;
    } else {
      this.merge(f, s);
    }
    out.push(this.toCandle(f, false));
    return out;
  }

  private open(s: Sample): Forming {
    const bounds = this.boundsAt(s.atMs);
    let afterGap = false;
    const gap = this.pendingGap;
    if (gap === "next") {
      afterGap = true;
      this.pendingGap = undefined;
    } else if (gap !== undefined && bounds.startMs >= gap.startMs) {
      afterGap = bounds.startMs === gap.startMs;
      this.pendingGap = undefined;
    }
    const f: Forming = {
      bounds,
      open: s.open,
      high: s.high,
      low: s.low,
      close: s.close,
      openAtMs: s.atMs,
      closeAtMs: s.atMs,
      volume: s.volume,
      turnover: s.turnover ?? ZERO,
      turnoverKnown: s.turnover !== undefined,
      tradeCount: s.count,
      afterGap,
    };
    this.forming = f;
    return f;
  }

  private merge(f: Forming, s: Sample): void {
    if (s.atMs < f.openAtMs) {
      f.open = s.open;
      f.openAtMs = s.atMs;
    }
    if (s.atMs >= f.closeAtMs) {
      f.close = s.close;
      f.closeAtMs = s.atMs;
    }
    if (s.high.gt(f.high)) f.high = s.high;
    if (s.low.lt(f.low)) f.low = s.low;
    f.volume = f.volume.plus(s.volume);
    if (s.turnover === undefined) f.turnoverKnown = false;
    else f.turnover = f.turnover.plus(s.turnover);
    f.tradeCount += s.count;
  }

  private close(): Candle {
    const f = this.forming;
    if (f === undefined) throw new Error("no forming candle");
    this.forming = undefined;
    this.closedUntilMs = Math.max(this.closedUntilMs, f.bounds.endMs);
    return this.toCandle(f, true);
  }

  private toCandle(f: Forming, complete: boolean): Candle {
    const candle: Candle = {
      startMs: f.bounds.startMs,
      interval: this.interval.name,
      open: f.open,
      high: f.high,
      low: f.low,
      close: f.close,
      volume: f.volume,
      tradeCount: f.tradeCount,
      complete,
    };
    const vwap = f.turnoverKnown ? vwapOf(f.turnover, f.volume) : undefined;
    if (vwap !== undefined) candle.vwap = vwap;
    if (f.afterGap) candle.afterGap = true;
    return candle;
  }
}

export interface AggregateBarsOptions {
  /** When given, a last candle whose interval has not ended by nowMs is returned with complete=false. */
  nowMs?: number;
}

/**
 * History: aggregate bars (e.g. 1-minute bars → h1) with exactly the live boundary and merge rules.
 * Bars are taken in startMs order; each is assigned to the interval containing its startMs.
 */
export function aggregateBars(
  bars: readonly Bar[],
  interval: Interval | IntervalName | string,
  timeZone = "UTC",
  options: AggregateBarsOptions = {},
): Candle[] {
  const agg = new CandleAggregator(interval, { timeZone });
  const out: Candle[] = [];
  const sorted = [...bars].sort((a, b) => a.startMs - b.startMs);
  for (const bar of sorted) for (const c of agg.addBar(bar)) if (c.complete) out.push(c);
  const last = agg.current();
  if (last !== undefined) {
    const ended = options.nowMs === undefined || options.nowMs >= agg.boundsAt(last.startMs).endMs;
    if (ended) out.push(...agg.finish());
    else out.push(last);
  }
  return out;
}
