/**
 * Listed options, generated from the current date like the ES futures: stock options on AAPL and SPY,
 * SPX index options (monthly class SPX, weekly class SPXW) and options on the ES quarterlies (FOP).
 * A conId encodes class, expiry day, strike and right (`optionConId`), so any listed option resolves
 * from its conId alone; expired ones are not served (IB keeps no expired options for the API).
 * Strikes follow the underlying as IB's listings do: the step grid around the underlying's price at the
 * start of the current New York day (`StrikeReference`), plus the fixed grid around the base level.
 */
import { nyseHoliday } from "./calendar.js";
import { esContracts, ibHours, thirdFriday, type InstrumentModel } from "./instruments.js";
import type { VolSurface } from "./optionPricing.js";
import { NEW_YORK, tradeDay } from "./sessions.js";
import type { ContractQuery, InstrumentSpec, OptionChain, SessionKind } from "./types.js";
import { dayToYmd, dayToYyyymmdd, weekday, ymdToDay } from "./tz.js";

export interface OptionClass {
  /** Class number inside the conId. */
  code: number;
  symbol: string;
  tradingClass: string;
  secType: "OPT" | "FOP";
  underSecType: "STK" | "IND" | "FUT";
  /** STK / IND underlying; FOP: 0 (each expiry has its own future). */
  underConId: number;
  /** The contract's exchange, and every exchange it is listed on (secdef rows, accepted queries). */
  exchange: string;
  exchanges: readonly string[];
  multiplier: string;
  minTick: string;
  /**
   * Strike grids: every `step` within ±width of `base` (the underlying's base level, always listed) and
   * within ±width of the underlying's reference price of the day (see `StrikeReference`).
   */
  base: number;
  width: number;
  step: number;
  surface: VolSurface;
  timeZoneId: string;
  session: SessionKind;
  expiries(nowMs: number): Expiry[];
}

export interface Expiry {
  day: number;
  /** Trading stops (the RTH close of the day; ES options: the future's 09:30 ET expiry). */
  expiryMs: number;
  underConId: number;
  /** FOP: the future's localSymbol (ESZ6), the prefix of the option's. */
  futureLocal?: string;
}

export interface ListedOption {
  cls: OptionClass;
  exp: Expiry;
  strike: number;
  right: "C" | "P";
  conId: number;
}

const WEEKLIES = 4;
const MONTHLIES = 3;

/** A listed expiry that falls on an NYSE holiday moves to the day before. */
function listedDay(day: number): number {
  let d = day;
  while (nyseHoliday(d) !== undefined) d--;
  return d;
}

function rthClose(day: number): number {
  const td = tradeDay("us-rth", day);
  return td?.all[0]?.[1] ?? NEW_YORK.localToUtc(day, 16 * 60);
}

function expiry(day: number, underConId: number): Expiry {
  const d = listedDay(day);
  return { day: d, expiryMs: rthClose(d), underConId };
}

/** The next `n` Friday expiries that have not stopped trading at `nowMs`. */
function weeklies(nowMs: number, n: number, underConId: number): Expiry[] {
  const out: Expiry[] = [];
  let d = NEW_YORK.localDay(nowMs);
  d += (5 - weekday(d) + 7) % 7;
  for (; out.length < n; d += 7) {
    const e = expiry(d, underConId);
    if (e.expiryMs > nowMs) out.push(e);
  }
  return out;
}

/** The next `n` third-Friday (monthly) expiries that have not stopped trading. */
function monthlies(nowMs: number, n: number, underConId: number): Expiry[] {
  const out: Expiry[] = [];
  let { y, m } = dayToYmd(NEW_YORK.localDay(nowMs));
  while (out.length < n) {
    const e = expiry(thirdFriday(y, m), underConId);
    if (e.expiryMs > nowMs) out.push(e);
    if (++m > 12) (m = 1), y++;
  }
  return out;
}

function dedupe(list: Expiry[]): Expiry[] {
  const seen = new Map<number, Expiry>();
  for (const e of list) if (!seen.has(e.day)) seen.set(e.day, e);
  return [...seen.values()].sort((a, b) => a.day - b.day);
}

const STOCK_OPT_EXCHANGES = ["SMART", "CBOE", "AMEX", "ISE"] as const;
const EQUITY_SURFACE: VolSurface = { atm: 0.28, termSlope: -0.15, skew: -0.1, curvature: 0.04 };
const INDEX_SURFACE: VolSurface = { atm: 0.16, termSlope: 0.1, skew: -0.18, curvature: 0.05 };

