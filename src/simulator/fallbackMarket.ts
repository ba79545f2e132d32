/**
 * A small deterministic market used when the real model (./market/index.ts) is not available, and by
 * tests that need a market with a known shape. Everything is a pure function of (seed, instrument, time):
 * price = base · exp(multi-scale value noise), trades per second from a hash, quotes around the price.
 * Bars of trade data are aggregated from the trades, so streamed trades and historical bars agree.
 */
import { Decimal } from "decimal.js";
import type {
  Bar,
  BarQuery,
  ContractQuery,
  DepthSnapshot,
  InstrumentSpec,
  Market,
  MarketOptions,
  Quote,
  Trade,
} from "./market/types.js";
import { zonedParts } from "./feeds/barSpec.js";

interface Profile {
  base: number;
  vol: number;
  tradesPerSec: number;
  lot: number;
  sizeDecimals: number;
}

function hash(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    let v = Math.floor(x) | 0;
    for (let i = 0; i < 4; i++) {
      h ^= v & 0xff;
      h = Math.imul(h, 0x01000193);
      v >>>= 8;
    }
    const hi = Math.floor(x / 4294967296) | 0;
    h ^= hi;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

/** Third Friday of the next quarterly month (Mar/Jun/Sep/Dec) at least 5 days after `nowMs`. */
function nextQuarterlyExpiry(nowMs: number): string {
  const d = new Date(nowMs);
  for (let k = 0; k < 15; k++) {
    const y = d.getUTCFullYear() + Math.floor((d.getUTCMonth() + k) / 12);
    const m = (d.getUTCMonth() + k) % 12;
    if (m % 3 !== 2) continue;
    const first = new Date(Date.UTC(y, m, 1)).getUTCDay();
    const day = 1 + ((5 - first + 7) % 7) + 14;
    const t = Date.UTC(y, m, day);
    if (t - nowMs > 5 * 86400_000) return `${y}${String(m + 1).padStart(2, "0")}${String(day).padStart(2, "0")}`;
  }
  return "20991218";
}

const common = {
  strike: "",
  industry: "",
  category: "",
  subcategory: "",
  tradingHours: "",
  liquidHours: "",
  orderTypes: "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,GAT,GTC,GTD,IOC,LIT,LMT,MIT,MKT,MTL,NONALGO,OCA,REL,SCALE,SNAPMID,STP,STPLMT,TRAIL,WHATIF",
};

export function fallbackInstruments(nowMs: number = Date.now()): InstrumentSpec[] {
  const es = nextQuarterlyExpiry(nowMs);
  const esMonthCode = "FGHJKMNQUVXZ"[Number(es.slice(4, 6)) - 1] ?? "Z";
  const stk = (conId: number, symbol: string, primary: string, longName: string): InstrumentSpec => ({
    ...common,
    conId,
    symbol,
    secType: "STK",
    lastTradeDateOrContractMonth: "",
    contractMonth: "",
    multiplier: "",
    exchange: "SMART",
    primaryExch: primary,
    currency: "USD",
    localSymbol: symbol,
    tradingClass: primary === "NASDAQ" ? "NMS" : symbol,
    marketName: primary === "NASDAQ" ? "NMS" : symbol,
    longName,
    minTick: "0.01",
    minSize: "1",
    sizeIncrement: "1",
    suggestedSizeIncrement: "100",
    validExchanges: `SMART,AMEX,NYSE,CBOE,ARCA,ISLAND,${primary}`,
    marketRuleIds: "26,26,26,26,26,26,26",
    timeZoneId: "US/Eastern",
    industry: "Technology",
    stockType: symbol === "SPY" ? "ETF" : "COMMON",
    session: "us-equity",
    entitlement: "live",
    tradesWhatToShow: "TRADES",
  });
  const crypto = (conId: number, symbol: string, longName: string, minTick: string): InstrumentSpec => ({
    ...common,
    conId,
    symbol,
    secType: "CRYPTO",
    lastTradeDateOrContractMonth: "",
    contractMonth: "",
    multiplier: "",
    exchange: "PAXOS",
    primaryExch: "",
    currency: "USD",
    localSymbol: `${symbol}.USD`,
    tradingClass: symbol,
    marketName: symbol,
    longName,
    minTick,
    minSize: "0.0001",
    sizeIncrement: "0.00000001",
    suggestedSizeIncrement: "0.0001",
    orderTypes: "IOC,LMT,MKT,MINUTES",
    validExchanges: "PAXOS",
    marketRuleIds: "2568",
    timeZoneId: "UTC",
    stockType: "",
    session: "crypto-24x7",
    entitlement: "live",
    tradesWhatToShow: "AGGTRADES",
  });
  return [
    stk(265598, "AAPL", "NASDAQ", "APPLE INC"),
    stk(272093, "MSFT", "NASDAQ", "MICROSOFT CORP"),
    stk(756733, "SPY", "ARCA", "SPDR S&P 500 ETF TRUST"),
    crypto(479624278, "BTC", "Bitcoin", "0.25"),
    crypto(495759171, "ETH", "Ethereum", "0.05"),
    {
      ...common,
      conId: 620731015,
      symbol: "ES",
      secType: "FUT",
      lastTradeDateOrContractMonth: es,
      contractMonth: es.slice(0, 6),
      multiplier: "50",
      exchange: "CME",
      primaryExch: "",
      currency: "USD",
      localSymbol: `ES${esMonthCode}${es.slice(3, 4)}`,
      tradingClass: "ES",
      marketName: "ES",
      longName: "E-mini S&P 500",
      minTick: "0.25",
      minSize: "1",
      sizeIncrement: "1",
      suggestedSizeIncrement: "1",
      validExchanges: "CME,QBALGO",
      marketRuleIds: "67",
      timeZoneId: "US/Central",
      stockType: "",
      session: "cme-globex",
      entitlement: "live",
      tradesWhatToShow: "TRADES",
    },
    {
      ...common,
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
      validExchanges: "IDEALPRO",
      marketRuleIds: "239",
      timeZoneId: "US/Eastern",
      stockType: "",
      session: "fx-24x5",
      entitlement: "live",
      tradesWhatToShow: "TRADES",
    },
  ];
}

const PROFILES: Record<string, Profile> = {
  AAPL: { base: 190, vol: 0.02, tradesPerSec: 3, lot: 1, sizeDecimals: 0 },
  MSFT: { base: 420, vol: 0.02, tradesPerSec: 2, lot: 1, sizeDecimals: 0 },
  SPY: { base: 520, vol: 0.012, tradesPerSec: 4, lot: 1, sizeDecimals: 0 },
  BTC: { base: 65000, vol: 0.04, tradesPerSec: 2, lot: 0.001, sizeDecimals: 4 },
  ETH: { base: 3200, vol: 0.05, tradesPerSec: 1.5, lot: 0.01, sizeDecimals: 3 },
  ES: { base: 5300, vol: 0.012, tradesPerSec: 3, lot: 1, sizeDecimals: 0 },
  EUR: { base: 1.085, vol: 0.005, tradesPerSec: 0, lot: 1, sizeDecimals: 0 },
};
const DEFAULT_PROFILE: Profile = { base: 100, vol: 0.02, tradesPerSec: 1, lot: 1, sizeDecimals: 0 };

function sessionOpen(spec: InstrumentSpec, timeMs: number, useRTH: boolean): boolean {
  if (spec.session === "crypto-24x7") return true;
  const p = zonedParts(timeMs, "America/New_York");
  const dow = new Date(Date.UTC(+p.y, +p.mo - 1, +p.d)).getUTCDay();
  const minutes = +p.h * 60 + +p.mi;
  switch (spec.session) {
    case "us-equity":
      if (dow === 0 || dow === 6) return false;
      return useRTH ? minutes >= 570 && minutes < 960 : minutes >= 240 && minutes < 1200;
    case "cme-globex":
      if (dow === 6) return false;
      if (dow === 0) return minutes >= 1080;
      if (dow === 5) return minutes < 1020;
      return minutes < 1020 || minutes >= 1080;
    case "fx-24x5":
      if (dow === 6) return false;
      if (dow === 0) return minutes >= 1020;
      if (dow === 5) return minutes < 1020;
      return true;
  }
}

export function createFallbackMarket(options: MarketOptions & { nowMs?: number }): Market {
  const seed = options.seed;
  const scale = options.tradeRateScale ?? 1;
  const list = fallbackInstruments(options.nowMs);
  const profile = (s: InstrumentSpec): Profile => PROFILES[s.symbol] ?? DEFAULT_PROFILE;

  function noise(conId: number, t: number): number {
    let v = 0;
    let amp = 1;
    for (const period of [86400 * 7, 86400, 3600, 300, 20]) {
      const x = t / period;
      const i = Math.floor(x);
      const f = x - i;
      const a = hash(seed, conId, period, i) * 2 - 1;
      const b = hash(seed, conId, period, i + 1) * 2 - 1;
      const s = f * f * (3 - 2 * f);
      v += amp * (a + (b - a) * s);
      amp *= 0.45;
    }
    return v;
  }
  const decimalsOf = (s: InstrumentSpec) => (s.minTick.split(".")[1] ?? "").length;
  const midPrice = (s: InstrumentSpec, timeMs: number): number => {
    const p = profile(s);
    return p.base * Math.exp(p.vol * noise(s.conId, timeMs / 1000));
  };
  function quote(s: InstrumentSpec, timeMs: number): Quote {
    const t = Math.floor(timeMs / 250) * 250;
    const tick = Number(s.minTick);
    const dp = decimalsOf(s);
    const mid = midPrice(s, t);
    const spreadTicks = 1 + Math.floor(hash(seed, s.conId, 7, t) * 2);
    const bidTicks = Math.round(mid / tick - spreadTicks / 2);
    const bid = (bidTicks * tick).toFixed(dp);
    const ask = ((bidTicks + spreadTicks) * tick).toFixed(dp);
    const p = profile(s);
    const sz = (k: number) => (p.lot * (1 + Math.floor(hash(seed, s.conId, k, t) * 50))).toFixed(p.sizeDecimals);
    return { timeMs: t, bid, ask, bidSize: sz(11), askSize: sz(12) };
  }
  function tradesOfSecond(s: InstrumentSpec, sec: number): Trade[] {
    const p = profile(s);
    const rate = p.tradesPerSec * scale;
    if (rate <= 0) return [];
    const n = Math.floor(hash(seed, s.conId, 1, sec) * rate * 2 + 0.5);
    if (n === 0 || !sessionOpen(s, sec * 1000, false)) return [];
    const out: Trade[] = [];
    const offsets: number[] = [];
    for (let k = 0; k < n; k++) offsets.push(Math.floor(hash(seed, s.conId, 2, sec, k) * 1000));
    offsets.sort((a, b) => a - b);
    offsets.forEach((off, k) => {
      const timeMs = sec * 1000 + off;
      const q = quote(s, timeMs);
      const buy = hash(seed, s.conId, 3, sec, k) < 0.5;
      const size = (p.lot * (1 + Math.floor(hash(seed, s.conId, 4, sec, k) ** 3 * 20))).toFixed(p.sizeDecimals);
      out.push({ timeMs, price: buy ? q.ask : q.bid, size, exchange: s.secType === "STK" ? "NASDAQ" : s.exchange });
    });
    return out;
  }
  function trades(s: InstrumentSpec, fromMs: number, toMs: number): Trade[] {
    const out: Trade[] = [];
    for (let sec = Math.floor(fromMs / 1000); sec * 1000 < toMs; sec++) {
      for (const t of tradesOfSecond(s, sec)) if (t.timeMs >= fromMs && t.timeMs < toMs) out.push(t);
    }
    return out;
  }
  function aggregate(startSec: number, tr: Trade[], dp: number): Bar | undefined {
    if (tr.length === 0) return undefined;
    let hi = new Decimal(tr[0]!.price);
    let lo = hi;
    let vol = new Decimal(0);
    let pv = new Decimal(0);
    for (const t of tr) {
      const p = new Decimal(t.price);
      if (p.gt(hi)) hi = p;
      if (p.lt(lo)) lo = p;
      vol = vol.add(t.size);
      pv = pv.add(p.mul(t.size));
    }
    return {
      startSec,
      open: tr[0]!.price,
      high: hi.toFixed(),
      low: lo.toFixed(),
      close: tr[tr.length - 1]!.price,
      volume: vol.toFixed(),
      wap: vol.isZero() ? tr[0]!.price : pv.div(vol).toDecimalPlaces(dp + 2).toFixed(),
      count: tr.length,
    };
  }
  function barStarts(q: BarQuery): number[] {
    const out: number[] = [];
    if (q.barSize === "week" || q.barSize === "month") {
      const d = new Date(q.fromSec * 1000);
      d.setUTCHours(0, 0, 0, 0);
      if (q.barSize === "week") d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
      else d.setUTCDate(1);
      while (d.getTime() / 1000 < q.toSec) {
        if (d.getTime() / 1000 >= q.fromSec) out.push(d.getTime() / 1000);
        if (q.barSize === "week") d.setUTCDate(d.getUTCDate() + 7);
        else d.setUTCMonth(d.getUTCMonth() + 1);
      }
      return out;
    }
    const size = q.barSize;
    for (let t = Math.ceil(q.fromSec / size) * size; t < q.toSec; t += size) out.push(t);
    return out;
  }
  function barEnd(start: number, q: BarQuery): number {
    if (q.barSize === "week") return start + 7 * 86400;
    if (q.barSize === "month") {
      const d = new Date(start * 1000);
      d.setUTCMonth(d.getUTCMonth() + 1);
      return d.getTime() / 1000;
    }
    return start + q.barSize;
  }

  return {
    seed,
    instruments: () => list,
    findContracts(q: ContractQuery): InstrumentSpec[] {
      return list.filter((s) => {
        if (q.conId && q.conId !== s.conId) return false;
        if (q.symbol && q.symbol.toUpperCase() !== s.symbol && q.symbol.toUpperCase() !== s.localSymbol) return false;
        if (q.secType && q.secType.toUpperCase() !== s.secType) return false;
        if (q.exchange && !s.validExchanges.split(",").includes(q.exchange.toUpperCase()) && q.exchange.toUpperCase() !== s.exchange) return false;
        if (q.currency && q.currency.toUpperCase() !== s.currency) return false;
        if (q.localSymbol && q.localSymbol.toUpperCase() !== s.localSymbol) return false;
        if (q.lastTradeDateOrContractMonth && !s.lastTradeDateOrContractMonth.startsWith(q.lastTradeDateOrContractMonth)) return false;
        return true;
      });
    },
    isOpen: sessionOpen,
    trades,
    quote,
    depth(s: InstrumentSpec, timeMs: number, rows: number): DepthSnapshot {
      const q = quote(s, timeMs);
      const tick = new Decimal(s.minTick);
      const dp = tick.decimalPlaces();
      const p = profile(s);
      const lvl = (side: number, i: number, px: string) => ({
        price: px,
        size: i === 0 ? (side === 0 ? q.bidSize : q.askSize) : new Decimal(p.lot).mul(1 + Math.floor(hash(seed, s.conId, 20 + side, i, Math.floor(timeMs / 1000)) * 80)).toFixed(p.sizeDecimals),
        marketMaker: s.secType === "STK" ? ["NSDQ", "ARCA", "BATS", "EDGX"][i % 4]! : s.exchange,
      });
      const bids = [];
      const asks = [];
      for (let i = 0; i < rows; i++) {
        bids.push(lvl(0, i, new Decimal(q.bid).sub(tick.mul(i)).toFixed(dp)));
        asks.push(lvl(1, i, new Decimal(q.ask).add(tick.mul(i)).toFixed(dp)));
      }
      return { timeMs: q.timeMs, bids, asks };
    },
    bars(s: InstrumentSpec, q: BarQuery): Bar[] {
      const dp = new Decimal(s.minTick).decimalPlaces();
      const out: Bar[] = [];
      const trade = q.whatToShow === "TRADES" || q.whatToShow === "AGGTRADES" || q.whatToShow === "ADJUSTED_LAST";
      for (const start of barStarts(q)) {
        const end = barEnd(start, q);
        if (trade && end - start <= 60) {
          let tr = trades(s, start * 1000, end * 1000);
          if (q.useRTH) tr = tr.filter((t) => sessionOpen(s, t.timeMs, true));
          const b = aggregate(start, tr, dp);
          if (b) out.push(b);
          continue;
        }
        // Long bars or quote bars: sample the book.
        const step = Math.max(Math.min(60, end - start), Math.floor((end - start) / 240));
        const px: string[] = [];
        for (let t = start; t < end; t += step) {
          if (!sessionOpen(s, t * 1000, q.useRTH)) continue;
          const qu = quote(s, t * 1000);
          const v = q.whatToShow === "BID" ? qu.bid : q.whatToShow === "ASK" ? qu.ask : new Decimal(qu.bid).add(qu.ask).div(2).toFixed(dp + 1);
          px.push(v);
        }
        if (px.length === 0) continue;
        const ds = px.map((x) => new Decimal(x));
        const hi = Decimal.max(...ds).toFixed();
        const lo = Decimal.min(...ds).toFixed();
        const count = trade ? Math.round(profile(s).tradesPerSec * scale * (end - start)) : 0;
        out.push({
          startSec: start,
          open: px[0]!,
          high: hi,
          low: lo,
          close: px[px.length - 1]!,
          volume: trade ? new Decimal(profile(s).lot).mul(count * 3).toFixed(profile(s).sizeDecimals) : "-1",
          wap: trade ? ds.reduce((a, b) => a.add(b), new Decimal(0)).div(ds.length).toDecimalPlaces(dp + 2).toFixed() : "-1",
          count: trade ? count : -1,
        });
      }
      return out;
    },
    headTimestampSec(): number {
      return Math.floor(Date.UTC(2015, 0, 2, 14, 30) / 1000);
    },
  };
}
