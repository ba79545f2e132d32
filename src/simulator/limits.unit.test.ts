import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, HistoricalPacer, MessageRateLimiter } from "./limits.js";

describe("MessageRateLimiter", () => {
  it("admits maxPerSec per sliding second and reports one violation per window", () => {
    let t = 0;
    const r = new MessageRateLimiter(3, () => t);
    expect([r.hit(), r.hit(), r.hit()]).toEqual(["ok", "ok", "ok"]);
    expect(r.hit()).toBe("violation");
    expect(r.hit()).toBe("reject");
    t = 999;
    expect(r.hit()).toBe("reject");
    t = 1001;
    expect(r.hit()).toBe("ok");
    expect(r.violations).toBe(1);
  });
});

describe("HistoricalPacer", () => {
  const key = (c: string, id: string, weight = 1) => ({ contractKey: c, identityKey: id, weight });
  it("refuses identical requests within 15 s", () => {
    let t = 0;
    const p = new HistoricalPacer(DEFAULT_LIMITS, () => t);
    expect(p.admit(key("A", "x"))).toBeUndefined();
    t = 14_999;
    expect(p.admit(key("A", "x"))).toBe("Historical data request pacing violation");
    t = 15_001;
    expect(p.admit(key("A", "x"))).toBeUndefined();
  });
  it("refuses the 6th same-contract request within 2 s", () => {
    let t = 0;
    const p = new HistoricalPacer(DEFAULT_LIMITS, () => t);
    for (let i = 0; i < 5; i++) expect(p.admit(key("A", `r${i}`))).toBeUndefined();
    expect(p.admit(key("A", "r5"))).toBeDefined();
    expect(p.admit(key("B", "r5"))).toBeUndefined();
    t = 2001;
    expect(p.admit(key("A", "r6"))).toBeUndefined();
  });
  it("allows 60 per 10 minutes, BID_ASK counting twice", () => {
    let t = 0;
    const p = new HistoricalPacer(DEFAULT_LIMITS, () => t);
    for (let i = 0; i < 29; i++) {
      t += 2_001;
      expect(p.admit(key(`C${i}`, `r${i}`, 2))).toBeUndefined();
    }
    t += 2_001;
    expect(p.admit(key("D", "d", 2))).toBeUndefined(); // 58 + 2 = 60: still allowed
    expect(p.admit(key("E", "e", 1))).toBeDefined(); // 61st
    expect(p.admit(key("F", "f", 2))).toBeDefined();
    t += 600_000;
    expect(p.admit(key("E", "e", 1))).toBeUndefined();
  });
});