function stockClass(code: number, symbol: string, underConId: number, base: number, width: number, step: number, surface: VolSurface): OptionClass {
  return {
    code,
    symbol,
    tradingClass: symbol,
    secType: "OPT",
    underSecType: "STK",
    underConId,
    exchange: "SMART",
    exchanges: STOCK_OPT_EXCHANGES,
    multiplier: "100",
    minTick: "0.01",
    base,
    width,
    step,
    surface,
    timeZoneId: "US/Eastern",
    session: "us-rth",
    expiries: (now) => dedupe([...weeklies(now, WEEKLIES, underConId), ...monthlies(now, MONTHLIES, underConId)]),
  };
}

function spxClass(code: number, tradingClass: string, expiries: (now: number) => Expiry[]): OptionClass {
  return {
    code,
    symbol: "SPX",
    tradingClass,
    secType: "OPT",
    underSecType: "IND",
    underConId: 416904,
    exchange: "SMART",
    exchanges: ["SMART", "CBOE"],
    multiplier: "100",
    minTick: "0.05",
    base: 6000,
    width: 0.1,
    step: 25,
    surface: INDEX_SURFACE,
    timeZoneId: "US/Eastern",
    session: "us-rth",
    expiries,
  };
}

export const OPTION_CLASSES: readonly OptionClass[] = [
  stockClass(0, "AAPL", 265598, 230, 0.35, 5, EQUITY_SURFACE),
  stockClass(1, "SPY", 756733, 580, 0.15, 1, { ...INDEX_SURFACE, atm: 0.15 }),
  spxClass(2, "SPX", (now) => monthlies(now, MONTHLIES, 416904)),
  spxClass(3, "SPXW", (now) => weeklies(now, WEEKLIES, 416904)),
  {
    code: 4,
    symbol: "ES",
    tradingClass: "ES",
    secType: "FOP",
    underSecType: "FUT",
    underConId: 0,
    exchange: "CME",
    exchanges: ["CME"],
    multiplier: "50",
    minTick: "0.25",
    base: 6000,
    width: 0.08,
    step: 25,
    surface: { ...INDEX_SURFACE, atm: 0.15 },
    timeZoneId: "US/Central",
    session: "cme-globex",
    expiries: (now) =>
      esContracts(now, false).map((f) => ({ day: NEW_YORK.localDay(f.expiryMs ?? 0), expiryMs: f.expiryMs ?? 0, underConId: f.conId, futureLocal: f.spec.localSymbol })),
  },
];

/**
 * The price an expiry's strikes are listed around on `nowMs`'s New York day: the underlying's (for ES
 * options the future's) model price at the start of that day, so deterministic per day and seed.
 * Undefined: the base grid alone.
 */
export type StrikeReference = (underConId: number, nowMs: number) => number | undefined;

/** A strike's index in the conId: a multiple of the step, 1…999 steps. */
const MAX_STRIKE_STEPS = 999;

/** Indices (strike / step) of the grid within ±width of a level. */
function gridRange(cls: OptionClass, level: number): [number, number] {
  const lo = Math.max(1, Math.ceil((level * (1 - cls.width)) / cls.step));
  const hi = Math.min(MAX_STRIKE_STEPS, Math.floor((level * (1 + cls.width)) / cls.step));
  return [lo, hi];
}

/** Listed strikes, ascending: the grid around the base level, and the one around `reference` if given. */
export function strikesOf(cls: OptionClass, reference?: number): number[] {
  const ranges = [gridRange(cls, cls.base)];
  if (reference !== undefined && Number.isFinite(reference) && reference > 0) ranges.push(gridRange(cls, reference));
  const idx = new Set<number>();
  for (const [lo, hi] of ranges) for (let i = lo; i <= hi; i++) idx.add(i);
  return [...idx].sort((a, b) => a - b).map((i) => i * cls.step);
}

/** Whether a strike is listed (on the base grid or the reference's). */
function isListedStrike(cls: OptionClass, strike: number, reference: number | undefined): boolean {
  const i = strike / cls.step;
  if (!Number.isInteger(i)) return false;
  const inRange = ([lo, hi]: [number, number]) => i >= lo && i <= hi;
  return inRange(gridRange(cls, cls.base)) || (reference !== undefined && reference > 0 && inRange(gridRange(cls, reference)));
}

/** The strikes listed for one expiry of a class on `nowMs`'s day. */
export function listedStrikes(cls: OptionClass, exp: Expiry, nowMs: number, ref?: StrikeReference): number[] {
  return strikesOf(cls, ref?.(exp.underConId, nowMs));
}

