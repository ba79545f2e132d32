/**
 * The built-in instrument universe: IB-looking contract details plus the per-instrument parameters of
 * the price process (base level, volatility, trade rate, lot sizes). ES futures are generated from the
 * current date (quarterly, third-Friday expiries); their conIds encode the contract month so any ES
 * contract — expired or not — can be resolved back to its model.
 * Over 400 lines because of the universe table (STATIC, ~115 lines of data): splitting it would only
 * move data away from the builders that give it meaning.
 */
import { parseScaled, type ScaledDecimal } from "./decimals.js";
import { NEW_YORK, tradeDay } from "./sessions.js";
import type { Entitlement, InstrumentSpec, SessionKind } from "./types.js";
import { DAY_MS, dayToYyyymmdd, weekday, ymdToDay, zone } from "./tz.js";

/** Parameters of the price process for one instrument. */
export interface InstrumentModel {
  /** Contract details without the date-dependent tradingHours / liquidHours. */
  readonly spec: InstrumentSpec;
  readonly conId: number;
  readonly session: SessionKind;
  readonly tick: ScaledDecimal;
  readonly tickSize: number;
  readonly sizeStep: ScaledDecimal;
  /** Noise key: all ES contracts share the underlying's key so they move together. */
  readonly priceKey: number;
  readonly base: number;
  /** Multiplies every noise octave (1 ≈ a large-cap stock, ~30 %/yr). */
  readonly volScale: number;
  /** Typical intra-minute excursion beyond open/close, as a fraction of price. */
  readonly vol1m: number;
  /** Trades per second in regular / extended hours. */
  readonly rateRth: number;
  readonly rateExt: number;
  /** Trade size range in sizeIncrement units (skewed to the small end). */
  readonly unitsMin: number;
  readonly unitsMax: number;
  /** Widest quoted spread, ticks. */
  readonly maxSpread: number;
  /** First instant with data (listing). */
  readonly headMs: number;
  /** FUT: trading stops (last trade date, 09:30 ET); undefined = never. */
  readonly expiryMs?: number;
  /** FUT: annual cost-of-carry basis over the underlying level. */
  readonly carry: number;
  readonly tradeExchanges: readonly string[];
  readonly marketMakers: readonly string[];
}

export const STK_ORDER_TYPES =
  "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,BENCHPX,CASHQTY,COND,CONDORDER,DARKONLY,DARKPOLL,DAY,DEACT,DEACTDIS,DEACTEOD,DIS,DUR,GAT,GTC,GTD,GTT,HID,IBKRATS,ICE,IMB,IOC,LIT,LMT,LOC,MIDPX,MIT,MKT,MOC,MTL,NGCOMB,NODARK,NONALGO,OCA,OPG,OPGREROUT,PEGBENCH,PEGMID,POSTATS,POSTONLY,PREOPGRTH,PRICECHK,REL,REL2MID,RELPCTOFS,RPI,RTH,SCALE,SCALEODD,SCALERST,SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,SWEEP,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF";
const US_STK_EXCHANGES =
  "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,NASDAQ,DRCTEDGE,BEX,BATS,EDGEA,BYX,IEX,EDGX,FOXRIVER,PEARL,NYSENAT,LTSE,MEMX,IBEOS,OVERNIGHT,TPLUS0,PSX";
const CRYPTO_ORDER_TYPES = "ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GTC,GTD,GTT,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF";
const FUT_ORDER_TYPES = "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,BENCHPX,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,LTH,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF";
const FX_ORDER_TYPES = "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,CASHQTY,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,REL,RELPCTOFS,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF";

const STOCK_MAKERS = ["NSDQ", "ARCA", "BATS", "EDGX", "IEX", "NYSE", "MEMX"] as const;
const STOCK_PRINT_VENUES = ["NASDAQ", "ARCA", "NYSE", "BATS", "EDGX", "IEX", "DRCTEDGE", "FINRA"] as const;

export function ruleIds(exchanges: string, rule: string): string {
  return exchanges
    .split(",")
    .map(() => rule)
    .join(",");
}

export function utc(iso: string): number {
  return Date.parse(iso);
}

export interface Tuning {
  base: number;
  volScale: number;
  vol1m: number;
  rateRth: number;
  rateExt: number;
  unitsMin: number;
  unitsMax: number;
  maxSpread: number;
  headMs: number;
}

