/**
 * Market data of listed options, priced from the simulated underlying at the same instant: quotes
 * (theoretical price ± spread), sparse trades riding on the underlying's trades, bars mapped from the
 * underlying's bars, and IB's option computations. Deterministic: a function of (seed, option, time).
 */
import { parseScaled, formatMultiple, type ScaledDecimal } from "./decimals.js";
import { buildDepth } from "./depth.js";
import { hash3, hash4, nth, unit } from "./hash.js";
import type { InstrumentModel } from "./instruments.js";
import { isTrading } from "./minutes.js";
import { optionByConId, type ListedOption, type StrikeReference } from "./optionChains.js";
import { black76, blackScholes, impliedVol, quoteAround, RISK_FREE_RATE, surfaceVol, type Greeks } from "./optionPricing.js";
import type { Bar, BarQuery, DepthSnapshot, InstrumentSpec, OptionComputation, Quote, Trade } from "./types.js";
import { DAY_MS } from "./tz.js";

const YEAR_MS = 365 * DAY_MS;
const SALT_SIZE = 0x6f7073; // "ops"
const SALT_TRADE = 0x6f7074; // "opt"
/** Share of the underlying's prints that also print in a given option. */
const TRADE_SHARE = 1 / 25;
const OPTION_VENUES = ["CBOE", "ISE", "AMEX", "PHLX", "BOX", "MIAX"] as const;
/** A listed option has history from this long before its expiry. */
const LISTING_MS = 400 * DAY_MS;

/** What the option market needs from the base market. */
export interface UnderlyingAccess {
  seed: number;
  now(): number;
  freezeWhenClosed: boolean;
  model(conId: number): InstrumentModel | undefined;
  /** Where the day's strikes are listed (optionChains.ts). */
  strikeReference?: StrikeReference;
  /** The underlying's price at an instant: indices their value, others the quote's mid. */
  price(m: InstrumentModel, t: number): number;
  trades(m: InstrumentModel, fromMs: number, toMs: number): Trade[];
  bars(m: InstrumentModel, q: BarQuery): Bar[];
  /** Last instant of the last trading minute before t (a closed market shows that book). */
  lastTradingInstant(m: InstrumentModel, t: number): number | undefined;
}

interface Resolved {
  o: ListedOption;
  under: InstrumentModel;
  /** The underlying model with the option's session, expiry and tick: hours, book time, depth. */
  pseudo: InstrumentModel;
  tick: ScaledDecimal;
  tickSize: number;
}

export interface OptionState {
  S: number;
  T: number;
  sigma: number;
  g: Greeks;
}