// --- conIds ------------------------------------------------------------------------------------------
/** 1e9 + ((class·20000 + days since 2020-01-01)·1000 + strike/step)·2 + (put ? 1 : 0): below 2³¹, clear of other conIds. */
const OPT_CONID_BASE = 1_000_000_000;
const DAY0 = ymdToDay(2020, 1, 1);

export function optionConId(cls: OptionClass, day: number, strike: number, right: "C" | "P"): number {
  return OPT_CONID_BASE + ((cls.code * 20000 + (day - DAY0)) * 1000 + strike / cls.step) * 2 + (right === "P" ? 1 : 0);
}

/** The listed option a conId names at `nowMs`, or undefined (not an option conId, expired, off the grids). */
export function optionByConId(conId: number, nowMs: number, ref?: StrikeReference): ListedOption | undefined {
  const x = conId - OPT_CONID_BASE;
  if (x < 0 || x >= 5 * 20000 * 1000 * 2) return undefined;
  const right = x % 2 === 1 ? "P" : "C";
  const rest = Math.floor(x / 2);
  const strikeIdx = rest % 1000;
  const dayCode = Math.floor(rest / 1000);
  const cls = OPTION_CLASSES[Math.floor(dayCode / 20000)];
  if (!cls) return undefined;
  const day = DAY0 + (dayCode % 20000);
  const strike = strikeIdx * cls.step;
  const exp = cls.expiries(nowMs).find((e) => e.day === day);
  if (!exp || !isListedStrike(cls, strike, ref?.(exp.underConId, nowMs))) return undefined;
  return { cls, exp, strike, right, conId };
}

// --- contract details --------------------------------------------------------------------------------
function occSymbol(o: ListedOption): string {
  const ymd = dayToYyyymmdd(o.exp.day).slice(2);
  return `${o.cls.tradingClass.padEnd(6, " ")}${ymd}${o.right}${String(Math.round(o.strike * 1000)).padStart(8, "0")}`;
}

const hoursCache = new Map<string, { trading: string; liquid: string }>();

/** Contract details of a listed option; `under` is the underlying's model (names, hours' zone). */
export function optionSpec(o: ListedOption, under: InstrumentModel, nowMs: number): InstrumentSpec {
  const { cls, exp } = o;
  const ymd = dayToYyyymmdd(exp.day);
  const key = `${cls.code}:${exp.day}:${NEW_YORK.localDay(nowMs)}`;
  let hours = hoursCache.get(key);
  if (!hours) {
    const pseudo = { ...under, session: cls.session, expiryMs: exp.expiryMs, spec: { ...under.spec, timeZoneId: cls.timeZoneId } };
    hours = { trading: ibHours(pseudo, nowMs, false), liquid: ibHours(pseudo, nowMs, true) };
    if (hoursCache.size > 500) hoursCache.clear();
    hoursCache.set(key, hours);
  }
  const fop = cls.secType === "FOP";
  return {
    conId: o.conId,
    symbol: cls.symbol,
    secType: cls.secType,
    lastTradeDateOrContractMonth: ymd,
    contractMonth: fop ? under.spec.contractMonth : ymd.slice(0, 6),
    multiplier: cls.multiplier,
    exchange: cls.exchange,
    primaryExch: "",
    currency: "USD",
    localSymbol: fop ? `${exp.futureLocal ?? "ES"} ${o.right}${o.strike}` : occSymbol(o),
    tradingClass: cls.tradingClass,
    marketName: cls.tradingClass,
    longName: under.spec.longName,
    minTick: cls.minTick,
    minSize: "1",
    sizeIncrement: "1",
    suggestedSizeIncrement: "1",
    orderTypes: "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,OPENCLOSE,PEGMIDVOL,PEGMKTVOL,PEGPRMVOL,PEGSRFVOL,POSTONLY,PRICECHK,REL,RELPCTOFS,RELSTK,SCALE,SCALERST,SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,VOLAT,WHATIF",
    validExchanges: cls.exchanges.join(","),
    marketRuleIds: cls.exchanges.map(() => (fop ? "67" : "32")).join(","),
    timeZoneId: cls.timeZoneId,
    tradingHours: hours.trading,
    liquidHours: hours.liquid,
    industry: under.spec.industry,
    category: under.spec.category,
    subcategory: under.spec.subcategory,
    stockType: "",
    session: cls.session,
    entitlement: "live",
    tradesWhatToShow: "TRADES",
    strike: String(o.strike),
    right: o.right,
    underConId: exp.underConId,
    underSymbol: cls.symbol,
    underSecType: cls.underSecType,
  };
}

