/**
 * The non-equity static instruments of the multi-asset universe: indices (SPX, VIX on CBOE), one US
 * Treasury note (BOND, identified by CUSIP/ISIN), one mutual fund (FUND, VFIAX on FUNDSERV). They are
 * ordinary price-process models; what IB does not send for them (index bid/ask and sizes, bond trades,
 * intraday fund prices) is left out by the protocol server and the market (market.ts).
 * SPX and VFIAX share the ES underlying's noise key, so the index, its future and the fund move together.
 */
import { ES_PRICE_KEY, makeModel, ruleIds, utc, type InstrumentModel, type Tuning } from "./instruments.js";
import type { InstrumentSpec } from "./types.js";

export const SPX_CONID = 416904;
export const VIX_CONID = 13455763;
export const BOND_CONID = 733340117;
export const FUND_CONID = 45318744;

/** CUSIP check digit (modulus 10 "double add double" over the 8 base characters, letters A=10 …). */
export function cusipCheckDigit(base8: string): string {
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const ch = base8[i] ?? "0";
    let v = /\d/.test(ch) ? Number(ch) : ch === "*" ? 36 : ch === "@" ? 37 : ch === "#" ? 38 : ch.charCodeAt(0) - 55;
    if (i % 2 === 1) v *= 2;
    sum += Math.floor(v / 10) + (v % 10);
  }
  return String((10 - (sum % 10)) % 10);
}

/** ISIN check digit: letters → two digits (A=10), then Luhn from the right. */
export function isinCheckDigit(base11: string): string {
  const digits = [...base11].map((c) => String(Number.parseInt(c, 36))).join("");
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let v = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) v *= 2;
    sum += Math.floor(v / 10) + (v % 10);
  }
  return String((10 - (sum % 10)) % 10);
}

/** US Treasury note 4 1/4 % 15 Nov 2034 (a simulated issue: the CUSIP's check digits are computed, not looked up). */
export const BOND_CUSIP = `91282CLW${cusipCheckDigit("91282CLW")}`;
export const BOND_ISIN = `US${BOND_CUSIP}${isinCheckDigit(`US${BOND_CUSIP}`)}`;

const IND_ORDER_TYPES = "";
const BOND_ORDER_TYPES = "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,IOC,LIT,LMT,MIT,NONALGO,OCA,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF";
const FUND_ORDER_TYPES = "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,CASHQTY,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,IOC,MKT,NONALGO,OCA,WHATIF";

function spec(s: Partial<InstrumentSpec> & Pick<InstrumentSpec, "conId" | "symbol" | "secType" | "exchange" | "longName" | "minTick">): InstrumentSpec {
  return {
    lastTradeDateOrContractMonth: "",
    contractMonth: "",
    multiplier: "",
    primaryExch: s.exchange,
    currency: "USD",
    localSymbol: s.symbol,
    tradingClass: s.symbol,
    marketName: s.symbol,
    minSize: "1",
    sizeIncrement: "1",
    suggestedSizeIncrement: "1",
    orderTypes: "",
    validExchanges: s.exchange,
    marketRuleIds: "",
    timeZoneId: "US/Eastern",
    tradingHours: "",
    liquidHours: "",
    industry: "",
    category: "",
    subcategory: "",
    stockType: "",
    session: "us-rth",
    entitlement: "live",
    tradesWhatToShow: "TRADES",
    ...s,
  };
}

const tuning = (t: Partial<Tuning> & Pick<Tuning, "base" | "volScale" | "vol1m" | "headMs">): Tuning => ({ rateRth: 1, rateExt: 1, unitsMin: 1, unitsMax: 100, maxSpread: 2, ...t });

const OTHER: readonly InstrumentModel[] = [
  // Indices: a value every second or so; bid/ask/sizes exist in the model only (the server sends prices).
  makeModel(
    spec({ conId: SPX_CONID, symbol: "SPX", secType: "IND", exchange: "CBOE", longName: "S&P 500 Stock Index", minTick: "0.01", orderTypes: IND_ORDER_TYPES, marketRuleIds: "31" }),
    tuning({ base: 6000, volScale: 0.6, vol1m: 0.0003, headMs: utc("1982-04-21T14:30:00Z") }),
    { priceKey: ES_PRICE_KEY, tradeExchanges: ["CBOE"], marketMakers: ["CBOE"] },
  ),
  makeModel(
    spec({ conId: VIX_CONID, symbol: "VIX", secType: "IND", exchange: "CBOE", longName: "CBOE Volatility Index", minTick: "0.01", orderTypes: IND_ORDER_TYPES, marketRuleIds: "31" }),
    tuning({ base: 16, volScale: 3, vol1m: 0.002, headMs: utc("1993-01-04T14:30:00Z") }),
    { tradeExchanges: ["CBOE"], marketMakers: ["CBOE"] },
  ),
  // Quoted in percent of par; IB's US Treasury increment 1/256 of a point is not decimal, 0.0001 is.
  makeModel(
    spec({
      conId: BOND_CONID,
      symbol: BOND_CUSIP,
      secType: "BOND",
      exchange: "SMART",
      primaryExch: "",
      localSymbol: BOND_CUSIP,
      tradingClass: "UST",
      marketName: "UST",
      longName: "United States Treasury Note/Bond 4 1/4 11/15/34",
      minTick: "0.0001",
      minSize: "1",
      suggestedSizeIncrement: "1",
      lastTradeDateOrContractMonth: "20341115",
      orderTypes: BOND_ORDER_TYPES,
      validExchanges: "SMART,VALUBOND,TRADEWEB",
      marketRuleIds: ruleIds("SMART,VALUBOND,TRADEWEB", "239"),
      secIds: [
        { tag: "CUSIP", value: BOND_CUSIP },
        { tag: "ISIN", value: BOND_ISIN },
      ],
      bond: { cusip: BOND_CUSIP, coupon: "4.25", maturity: "20341115", issueDate: "20241115", bondType: "US T-NOTE", couponType: "FIXED" },
    }),
    tuning({ base: 98.4375, volScale: 0.12, vol1m: 0.00003, rateRth: 0.5, rateExt: 0.5, unitsMax: 500, maxSpread: 120, headMs: utc("2024-11-15T14:30:00Z") }),
    { tradeExchanges: ["SMART"], marketMakers: ["VALUBOND", "TRADEWEB"] },
  ),
  // A mutual fund: one NAV a day (the 16:00 close of its price path); no quotes, no intraday prices.
  makeModel(
    spec({
      conId: FUND_CONID,
      symbol: "VFIAX",
      secType: "FUND",
      exchange: "FUNDSERV",
      longName: "VANGUARD 500 INDEX FUND ADMIRAL SHARES",
      minTick: "0.01",
      orderTypes: FUND_ORDER_TYPES,
      marketRuleIds: "26",
      industry: "Funds",
      category: "Equity Fund",
      subcategory: "Large Blend",
    }),
    tuning({ base: 550, volScale: 0.6, vol1m: 0.0003, headMs: utc("2000-11-13T14:30:00Z") }),
    { priceKey: ES_PRICE_KEY, tradeExchanges: ["FUNDSERV"], marketMakers: ["FUNDSERV"] },
  ),
];

export function otherModels(): readonly InstrumentModel[] {
  return OTHER;
}