export function makeModel(spec: InstrumentSpec, t: Tuning, extra: Partial<Pick<InstrumentModel, "priceKey" | "expiryMs" | "carry" | "tradeExchanges" | "marketMakers">> = {}): InstrumentModel {
  const tick = parseScaled(spec.minTick);
  const stk = spec.secType === "STK";
  return {
    spec,
    conId: spec.conId,
    session: spec.session,
    tick,
    tickSize: Number(spec.minTick),
    sizeStep: parseScaled(spec.sizeIncrement),
    priceKey: extra.priceKey ?? spec.conId,
    ...t,
    ...(extra.expiryMs !== undefined ? { expiryMs: extra.expiryMs } : {}),
    carry: extra.carry ?? 0,
    tradeExchanges: extra.tradeExchanges ?? (stk ? STOCK_PRINT_VENUES : [spec.exchange]),
    marketMakers: extra.marketMakers ?? (stk ? STOCK_MAKERS : [spec.exchange]),
  };
}

interface StockInfo {
  conId: number;
  symbol: string;
  primaryExch: string;
  currency: string;
  longName: string;
  tradingClass: string;
  industry: string;
  category: string;
  subcategory: string;
  stockType: string;
  entitlement: Entitlement;
  timeZoneId: string;
  validExchanges: string;
}

function stock(s: StockInfo, t: Tuning): InstrumentModel {
  const spec: InstrumentSpec = {
    conId: s.conId,
    symbol: s.symbol,
    secType: "STK",
    lastTradeDateOrContractMonth: "",
    contractMonth: "",
    multiplier: "",
    exchange: "SMART",
    primaryExch: s.primaryExch,
    currency: s.currency,
    localSymbol: s.symbol,
    tradingClass: s.tradingClass,
    marketName: s.tradingClass,
    longName: s.longName,
    minTick: "0.01",
    minSize: "1",
    sizeIncrement: "1",
    suggestedSizeIncrement: "100",
    orderTypes: STK_ORDER_TYPES,
    validExchanges: s.validExchanges,
    marketRuleIds: ruleIds(s.validExchanges, "26"),
    timeZoneId: s.timeZoneId,
    tradingHours: "",
    liquidHours: "",
    industry: s.industry,
    category: s.category,
    subcategory: s.subcategory,
    stockType: s.stockType,
    session: "us-equity",
    entitlement: s.entitlement,
    tradesWhatToShow: "TRADES",
  };
  return makeModel(spec, t);
}

function crypto(conId: number, symbol: string, longName: string, minTick: string, sizeIncrement: string, t: Tuning): InstrumentModel {
  const spec: InstrumentSpec = {
    conId,
    symbol,
    secType: "CRYPTO",
    lastTradeDateOrContractMonth: "",
    contractMonth: "",
    multiplier: "",
    exchange: "PAXOS",
    primaryExch: "PAXOS",
    currency: "USD",
    localSymbol: `${symbol}.USD`,
    tradingClass: symbol,
    marketName: symbol,
    longName,
    minTick,
    minSize: sizeIncrement,
    sizeIncrement,
    suggestedSizeIncrement: sizeIncrement,
    orderTypes: CRYPTO_ORDER_TYPES,
    validExchanges: "PAXOS",
    marketRuleIds: minTick === "0.25" ? "2097" : "2098",
    timeZoneId: "US/Eastern",
    tradingHours: "",
    liquidHours: "",
    industry: "",
    category: "",
    subcategory: "",
    stockType: "",
    session: "crypto-24x7",
    entitlement: "live",
    tradesWhatToShow: "AGGTRADES",
  };
  return makeModel(spec, t);
}