export function createOptionMarket(u: UnderlyingAccess) {
  const cache = new Map<number, Resolved>();

  const resolve = (spec: InstrumentSpec): Resolved => {
    let r = cache.get(spec.conId);
    if (r) return r;
    const o = optionByConId(spec.conId, u.now(), u.strikeReference);
    const under = o && u.model(o.exp.underConId);
    if (!o || !under) throw new Error(`unknown option conId ${spec.conId}`);
    const tick = parseScaled(o.cls.minTick);
    const pseudo: InstrumentModel = {
      ...under,
      spec,
      conId: spec.conId,
      session: o.cls.session,
      expiryMs: o.exp.expiryMs,
      headMs: Math.max(under.headMs, o.exp.expiryMs - LISTING_MS),
      tick,
      tickSize: Number(o.cls.minTick),
      sizeStep: parseScaled("1"),
      unitsMin: 1,
      unitsMax: 50,
      marketMakers: o.cls.secType === "FOP" ? ["CME"] : OPTION_VENUES,
    };
    r = { o, under, pseudo, tick, tickSize: Number(o.cls.minTick) };
    if (cache.size > 10_000) cache.clear();
    cache.set(spec.conId, r);
    return r;
  };

  /** The instant whose book is shown (frozen at the last trading instant when closed, if asked). */
  const bookTime = (r: Resolved, t: number): number => {
    if (!u.freezeWhenClosed || isTrading(r.pseudo, t, false)) return t;
    return u.lastTradingInstant(r.pseudo, t) ?? t;
  };

  const price = (r: Resolved, S: number, t: number, sigma?: number): OptionState => {
    const { cls, exp, strike, right } = r.o;
    const T = Math.max(0, exp.expiryMs - t) / YEAR_MS;
    const fop = cls.secType === "FOP";
    const F = fop ? S : S * Math.exp(RISK_FREE_RATE * T);
    const s = sigma ?? surfaceVol(cls.surface, F, strike, T);
    const g = fop ? black76(S, strike, T, RISK_FREE_RATE, s, right) : blackScholes(S, strike, T, RISK_FREE_RATE, s, right);
    return { S, T, sigma: s, g };
  };

  const stateAt = (r: Resolved, t: number): OptionState => price(r, u.price(r.under, t), t);

  const fmt = (r: Resolved, ticks: number) => formatMultiple(ticks, r.tick);

  const quote = (spec: InstrumentSpec, timeMs: number): Quote => {
    const r = resolve(spec);
    const t = bookTime(r, timeMs);
    const q = quoteAround(stateAt(r, t).g.price, r.tickSize);
    const h = hash4(u.seed, spec.conId, SALT_SIZE, Math.floor(t / 100));
    const size = (x: number) => String(1 + Math.floor(x * x * 100));
    return { timeMs, bid: fmt(r, q.bidTicks), ask: fmt(r, q.askTicks), bidSize: size(unit(h)), askSize: size(unit(nth(h, 1))) };
  };

  /** Prints on a hashed share of the underlying's trades (during the option's hours), at the model price then. */
  const trades = (spec: InstrumentSpec, fromMs: number, toMs: number): Trade[] => {
    const r = resolve(spec);
    const out: Trade[] = [];
    for (const tr of u.trades(r.under, Math.max(fromMs, r.pseudo.headMs), Math.min(toMs, r.o.exp.expiryMs))) {
      const h = hash3(u.seed ^ SALT_TRADE, spec.conId, tr.timeMs);
      if (unit(h) >= TRADE_SHARE || !isTrading(r.pseudo, tr.timeMs, false)) continue;
      const ticks = Math.round(price(r, Number(tr.price), tr.timeMs).g.price / r.tickSize);
      if (ticks <= 0) continue;
      const v = unit(nth(h, 1));
      const exchange = r.o.cls.secType === "FOP" ? "CME" : (OPTION_VENUES[Math.floor(unit(nth(h, 2)) * OPTION_VENUES.length)] ?? "CBOE");
      out.push({ timeMs: tr.timeMs, price: fmt(r, ticks), size: String(1 + Math.floor(v * v * 20)), exchange });
    }
    return out;
  };

  /**
   * Bars mapped from the underlying's bars through the price at the bar's start (calls rise with the
   * underlying, puts fall: a put's high comes from the underlying's low). TRADES volume is a hashed share
   * of the underlying's. Stock and index options trade regular hours only.
   */
  const bars = (spec: InstrumentSpec, q: BarQuery): Bar[] => {
    const r = resolve(spec);
    const call = r.o.right === "C";
    const trade = q.whatToShow === "TRADES";
    const fromSec = Math.max(q.fromSec, Math.floor(r.pseudo.headMs / 1000));
    const toSec = Math.min(q.toSec, Math.ceil(r.o.exp.expiryMs / 1000));
    if (toSec <= fromSec) return [];
    const rth = r.o.cls.session === "us-rth" ? true : q.useRTH;
    const base = u.bars(r.under, { ...q, fromSec, toSec, useRTH: rth, whatToShow: trade ? r.under.spec.tradesWhatToShow : "MIDPOINT" });
    const side = q.whatToShow === "BID" ? -1 : q.whatToShow === "ASK" ? 1 : 0;
    const at = (S: string, t: number, s: -1 | 0 | 1): number => {
      const qq = quoteAround(price(r, Number(S), t).g.price, r.tickSize);
      return s < 0 ? qq.bidTicks : s > 0 ? qq.askTicks : qq.midTicks;
    };
    return base.map((b) => {
      const t = b.startSec * 1000;
      const hiS = call ? b.high : b.low;
      const loS = call ? b.low : b.high;
      if (q.whatToShow === "BID_ASK") {
        return { ...b, open: fmt(r, at(b.open, t, -1)), high: fmt(r, at(hiS, t, 1)), low: fmt(r, at(loS, t, -1)), close: fmt(r, at(b.close, t, 1)) };
      }
      const bar: Bar = { ...b, open: fmt(r, at(b.open, t, side)), high: fmt(r, at(hiS, t, side)), low: fmt(r, at(loS, t, side)), close: fmt(r, at(b.close, t, side)) };
      if (!trade) return bar;
      const share = 0.5 + unit(hash3(u.seed ^ SALT_TRADE, spec.conId, b.startSec));
      const volume = Math.floor((Number(b.volume) * TRADE_SHARE * share) / 10);
      return { ...bar, volume: String(volume), wap: volume > 0 ? fmt(r, at(b.wap, t, 0)) : bar.close, count: Math.ceil(volume / 3) };
    });
  };

  const depth = (spec: InstrumentSpec, timeMs: number, rows: number): DepthSnapshot => {
    const r = resolve(spec);
    const t = bookTime(r, timeMs);
    const q = quoteAround(stateAt(r, t).g.price, r.tickSize);
    const h = hash4(u.seed, spec.conId, SALT_SIZE, Math.floor(t / 100));
    const top = { bidTicks: Math.max(1, q.bidTicks), askTicks: Math.max(2, q.askTicks), bidUnits: 1 + Math.floor(unit(h) * 50), askUnits: 1 + Math.floor(unit(nth(h, 1)) * 50) };
    return { ...buildDepth(u.seed, r.pseudo, top, t, rows), timeMs };
  };

  /** IB's option computation for a price (implied volatility and greeks at it), or the model's. */
  const computation = (spec: InstrumentSpec, timeMs: number, optPrice?: number): OptionComputation => {
    const r = resolve(spec);
    const t = bookTime(r, timeMs);
    const model = stateAt(r, t);
    const pack = (st: OptionState, p: number): OptionComputation => ({ impliedVol: st.sigma, delta: st.g.delta, optPrice: p, gamma: st.g.gamma, vega: st.g.vega, theta: st.g.theta, undPrice: st.S });
    if (optPrice === undefined) return pack(model, model.g.price);
    const iv = model.T > 0 ? impliedVol(optPrice, (v) => price(r, model.S, t, v).g.price) : undefined;
    if (iv === undefined) return { impliedVol: undefined, delta: undefined, optPrice, gamma: undefined, vega: undefined, theta: undefined, undPrice: model.S };
    return pack(price(r, model.S, t, iv), optPrice);
  };

  return {
    isOpen: (spec: InstrumentSpec, t: number, useRTH: boolean) => isTrading(resolve(spec).pseudo, t, useRTH),
    quote,
    trades,
    bars,
    depth,
    computation,
    modelPrice: (spec: InstrumentSpec, t: number) => stateAt(resolve(spec), bookTime(resolve(spec), t)).g.price,
    headSec: (spec: InstrumentSpec) => Math.floor(resolve(spec).pseudo.headMs / 1000),
  };
}

export type OptionMarket = ReturnType<typeof createOptionMarket>;
