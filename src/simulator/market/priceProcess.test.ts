import { describe, expect, it } from "vitest";
import { modelByConId } from "./instruments.js";
import { aggregatePlan, materialise, newPlan, planMinute, stairSum, type MinuteAgg } from "./priceProcess.js";
import { rng } from "./testSupport.js";

const random = rng(2024);

describe("the O(1) minute aggregate equals the materialised trades, in exact integers", () => {
  const conIds = [265598, 479624278, 495759171, 12087792, 620202509];
  it.each(conIds)("random plans of conId %s (all trade-count regimes, wild open/close)", (conId) => {
    const model = modelByConId(conId)!;
    const plan = newPlan();
    const agg: MinuteAgg = { o: 0, h: 0, l: 0, c: 0, count: 0, volume: 0, pv: 0 };
    for (let i = 0; i < 150; i++) {
      const minute = 28_000_000 + Math.floor(random() * 1_000_000);
      const o = 1 + Math.floor(random() * 400_000);
      const c = Math.max(1, o + Math.floor((random() - 0.5) * (i % 3 === 0 ? 2000 : 20)));
      const rateScale = [0.001, 0.05, 0.3, 1, 4][i % 5]!;
      planMinute({ seed: i, rateScale }, model, minute, o, c, i % 2 === 0, plan);
      aggregatePlan(plan, agg);
      const trades = materialise(plan, model.tradeExchanges.length);
      expect(trades.length).toBe(agg.count);
      expect(trades[0]!.ticks).toBe(agg.o);
      expect(trades.at(-1)!.ticks).toBe(agg.c);
      expect(Math.max(...trades.map((t) => t.ticks))).toBe(agg.h);
      expect(Math.min(...trades.map((t) => t.ticks))).toBe(agg.l);
      expect(trades.reduce((v, t) => v + t.units, 0)).toBe(agg.volume);
      expect(trades.reduce((v, t) => v + t.units * t.ticks, 0)).toBe(agg.pv);
      expect(trades.every((t, j) => t.units >= 1 && Math.floor(t.timeMs / 60_000) === minute && (j === 0 || t.timeMs >= trades[j - 1]!.timeMs))).toBe(true);
    }
  });

  it("stairSum is the sum of its staircase", () => {
    for (let i = 0; i < 500; i++) {
      const a = Math.floor(random() * 100);
      const b = Math.floor(random() * 100);
      const k = 1 + Math.floor(random() * 30);
      const d = Math.abs(b - a);
      const q = Math.floor(d / k);
      const r = d - q * k;
      let sum = 0;
      for (let j = 1; j <= k; j++) sum += a + Math.sign(b - a) * (j * q + Math.min(j, r));
      expect(stairSum(a, b, k)).toBe(sum);
    }
  });
});
