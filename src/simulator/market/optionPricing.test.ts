import { describe, expect, it } from "vitest";
import { black76, blackScholes, impliedVol, quoteAround, RISK_FREE_RATE as r, surfaceVol, type Right } from "./optionPricing.js";

const surface = { atm: 0.25, termSlope: -0.2, skew: -0.12, curvature: 0.05 };

describe("option pricing", () => {
  it("satisfies put–call parity (Black-Scholes on spot, Black-76 on a future)", () => {
    for (const [S, K, T] of [[230, 200, 0.1], [230, 260, 1], [580, 580, 7 / 365]] as const) {
      const s = surfaceVol(surface, S * Math.exp(r * T), K, T);
      const c = blackScholes(S, K, T, r, s, "C").price;
      const p = blackScholes(S, K, T, r, s, "P").price;
      expect(c - p).toBeCloseTo(S - K * Math.exp(-r * T), 6);
      const cf = black76(S, K, T, r, s, "C").price;
      const pf = black76(S, K, T, r, s, "P").price;
      expect(cf - pf).toBeCloseTo((S - K) * Math.exp(-r * T), 6);
    }
  });

  it("prices calls non-increasing and puts non-decreasing in strike, quotes too", () => {
    const S = 230;
    const T = 30 / 365;
    let prevC = Infinity;
    let prevP = -Infinity;
    let prevQ = { c: { bidTicks: Infinity, askTicks: Infinity }, p: { bidTicks: -1, askTicks: -1 } };
    for (let K = 150; K <= 310; K += 5) {
      const s = surfaceVol(surface, S, K, T);
      const c = blackScholes(S, K, T, r, s, "C").price;
      const p = blackScholes(S, K, T, r, s, "P").price;
      expect(c).toBeLessThanOrEqual(prevC);
      expect(p).toBeGreaterThanOrEqual(prevP);
      const qc = quoteAround(c, 0.01);
      const qp = quoteAround(p, 0.01);
      expect(qc.bidTicks).toBeLessThanOrEqual(prevQ.c.bidTicks);
      expect(qc.askTicks).toBeLessThanOrEqual(prevQ.c.askTicks);
      expect(qp.bidTicks).toBeGreaterThanOrEqual(prevQ.p.bidTicks);
      expect(qp.askTicks).toBeGreaterThanOrEqual(prevQ.p.askTicks);
      expect(qc.askTicks - qc.bidTicks).toBeGreaterThanOrEqual(1);
      // Mids within one tick of parity.
      expect(Math.abs((qc.midTicks - qp.midTicks) * 0.01 - (S - K * Math.exp(-r * T)))).toBeLessThanOrEqual(0.01 + 1e-9);
      prevC = c;
      prevP = p;
      prevQ = { c: qc, p: qp };
    }
  });

  it("has analytic greeks equal to finite differences (delta, gamma, vega per vol point, theta per day)", () => {
    for (const [fn, right] of [[blackScholes, "C"], [blackScholes, "P"], [black76, "C"], [black76, "P"]] as const) {
      const [S, K, T, s] = [100, 105, 0.5, 0.3];
      const g = fn(S, K, T, r, s, right as Right);
      const h = 0.01;
      const up = fn(S + h, K, T, r, s, right as Right).price;
      const dn = fn(S - h, K, T, r, s, right as Right).price;
      expect(g.delta).toBeCloseTo((up - dn) / (2 * h), 5);
      expect(g.gamma).toBeCloseTo((up - 2 * g.price + dn) / (h * h), 3);
      expect(g.vega).toBeCloseTo((fn(S, K, T, r, s + 0.0001, right as Right).price - fn(S, K, T, r, s - 0.0001, right as Right).price) / 0.0002 / 100, 5);
      const day = 1 / 365;
      expect(g.theta).toBeCloseTo(fn(S, K, T - day / 2, r, s, right as Right).price - fn(S, K, T + day / 2, r, s, right as Right).price, 4);
    }
  });

  it("goes to intrinsic deep in/out of the money and on expiry", () => {
    const deepItm = blackScholes(230, 100, 0.1, r, 0.3, "C");
    expect(deepItm.delta).toBeGreaterThan(0.999);
    expect(deepItm.price).toBeCloseTo(230 - 100 * Math.exp(-r * 0.1), 4);
    const deepOtm = blackScholes(230, 400, 0.05, r, 0.3, "C");
    expect(deepOtm.price).toBeLessThan(1e-6);
    expect(deepOtm.delta).toBeLessThan(1e-4);
    const put = blackScholes(230, 400, 0.05, r, 0.3, "P");
    expect(put.delta).toBeLessThan(-0.999);
    const expired = blackScholes(230, 200, 0, r, 0.3, "C");
    expect(expired).toEqual({ price: 30, delta: 1, gamma: 0, vega: 0, theta: 0 });
    expect(blackScholes(230, 250, 0, r, 0.3, "C").price).toBe(0);
    expect(blackScholes(230, 250, 0, r, 0.3, "P").price).toBe(20);
    // A few minutes before expiry: still close to intrinsic, finite greeks.
    const last = blackScholes(230, 230, 5 / (365 * 24 * 60), r, 0.3, "C");
    expect(Number.isFinite(last.gamma) && last.price > 0 && last.price < 0.5).toBe(true);
  });

  it("recovers the volatility from a price", () => {
    const price = blackScholes(230, 240, 0.3, r, 0.27, "C").price;
    expect(impliedVol(price, (v) => blackScholes(230, 240, 0.3, r, v, "C").price)).toBeCloseTo(0.27, 6);
    expect(impliedVol(0, (v) => blackScholes(230, 240, 0.3, r, v, "C").price)).toBeUndefined();
  });

  it("has a skewed smile and a term structure", () => {
    const F = 100;
    expect(surfaceVol(surface, F, 90, 0.25)).toBeGreaterThan(surfaceVol(surface, F, 100, 0.25));
    expect(surfaceVol(surface, F, 100, 0.05)).toBeGreaterThan(surfaceVol(surface, F, 100, 1));
  });
});
