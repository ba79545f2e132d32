/**
 * createMarket: wires the universe, the minute atom, bars, quotes and depth behind the Market
 * interface. The only state is caches; every answer is a pure function of (seed, instrument, time).
 */
import { computeBars } from "./bars.js";
import { formatMultiple } from "./decimals.js";
import { buildDepth, type TopOfBook } from "./depth.js";
import { hash4, nth, unit } from "./hash.js";
import { esContracts, modelByConId as baseModelByConId, staticModels as baseStaticModels, withHours, type InstrumentModel } from "./instruments.js";
import { findOptions, optionChainsFor, optionSpec, type StrikeReference } from "./optionChains.js";
import { createOptionMarket } from "./optionMarket.js";
import { otherModels } from "./otherInstruments.js";
import { isTrading, MinuteScanner } from "./minutes.js";
import { materialise, minuteOpenTicks, type MarketContext, type MinutePlan, type RawTrade } from "./priceProcess.js";
import { isSessionOpen, NEW_YORK, tradeDay, tradeDayOf } from "./sessions.js";
import type { Bar, BarQuery, ContractQuery, DepthSnapshot, InstrumentSpec, Market, MarketOptions, Quote, Trade, WhatToShow } from "./types.js";
import { MINUTE_MS } from "./tz.js";

const SALT_QUOTE = 0x71756f; // "quo"
const staticModels = (): InstrumentModel[] => [...baseStaticModels(), ...otherModels()];
const modelByConId = (conId: number): InstrumentModel | undefined => baseModelByConId(conId) ?? otherModels().find((m) => m.conId === conId);
const isOption = (s: InstrumentSpec): boolean => s.secType === "OPT" || s.secType === "FOP";
const QUOTE_BUCKET_MS = 100;
const MINUTE_CACHE = 64;

interface MinuteTrades {
  plan: MinutePlan;
  trades: RawTrade[];
}