// --- queries -----------------------------------------------------------------------------------------
const eq = (a: string | undefined, b: string): boolean => a === undefined || a === "" || a.toUpperCase() === b.toUpperCase();

function normRight(r: string | undefined): "C" | "P" | undefined {
  const u = (r ?? "").toUpperCase();
  return u === "C" || u === "CALL" ? "C" : u === "P" || u === "PUT" ? "P" : undefined;
}

/**
 * Every listed option matching a (partial) query, as TWS answers reqContractDetails: symbol + expiry
 * without strike gives every strike and right of that expiry. A query naming no symbol, local symbol or
 * conId, or a symbol without secType OPT/FOP, matches no option (the chains are thousands of contracts).
 */
export function findOptions(q: ContractQuery, nowMs: number, ref?: StrikeReference): ListedOption[] {
  if (q.secType && q.secType.toUpperCase() !== "OPT" && q.secType.toUpperCase() !== "FOP") return [];
  if (q.conId) {
    const o = optionByConId(q.conId, nowMs, ref);
    return o ? [o] : [];
  }
  // Without secType only a local symbol selects options (ES with a month means the future, as before).
  if (!q.localSymbol && (!q.symbol || !q.secType)) return [];
  const right = normRight(q.right);
  if (q.right && q.right !== "?" && !right) return [];
  const strike = q.strike && Number(q.strike) !== 0 ? Number(q.strike) : undefined;
  const exp = q.lastTradeDateOrContractMonth ?? "";
  const out: ListedOption[] = [];
  for (const cls of OPTION_CLASSES) {
    if (!eq(q.secType, cls.secType) || !eq(q.symbol, cls.symbol) || !eq(q.tradingClass, cls.tradingClass) || !eq(q.currency, "USD") || !eq(q.multiplier, cls.multiplier)) continue;
    if (q.exchange && !cls.exchanges.some((x) => eq(q.exchange, x))) continue;
    if (q.localSymbol && !q.localSymbol.toUpperCase().startsWith(cls.secType === "FOP" ? cls.symbol : cls.tradingClass.padEnd(6, " "))) continue;
    for (const e of cls.expiries(nowMs)) {
      const ymd = dayToYyyymmdd(e.day);
      if (exp && ymd !== exp && ymd.slice(0, 6) !== exp) continue;
      const reference = ref?.(e.underConId, nowMs);
      const strikes = strike === undefined ? strikesOf(cls, reference) : isListedStrike(cls, strike, reference) ? [strike] : [];
      for (const k of strikes)
        for (const r of right ? [right] : (["C", "P"] as const)) out.push({ cls, exp: e, strike: k, right: r, conId: optionConId(cls, e.day, k, r) });
    }
  }
  return out;
}

/**
 * reqSecDefOptParams: one row per exchange × trading class of the underlying's options. A FUT underlying
 * lists the options of that future only (its conId), on the exchange asked (futFopExchange). Strikes: every
 * strike listed for one of the row's expiries (ES options on several futures: the union of their grids).
 */
export function optionChainsFor(symbol: string, secType: string, conId: number, futFopExchange: string, nowMs: number, ref?: StrikeReference): OptionChain[] {
  const rows: OptionChain[] = [];
  for (const cls of OPTION_CLASSES) {
    if (cls.symbol !== symbol.toUpperCase() || cls.underSecType !== secType.toUpperCase()) continue;
    let exps = cls.expiries(nowMs);
    if (cls.secType === "FOP") {
      if (futFopExchange && !eq(futFopExchange, cls.exchange)) continue;
      if (conId) exps = exps.filter((e) => e.underConId === conId);
    } else if (conId && conId !== cls.underConId) continue;
    if (exps.length === 0) continue;
    const expirations = exps.map((e) => dayToYyyymmdd(e.day));
    const strikes = [...new Set(exps.flatMap((e) => listedStrikes(cls, e, nowMs, ref)))].sort((a, b) => a - b);
    for (const exchange of cls.secType === "FOP" ? [cls.exchange] : cls.exchanges) {
      rows.push({ exchange, underlyingConId: conId || cls.underConId, tradingClass: cls.tradingClass, multiplier: cls.multiplier, expirations, strikes });
    }
  }
  return rows;
}

/** Which derivative secTypes exist on an underlying (symbolSamples' derivativeSecTypes). */
export function derivativeSecTypes(symbol: string, secType: string): string[] {
  const out = new Set<string>();
  for (const c of OPTION_CLASSES) if (c.symbol === symbol && c.underSecType === secType) out.add(c.secType);
  return [...out];
}