const STATIC: readonly InstrumentModel[] = [
  stock(
    { conId: 265598, symbol: "AAPL", primaryExch: "NASDAQ", currency: "USD", longName: "APPLE INC", tradingClass: "NMS", industry: "Technology", category: "Computers", subcategory: "Computers", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 230, volScale: 1, vol1m: 0.0004, rateRth: 5, rateExt: 0.4, unitsMin: 1, unitsMax: 400, maxSpread: 2, headMs: utc("1980-12-12T14:30:00Z") },
  ),
  stock(
    { conId: 272093, symbol: "MSFT", primaryExch: "NASDAQ", currency: "USD", longName: "MICROSOFT CORP", tradingClass: "NMS", industry: "Technology", category: "Software", subcategory: "Applications Software", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 420, volScale: 0.9, vol1m: 0.00035, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1986-03-13T14:30:00Z") },
  ),
  stock(
    { conId: 756733, symbol: "SPY", primaryExch: "ARCA", currency: "USD", longName: "SPDR S&P 500 ETF TRUST", tradingClass: "SPY", industry: "Funds", category: "Equity Fund", subcategory: "Growth-Large Cap", stockType: "ETF", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 580, volScale: 0.55, vol1m: 0.00025, rateRth: 6, rateExt: 0.8, unitsMin: 1, unitsMax: 500, maxSpread: 1, headMs: utc("1993-01-29T14:30:00Z") },
  ),
  stock(
    { conId: 76792991, symbol: "TSLA", primaryExch: "NASDAQ", currency: "USD", longName: "TESLA INC", tradingClass: "NMS", industry: "Consumer, Cyclical", category: "Auto Manufacturers", subcategory: "Auto-Cars/Light Trucks", stockType: "COMMON", entitlement: "delayed-only", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 250, volScale: 2, vol1m: 0.0008, rateRth: 6, rateExt: 0.8, unitsMin: 1, unitsMax: 300, maxSpread: 3, headMs: utc("2010-06-29T13:30:00Z") },
  ),
  // More large US stocks: enough distinct instruments for tests and benchmarks of many concurrent feeds.
  stock(
    { conId: 3691937, symbol: "AMZN", primaryExch: "NASDAQ", currency: "USD", longName: "AMAZON.COM INC", tradingClass: "NMS", industry: "Communications", category: "Internet", subcategory: "E-Commerce/Products", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 185, volScale: 1.2, vol1m: 0.00048, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1997-05-15T13:30:00Z") },
  ),
  stock(
    { conId: 208813719, symbol: "GOOGL", primaryExch: "NASDAQ", currency: "USD", longName: "ALPHABET INC-CL A", tradingClass: "NMS", industry: "Communications", category: "Internet", subcategory: "Web Portals/ISP", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 170, volScale: 1.1, vol1m: 0.00044, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("2004-08-19T13:30:00Z") },
  ),
  stock(
    { conId: 4815747, symbol: "NVDA", primaryExch: "NASDAQ", currency: "USD", longName: "NVIDIA CORP", tradingClass: "NMS", industry: "Technology", category: "Semiconductors", subcategory: "Electronic Compo-Semicon", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 135, volScale: 2, vol1m: 0.00080, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1999-01-22T14:30:00Z") },
  ),
  stock(
    { conId: 107113386, symbol: "META", primaryExch: "NASDAQ", currency: "USD", longName: "META PLATFORMS INC-CLASS A", tradingClass: "NMS", industry: "Communications", category: "Internet", subcategory: "Internet Content-Entmnt", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 560, volScale: 1.4, vol1m: 0.00056, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("2012-05-18T13:30:00Z") },
  ),
  stock(
    { conId: 1520593, symbol: "JPM", primaryExch: "NYSE", currency: "USD", longName: "JPMORGAN CHASE & CO", tradingClass: "JPM", industry: "Financial", category: "Banks", subcategory: "Money Center Banks", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 230, volScale: 0.8, vol1m: 0.00032, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1980-03-17T14:30:00Z") },
  ),
  stock(
    { conId: 49462172, symbol: "V", primaryExch: "NYSE", currency: "USD", longName: "VISA INC-CLASS A SHARES", tradingClass: "V", industry: "Financial", category: "Diversified Finan Serv", subcategory: "Finance-Credit Card", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 300, volScale: 0.7, vol1m: 0.00028, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("2008-03-19T13:30:00Z") },
  ),
  stock(
    { conId: 8894, symbol: "KO", primaryExch: "NYSE", currency: "USD", longName: "COCA-COLA CO/THE", tradingClass: "KO", industry: "Consumer, Non-cyclical", category: "Beverages", subcategory: "Beverages-Non-alcoholic", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 62, volScale: 0.5, vol1m: 0.00020, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1980-01-02T14:30:00Z") },
  ),
  stock(
    { conId: 13977, symbol: "XOM", primaryExch: "NYSE", currency: "USD", longName: "EXXON MOBIL CORP", tradingClass: "XOM", industry: "Energy", category: "Oil&Gas", subcategory: "Oil Comp-Integrated", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 115, volScale: 0.9, vol1m: 0.00036, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1980-01-02T14:30:00Z") },
  ),
  stock(
    { conId: 15124833, symbol: "NFLX", primaryExch: "NASDAQ", currency: "USD", longName: "NETFLIX INC", tradingClass: "NMS", industry: "Communications", category: "Internet", subcategory: "Internet Content-Entmnt", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 850, volScale: 1.5, vol1m: 0.00060, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("2002-05-23T13:30:00Z") },
  ),
  stock(
    { conId: 4391, symbol: "AMD", primaryExch: "NASDAQ", currency: "USD", longName: "ADVANCED MICRO DEVICES", tradingClass: "NMS", industry: "Technology", category: "Semiconductors", subcategory: "Electronic Compo-Semicon", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 140, volScale: 2, vol1m: 0.00080, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1980-03-17T14:30:00Z") },
  ),
  stock(
    { conId: 8314, symbol: "IBM", primaryExch: "NYSE", currency: "USD", longName: "INTL BUSINESS MACHINES CORP", tradingClass: "IBM", industry: "Technology", category: "Computers", subcategory: "Computer Services", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 215, volScale: 0.7, vol1m: 0.00028, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1980-01-02T14:30:00Z") },
  ),
  stock(
    { conId: 270639, symbol: "INTC", primaryExch: "NASDAQ", currency: "USD", longName: "INTEL CORP", tradingClass: "NMS", industry: "Technology", category: "Semiconductors", subcategory: "Electronic Compo-Semicon", stockType: "COMMON", entitlement: "live", timeZoneId: "US/Eastern", validExchanges: US_STK_EXCHANGES },
    { base: 22, volScale: 1.6, vol1m: 0.00064, rateRth: 4, rateExt: 0.3, unitsMin: 1, unitsMax: 300, maxSpread: 2, headMs: utc("1980-03-17T14:30:00Z") },
  ),
  // Entitlement "none" exercises IB's no-permission paths; it keeps the us-equity session (the server
  // never serves its data), but its hours are rendered in its own zone (MET) like IB does.
  stock(
    { conId: 14204, symbol: "SAP", primaryExch: "IBIS", currency: "EUR", longName: "SAP SE", tradingClass: "SAP", industry: "Technology", category: "Software", subcategory: "Enterprise Software", stockType: "COMMON", entitlement: "none", timeZoneId: "MET", validExchanges: "SMART,IBIS,TGATE,GETTEX,SWB,FWB,LSEETF" },
    { base: 220, volScale: 1, vol1m: 0.0004, rateRth: 1, rateExt: 0.05, unitsMin: 1, unitsMax: 200, maxSpread: 3, headMs: utc("1998-08-03T13:30:00Z") },
  ),
  crypto(479624278, "BTC", "Bitcoin", "0.25", "0.0001", { base: 90000, volScale: 2, vol1m: 0.0006, rateRth: 2, rateExt: 2, unitsMin: 1, unitsMax: 20000, maxSpread: 8, headMs: utc("2018-12-10T00:00:00Z") }),
  crypto(495759171, "ETH", "Ethereum", "0.01", "0.001", { base: 3200, volScale: 2.5, vol1m: 0.0008, rateRth: 1.5, rateExt: 1.5, unitsMin: 1, unitsMax: 20000, maxSpread: 5, headMs: utc("2019-09-02T00:00:00Z") }),
  makeModel(
    {
      conId: 12087792,
      symbol: "EUR",
      secType: "CASH",
      lastTradeDateOrContractMonth: "",
      contractMonth: "",
      multiplier: "",
      exchange: "IDEALPRO",
      primaryExch: "",
      currency: "USD",
      localSymbol: "EUR.USD",
      tradingClass: "EUR.USD",
      marketName: "EUR.USD",
      longName: "European Monetary Union Euro",
      minTick: "0.00005",
      minSize: "1",
      sizeIncrement: "1",
      suggestedSizeIncrement: "1",
      orderTypes: FX_ORDER_TYPES,
      validExchanges: "IDEALPRO",
      marketRuleIds: "239",
      timeZoneId: "US/Eastern",
      tradingHours: "",
      liquidHours: "",
      industry: "",
      category: "",
      subcategory: "",
      stockType: "",
      session: "fx-24x5",
      entitlement: "live",
      tradesWhatToShow: "TRADES",
    },
    { base: 1.08, volScale: 0.25, vol1m: 0.0001, rateRth: 3, rateExt: 3, unitsMin: 1000, unitsMax: 2_000_000, maxSpread: 3, headMs: utc("2005-03-01T22:00:00Z") },
  ),
];

// ---------------------------------------------------------------------------------------------
// ES futures

const ES_CONID_BASE = 620_000_000;
export const ES_PRICE_KEY = 11_004_968; // the ES index's conId: every contract month shares the underlying
export const MONTH_CODES = "FGHJKMNQUVXZ";
const FUTURES_AHEAD = 4;
const FUTURES_EXPIRED = 8;

export function thirdFriday(y: number, m: number): number {
  const first = ymdToDay(y, m, 1);
  return first + ((5 - weekday(first) + 7) % 7) + 14;
}

function esModel(y: number, m: number): InstrumentModel {
  const day = thirdFriday(y, m);
  const expiryMs = NEW_YORK.localToUtc(day, 9 * 60 + 30);
  const ym = `${y}${String(m).padStart(2, "0")}`;
  const spec: InstrumentSpec = {
    conId: ES_CONID_BASE + y * 100 + m,
    symbol: "ES",
    secType: "FUT",
    lastTradeDateOrContractMonth: dayToYyyymmdd(day),
    contractMonth: ym,
    multiplier: "50",
    exchange: "CME",
    primaryExch: "",
    currency: "USD",
    localSymbol: `ES${MONTH_CODES[m - 1] ?? "?"}${y % 10}`,
    tradingClass: "ES",
    marketName: "ES",
    longName: "E-mini S&P 500",
    minTick: "0.25",
    minSize: "1",
    sizeIncrement: "1",
    suggestedSizeIncrement: "1",
    orderTypes: FUT_ORDER_TYPES,
    validExchanges: "CME,QBALGO",
    marketRuleIds: "67,67",
    timeZoneId: "US/Central",
    tradingHours: "",
    liquidHours: "",
    industry: "",
    category: "",
    subcategory: "",
    stockType: "",
    session: "cme-globex",
    entitlement: "live",
    tradesWhatToShow: "TRADES",
  };
  return makeModel(
    spec,
    { base: 6000, volScale: 0.6, vol1m: 0.0003, rateRth: 8, rateExt: 1.5, unitsMin: 1, unitsMax: 20, maxSpread: 1, headMs: expiryMs - 455 * DAY_MS },
    { priceKey: ES_PRICE_KEY, expiryMs, carry: 0.045, tradeExchanges: ["CME"], marketMakers: ["CME"] },
  );
}

/** ES quarterlies around `nowMs`: the next FUTURES_AHEAD live ones, plus expired ones if asked. */
export function esContracts(nowMs: number, includeExpired: boolean): InstrumentModel[] {
  const now = new Date(nowMs);
  const out: InstrumentModel[] = [];
  // Start two years back so FUTURES_EXPIRED expired contracts are always covered.
  let y = now.getUTCFullYear() - 3;
  let m = 3;
  let expired: InstrumentModel[] = [];
  while (out.length < FUTURES_AHEAD) {
    const model = esModel(y, m);
    if ((model.expiryMs ?? 0) <= nowMs) expired.push(model);
    else out.push(model);
    m += 3;
    if (m > 12) {
      m = 3;
      y++;
    }
  }
  expired = expired.slice(-FUTURES_EXPIRED);
  return includeExpired ? [...expired, ...out] : out;
}

/** Any model by conId: built-ins, or an ES contract decoded from its conId. */
export function modelByConId(conId: number): InstrumentModel | undefined {
  const s = STATIC.find((x) => x.conId === conId);
  if (s) return s;
  const code = conId - ES_CONID_BASE;
  const y = Math.floor(code / 100);
  const m = code % 100;
  if (y >= 1990 && y <= 2200 && m >= 3 && m <= 12 && m % 3 === 0) return esModel(y, m);
  return undefined;
}

export function staticModels(): readonly InstrumentModel[] {
  return STATIC;
}

// ---------------------------------------------------------------------------------------------
// Trading hours in IB's format

function ibStamp(tz: string, ms: number): string {
  const { day, minute } = zone(tz).localDayMinute(ms);
  return `${dayToYyyymmdd(day)}:${String(Math.floor(minute / 60)).padStart(2, "0")}${String(minute % 60).padStart(2, "0")}`;
}

/**
 * "YYYYMMDD:HHMM-YYYYMMDD:HHMM;…;YYYYMMDD:CLOSED" for `days` trade days from now, in the contract's
 * time zone, e.g. us-equity extended hours "20261125:0400-20261125:2000".
 */
export function ibHours(model: InstrumentModel, nowMs: number, rth: boolean, days = 7): string {
  const today = NEW_YORK.localDay(nowMs);
  const parts: string[] = [];
  for (let d = today; d < today + days; d++) {
    const td = tradeDay(model.session, d);
    const intervals = (td ? (rth ? td.rth : td.all) : []).filter(([a]) => model.expiryMs === undefined || a < model.expiryMs);
    if (intervals.length === 0) parts.push(`${dayToYyyymmdd(d)}:CLOSED`);
    for (const [a, b] of intervals) parts.push(`${ibStamp(model.spec.timeZoneId, a)}-${ibStamp(model.spec.timeZoneId, b)}`);
  }
  return parts.join(";");
}

export function withHours(model: InstrumentModel, nowMs: number): InstrumentSpec {
  return { ...model.spec, tradingHours: ibHours(model, nowMs, false), liquidHours: ibHours(model, nowMs, true) };
}