export function createMarket(options: MarketOptions): Market {
  const ctx: MarketContext = { seed: options.seed | 0, rateScale: options.tradeRateScale ?? 1 };
  const now = options.now ?? Date.now;
  const models = new Map<number, InstrumentModel>();
  const minuteCache = new Map<string, MinuteTrades>();
  let universe: { day: number; specs: InstrumentSpec[] } | undefined;

  const model = (spec: InstrumentSpec): InstrumentModel => {
    let m = models.get(spec.conId);
    if (!m) {
      m = modelByConId(spec.conId);
      if (!m) throw new Error(`unknown instrument conId ${spec.conId} (${spec.symbol})`);
      models.set(spec.conId, m);
    }
    return m;
  };

  /** Plan + trades of a trading minute, LRU-cached for quote/depth polling. */
  const minute = (m: InstrumentModel, idx: number): MinuteTrades => {
    const key = `${m.conId}:${idx}`;
    const hit = minuteCache.get(key);
    if (hit) {
      minuteCache.delete(key);
      minuteCache.set(key, hit);
      return hit;
    }
    const rth = isSessionOpen(m.session, idx * MINUTE_MS, true);
    const plan = { ...new MinuteScanner(ctx, m).planOf(idx, rth) };
    const entry = { plan, trades: materialise(plan, m.tradeExchanges.length) };
    minuteCache.set(key, entry);
    if (minuteCache.size > MINUTE_CACHE) minuteCache.delete(minuteCache.keys().next().value as string);
    return entry;
  };

  /** Last trading minute strictly before `t` (searching back ≤ 10 trade days), if any. */
  const lastTradingMinuteBefore = (m: InstrumentModel, t: number): number | undefined => {
    const limit = m.expiryMs === undefined ? t : Math.min(t, m.expiryMs);
    const d0 = tradeDayOf(m.session, limit);
    for (let d = d0; d > d0 - 10; d--) {
      const td = tradeDay(m.session, d);
      if (!td) continue;
      for (let i = td.all.length - 1; i >= 0; i--) {
        const [a, b] = td.all[i] as readonly [number, number];
        const end = Math.min(b, limit);
        if (end > Math.max(a, m.headMs)) return Math.floor((end - 1) / MINUTE_MS);
      }
    }
    return undefined;
  };

  const topOfBook = (m: InstrumentModel, t: number): TopOfBook & { lastTicks: number } => {
    let last: number;
    let plan: MinutePlan | undefined;
    const idx = Math.floor(t / MINUTE_MS);
    if (isTrading(m, t, false)) {
      const mt = minute(m, idx);
      plan = mt.plan;
      last = plan.o; // before the minute's first print: the previous close, which equals the open
      for (const tr of mt.trades) {
        if (tr.timeMs > t) break;
        last = tr.ticks;
      }
    } else {
      const prev = lastTradingMinuteBefore(m, t);
      if (prev !== undefined) {
        plan = minute(m, prev).plan;
        last = plan.c;
      } else {
        last = minuteOpenTicks(ctx, m, Math.max(idx, Math.floor(m.headMs / MINUTE_MS)));
      }
    }
    const bidOff = plan?.bidOff ?? 0;
    const askOff = plan?.askOff ?? 1;
    const hq = hash4(ctx.seed, m.conId, SALT_QUOTE, Math.floor(t / QUOTE_BUCKET_MS));
    const size = (u: number): number => m.unitsMin + Math.floor(u * u * (m.unitsMax * 2 - m.unitsMin + 1));
    return {
      lastTicks: last,
      bidTicks: Math.max(1, last - bidOff),
      askTicks: Math.max(2, last + askOff),
      bidUnits: size(unit(hq)),
      askUnits: size(unit(nth(hq, 1))),
    };
  };

  /**
   * The instant whose book a quote or depth request at `t` shows: `t` while the instrument trades, else the
   * last instant of its last trading minute. A closed market looks closed, as IB's data does: no new
   * prices, and sizes and depth levels frozen at the close instead of flickering every 100 ms.
   */
  const bookTime = (m: InstrumentModel, t: number): number => {
    if (!options.freezeWhenClosed || isTrading(m, t, false)) return t;
    const prev = lastTradingMinuteBefore(m, t);
    return prev === undefined ? t : (prev + 1) * MINUTE_MS - 1;
  };

  const instruments = (): InstrumentSpec[] => {
    const n = now();
    const day = NEW_YORK.localDay(n);
    if (!universe || universe.day !== day) {
      universe = { day, specs: [...staticModels(), ...esContracts(n, false)].map((m) => withHours(m, n)) };
    }
    return universe.specs;
  };

  /**
   * Option strikes are listed around the underlying's model price at the start of the New York day
   * (deterministic per day and seed, steady through the day); cached per underlying and day.
   */
  const strikeRefs = new Map<string, number | undefined>();
  const strikeReference: StrikeReference = (underConId, nowMs) => {
    const day = NEW_YORK.localDay(nowMs);
    const key = `${underConId}:${day}`;
    if (strikeRefs.has(key)) return strikeRefs.get(key);
    const m = modelByConId(underConId);
    const ref = m ? topOfBook(m, NEW_YORK.localToUtc(day, 0)).lastTicks * m.tickSize : undefined;
    if (strikeRefs.size > 1000) strikeRefs.clear();
    strikeRefs.set(key, ref);
    return ref;
  };

  const findContracts = (q: ContractQuery): InstrumentSpec[] => {
    const n = now();
    const eq = (a: string | undefined, b: string): boolean => a === undefined || a === "" || a.toUpperCase() === b.toUpperCase();
    // An option asked for on one of its exchanges (CBOE, ISE…) is answered on that exchange, as IB does.
    const onExchange = (s: InstrumentSpec): InstrumentSpec => {
      const x = q.exchange?.toUpperCase();
      return x && x !== s.exchange && s.validExchanges.split(",").includes(x) ? { ...s, exchange: x } : s;
    };
    const options = findOptions(q, n, strikeReference).flatMap((o) => {
      const under = modelByConId(o.exp.underConId);
      return under ? [onExchange(optionSpec(o, under, n))] : [];
    });
    if (q.secType && isOption({ secType: q.secType.toUpperCase() } as InstrumentSpec)) return options.filter((s) => eq(q.localSymbol, s.localSymbol));
    let candidates: InstrumentModel[] = [...staticModels(), ...esContracts(n, q.includeExpired ?? false)];
    if (q.conId) {
      const byId = modelByConId(q.conId);
      const expired = byId?.expiryMs !== undefined && byId.expiryMs <= n;
      candidates = byId && (!expired || q.includeExpired) ? [byId] : [];
    }
    const secId = q.secId?.toUpperCase();
    const found = candidates
      .filter((m) => {
        const s = m.spec;
        if (secId && !(s.secIds ?? []).some((x) => eq(q.secIdType, x.tag) && x.value === secId)) return false;
        if (!eq(q.symbol, s.symbol) || !eq(q.secType, s.secType) || !eq(q.currency, s.currency) || !eq(q.localSymbol, s.localSymbol)) return false;
        if (q.exchange && !eq(q.exchange, s.exchange) && !eq(q.exchange, s.primaryExch) && !s.validExchanges.split(",").some((x) => eq(q.exchange, x))) return false;
        const exp = q.lastTradeDateOrContractMonth ?? "";
        if (exp && exp !== s.lastTradeDateOrContractMonth && exp !== s.contractMonth) return false;
        return true;
      })
      .map((m) => withHours(m, n));
    return [...found, ...options.filter((s) => eq(q.localSymbol, s.localSymbol))];
  };

  /** Underlying price for option pricing: an index its value, anything else the quote's mid. */
  const underPrice = (m: InstrumentModel, t: number): number => {
    const top = topOfBook(m, bookTime(m, t));
    return m.spec.secType === "IND" ? top.lastTicks * m.tickSize : ((top.bidTicks + top.askTicks) / 2) * m.tickSize;
  };

  const rawTrades = (m: InstrumentModel, fromMs: number, toMs: number): Trade[] => {
    const out: Trade[] = [];
    new MinuteScanner(ctx, m).trades(fromMs, toMs, (_plan, trades) => {
      for (const tr of trades) {
        if (tr.timeMs < fromMs || tr.timeMs >= toMs) continue;
        out.push({ timeMs: tr.timeMs, price: formatMultiple(tr.ticks, m.tick), size: formatMultiple(tr.units, m.sizeStep), exchange: m.tradeExchanges[tr.exchange] ?? m.spec.exchange });
      }
    });
    return out;
  };

  const opts = createOptionMarket({
    seed: ctx.seed,
    now,
    freezeWhenClosed: options.freezeWhenClosed ?? false,
    model: (conId) => modelByConId(conId),
    strikeReference,
    price: underPrice,
    trades: rawTrades,
    bars: (m, q) => computeBars(ctx, m, q),
    lastTradingInstant: (m, t) => {
      const prev = lastTradingMinuteBefore(m, t);
      return prev === undefined ? undefined : (prev + 1) * MINUTE_MS - 1;
    },
  });

  /** What IB has for the other asset classes: index prints without size, no bond trades, one fund NAV a day. */
  const bars = (spec: InstrumentSpec, q: BarQuery): Bar[] => {
    if (isOption(spec)) return opts.bars(spec, q);
    const m = model(spec);
    const trade = q.whatToShow === "TRADES" || q.whatToShow === "AGGTRADES" || q.whatToShow === "ADJUSTED_LAST";
    if (spec.secType === "BOND" && trade) return [];
    if (spec.secType === "FUND") {
      if (!trade || (typeof q.barSize === "number" && q.barSize < 86400)) return [];
      return computeBars(ctx, m, { ...q, useRTH: true }).map((b) => ({ ...b, open: b.close, high: b.close, low: b.close, volume: "0", wap: b.close, count: 0 }));
    }
    const out = computeBars(ctx, m, q);
    if (spec.secType === "IND") return trade ? out.map((b) => ({ ...b, volume: "0", wap: "0", count: 0 })) : [];
    return out;
  };

  return {
    seed: ctx.seed,
    instruments,
    findContracts,
    isOpen: (spec, timeMs, useRTH) => (isOption(spec) ? opts.isOpen(spec, timeMs, useRTH) : isTrading(model(spec), timeMs, useRTH)),
    trades: (spec, fromMs, toMs): Trade[] => {
      if (isOption(spec)) return opts.trades(spec, fromMs, toMs);
      if (spec.secType === "BOND" || spec.secType === "FUND") return [];
      const out = rawTrades(model(spec), fromMs, toMs);
      return spec.secType === "IND" ? out.map((t) => ({ ...t, size: "0" })) : out;
    },
    quote: (spec, timeMs): Quote => {
      if (isOption(spec)) return opts.quote(spec, timeMs);
      const m = model(spec);
      const top = topOfBook(m, bookTime(m, timeMs));
      return {
        timeMs,
        bid: formatMultiple(top.bidTicks, m.tick),
        ask: formatMultiple(top.askTicks, m.tick),
        bidSize: formatMultiple(top.bidUnits, m.sizeStep),
        askSize: formatMultiple(top.askUnits, m.sizeStep),
      };
    },
    depth: (spec, timeMs, rows): DepthSnapshot => {
      if (isOption(spec)) return opts.depth(spec, timeMs, rows);
      const m = model(spec);
      const t = bookTime(m, timeMs);
      return { ...buildDepth(ctx.seed, m, topOfBook(m, t), t, rows), timeMs };
    },
    bars,
    optionComputation: (spec, timeMs, price) => (isOption(spec) ? opts.computation(spec, timeMs, price) : undefined),
    optionChains: (symbol, secType, conId, exchange) => optionChainsFor(symbol, secType, conId, exchange, now(), strikeReference),
    modelPrice: (spec, timeMs) => {
      if (isOption(spec)) return opts.modelPrice(spec, timeMs);
      const m = model(spec);
      return topOfBook(m, bookTime(m, timeMs)).lastTicks * m.tickSize;
    },
    headTimestampSec: (spec, _whatToShow: WhatToShow, _useRTH: boolean) => {
      if (isOption(spec)) return opts.headSec(spec);
      // Listing instants are set at a regular-session open, so useRTH does not move them.
      const m = model(spec);
      return Math.floor(m.headMs / 1000);
    },
  };
}

