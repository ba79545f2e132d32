/**
 * Option pricing, pure: Black-Scholes (stock and index options, no dividends) and Black-76 (options on
 * futures), analytic greeks in IB's units, a smile/term volatility surface, implied volatility, and the
 * quote rounding that keeps put–call parity of mids within one tick and prices monotone in strike.
 */

/** Annual risk-free rate (continuous compounding) every option is priced with. */
export const RISK_FREE_RATE = 0.04;
/** Year fraction of one calendar day; theta is reported per calendar day, as IB does. */
const DAY_YEARS = 1 / 365;

export type Right = "C" | "P";

export interface Greeks {
  price: number;
  delta: number;
  gamma: number;
  /** Per 1 volatility point (1 % IV), as IB reports it. */
  vega: number;
  /** Per calendar day. */
  theta: number;
}

/** Standard normal CDF (Hart 1968 as given by West 2005: double precision, so greeks match finite differences). */
export function normCdf(x: number): number {
  const z = Math.abs(x);
  let c: number;
  if (z > 37) c = 0;
  else {
    const e = Math.exp(-0.5 * z * z);
    if (z < 7.07106781186547) {
      let n = 3.52624965998911e-2 * z + 0.700383064443688;
      n = n * z + 6.37396220353165;
      n = n * z + 33.912866078383;
      n = n * z + 112.079291497871;
      n = n * z + 221.213596169931;
      n = n * z + 220.206867912376;
      let d = 8.83883476483184e-2 * z + 1.75566716318264;
      d = d * z + 16.064177579207;
      d = d * z + 86.7807322029461;
      d = d * z + 296.564248779674;
      d = d * z + 637.333633378831;
      d = d * z + 793.826512519948;
      d = d * z + 440.413735824752;
      c = (e * n) / d;
    } else {
      let b = z + 0.65;
      b = z + 4 / b;
      b = z + 3 / b;
      b = z + 2 / b;
      b = z + 1 / b;
      c = e / b / 2.506628274631;
    }
  }
  return x > 0 ? 1 - c : c;
}

export function normPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/**
 * Black-76 on a forward F (discounted by e^{−rT}); Black-Scholes without dividends is the same formula
 * with F = S·e^{rT}, only delta and theta differ (spot- vs forward-based), hence `spot`.
 * At or after expiry (T ≤ 0) or with σ = 0: intrinsic value, delta 0/±1, other greeks 0.
 */
function black(F: number, K: number, T: number, r: number, sigma: number, right: Right, spot: boolean): Greeks {
  const df = Math.exp(-r * Math.max(T, 0));
  const sign = right === "C" ? 1 : -1;
  if (T <= 0 || sigma <= 0) {
    const intrinsic = Math.max(0, sign * (F - K)) * df;
    const itm = sign * (F - K) > 0;
    return { price: intrinsic, delta: itm ? sign * (spot ? 1 : df) : 0, gamma: 0, vega: 0, theta: 0 };
  }
  const sq = Math.sqrt(T);
  const d1 = (Math.log(F / K) + 0.5 * sigma * sigma * T) / (sigma * sq);
  const d2 = d1 - sigma * sq;
  const nd1 = normCdf(sign * d1);
  const nd2 = normCdf(sign * d2);
  const price = df * sign * (F * nd1 - K * nd2);
  const pdf = normPdf(d1);
  // Spot S = F·df for Black-Scholes: ∂/∂S of the same price.
  const S = F * df;
  const delta = spot ? sign * normCdf(sign * d1) : sign * df * normCdf(sign * d1);
  const gamma = spot ? pdf / (S * sigma * sq) : (df * pdf) / (F * sigma * sq);
  const vegaAnnual = spot ? S * pdf * sq : df * F * pdf * sq;
  // ∂price/∂t (calendar time passing, T shrinking).
  const thetaAnnual = spot
    ? -(S * pdf * sigma) / (2 * sq) - sign * r * K * df * normCdf(sign * d2)
    : -(df * F * pdf * sigma) / (2 * sq) + r * price;
  return { price, delta, gamma, vega: vegaAnnual / 100, theta: thetaAnnual * DAY_YEARS };
}

/** Black-Scholes on spot S (stocks, indices; no dividends). */
export function blackScholes(S: number, K: number, T: number, r: number, sigma: number, right: Right): Greeks {
  return black(S * Math.exp(r * Math.max(T, 0)), K, T, r, sigma, right, true);
}

/** Black-76 on a futures price F (FOP). */
export function black76(F: number, K: number, T: number, r: number, sigma: number, right: Right): Greeks {
  return black(F, K, T, r, sigma, right, false);
}

/** Smile and term structure of one underlying. */
export interface VolSurface {
  /** At-the-money volatility at 3 months. */
  atm: number;
  /** Change of ATM vol per year of maturity beyond 3 months (negative: short-dated vol higher). */
  termSlope: number;
  /** Vol change per unit of moneyness m = ln(K/F)/√T (negative: puts richer, the equity skew). */
  skew: number;
  /** Curvature in m² (the smile). */
  curvature: number;
}

/** σ(K, T) around the forward F: clamped to [5 %, 200 %]; maturities under a week use the one-week smile. */
export function surfaceVol(s: VolSurface, F: number, K: number, T: number): number {
  const tc = Math.max(T, 7 / 365);
  const atmT = s.atm * Math.max(0.5, 1 + s.termSlope * (tc - 0.25));
  const m = Math.log(K / F) / Math.sqrt(tc);
  const v = atmT * (1 + s.skew * m + s.curvature * m * m);
  return Math.min(2, Math.max(0.05, v));
}

/** Volatility that reproduces `price` (bisection; undefined outside the no-arbitrage bounds). */
export function impliedVol(price: number, priceAt: (sigma: number) => number): number | undefined {
  let lo = 0.001;
  let hi = 5;
  if (!(price > priceAt(lo)) || !(price < priceAt(hi))) return undefined;
  for (let i = 0; i < 60; i++) {
    const mid = 0.5 * (lo + hi);
    if (priceAt(mid) < price) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** A two-sided quote in whole ticks. */
export interface TickQuote {
  bidTicks: number;
  askTicks: number;
  /** The theoretical price rounded to the tick: the quote's mid. */
  midTicks: number;
}

/**
 * Bid/ask around the theoretical price: mid = theo rounded to the tick, half-spread h = max(1, ⌊1 % of
 * mid⌋) ticks. Both mid − h and mid + h are non-decreasing in mid, so quotes keep the theoretical prices'
 * order across strikes; mids are within half a tick of theory, so C − P parity holds within one tick.
 * A bid that would be negative is 0 (no bid), as far OTM options show.
 */
export function quoteAround(theo: number, tick: number): TickQuote {
  const midTicks = Math.max(0, Math.round(theo / tick));
  const h = Math.max(1, Math.floor(midTicks * 0.01));
  return { midTicks, bidTicks: Math.max(0, midTicks - h), askTicks: midTicks + h };
}
