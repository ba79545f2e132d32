/**
 * Iteration over the trading minutes of an instrument. Session boundaries are whole minutes, so a
 * minute is either entirely tradable or not; consecutive minutes reuse the previous close as open
 * (the chaining rule), halving the noise evaluations of long scans.
 */
import type { InstrumentModel } from "./instruments.js";
import { aggregatePlan as aggregatePlan_, LevelField, materialise, newPlan, planMinute as planMinute_, type MarketContext, type MinuteAgg, type MinutePlan, type RawTrade } from "./priceProcess.js";
// Local bindings: hot loops then call these directly, not through a transpiler's export getters.
const aggregatePlan = aggregatePlan_;
const planMinute = planMinute_;
import { isSessionOpen, tradeDaysBetween, type Interval } from "./sessions.js";
import { MINUTE_MS } from "./tz.js";

/** Is the instrument listed and not expired at this instant? */
export function isActive(model: InstrumentModel, ms: number): boolean {
  return ms >= model.headMs && (model.expiryMs === undefined || ms < model.expiryMs);
}

export function isTrading(model: InstrumentModel, ms: number, rthOnly: boolean): boolean {
  return isActive(model, ms) && isSessionOpen(model.session, ms, rthOnly);
}

export type MinuteVisitor = (plan: MinutePlan, agg: MinuteAgg, rth: boolean) => void;

/**
 * Trading minutes overlapping [fromMs, toMs) in time order (only regular-hours minutes if rthOnly).
 * The plan / agg objects are reused between calls: copy what you keep.
 */
export class MinuteScanner {
  private readonly plan = newPlan();
  private readonly agg: MinuteAgg = { o: 0, h: 0, l: 0, c: 0, count: 0, volume: 0, pv: 0 };
  private lastMinute = Number.NaN;
  private lastClose = 0;
  private readonly level: LevelField;

  constructor(
    private readonly ctx: MarketContext,
    private readonly model: InstrumentModel,
  ) {
    this.level = new LevelField(ctx, model);
  }

  /** Plan of one trading minute (caller guarantees it trades; rth selects the trade rate). */
  planOf(minute: number, rth: boolean): MinutePlan {
    const o = minute === this.lastMinute + 1 ? this.lastClose : this.level.openTicks(minute);
    const c = this.level.openTicks(minute + 1);
    this.lastMinute = minute;
    this.lastClose = c;
    return planMinute(this.ctx, this.model, minute, o, c, rth, this.plan);
  }

  /** Visit all trading minutes of the given intervals (sorted, disjoint) clipped to [fromMs, toMs). */
  scan(fromMs: number, toMs: number, rthOnly: boolean, visit: MinuteVisitor): void {
    for (const td of tradeDaysBetween(this.model.session, fromMs, toMs)) {
      this.scanIntervals(td.all, td.rth, fromMs, toMs, rthOnly, visit);
    }
  }

  scanIntervals(all: readonly Interval[], rthIntervals: readonly Interval[], fromMs: number, toMs: number, rthOnly: boolean, visit: MinuteVisitor): void {
    const m = this.model;
    const lo = Math.max(fromMs, m.headMs);
    const hi = m.expiryMs === undefined ? toMs : Math.min(toMs, m.expiryMs);
    for (const [a, b] of rthOnly ? rthIntervals : all) {
      const first = Math.floor(Math.max(a, lo) / MINUTE_MS);
      const end = Math.ceil(Math.min(b, hi) / MINUTE_MS);
      for (let minute = first; minute < end; minute++) {
        const t = minute * MINUTE_MS;
        let rth = rthOnly;
        if (!rthOnly) for (const [ra, rb] of rthIntervals) if (t >= ra && t < rb) rth = true;
        const plan = this.planOf(minute, rth);
        visit(plan, aggregatePlan(plan, this.agg), rth);
      }
    }
  }

  /** The materialised trades of trading minutes overlapping [fromMs, toMs). */
  trades(fromMs: number, toMs: number, visit: (plan: MinutePlan, trades: RawTrade[]) => void): void {
    this.scan(fromMs, toMs, false, (plan) => visit(plan, materialise(plan, this.model.tradeExchanges.length)));
  }
}
