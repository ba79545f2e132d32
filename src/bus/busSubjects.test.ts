import { describe, expect, it } from "vitest";
import { accountToken, feedSubject, publicFeedKey, streamOf, subjectToken, tokenText } from "./busSubjects.js";

describe("bus subjects", () => {
  it("writes any symbol as one NATS subject token, reversibly", () => {
    const cases: [string, string][] = [
      ["BTCUSDT", "BTCUSDT"],
      ["BRK.B", "BRK%2EB"],
      ["ESH7 C5000", "ESH7%20C5000"],
      ["COMBO:A,-B", "COMBO:A,-B"],
      ["a*b>c", "a%2Ab%3Ec"],
      ["100%", "100%25"],
      ["Société", "Soci%C3%A9t%C3%A9"],
      ["", "%"],
    ];
    for (const [text, token] of cases) {
      expect(subjectToken(text)).toBe(token);
      expect(tokenText(token)).toBe(text);
      expect(token).toMatch(/^[^.\s*>]+$/);
    }
  });

  it("names a feed <prefix>.<account>.<kind>.<market>.<symbol>[.<param>], the account by a digest only", () => {
    const account = accountToken("DU1234567");
    expect(account).toMatch(/^a[0-9a-f]{12}$/);
    expect(account).not.toContain("1234567");
    expect(accountToken("DU1234567")).toBe(account);
    expect(accountToken("DU1234568")).not.toBe(account);
    expect(feedSubject("ibp", account, { key: "tick/123", kind: "tick", market: "spot", symbol: "BTCUSDT" })).toBe(`ibp.${account}.tick.spot.BTCUSDT`);
    expect(feedSubject("ibp", account, { key: "book/9/10", kind: "orderBook", market: "stock", symbol: "BRK.B" })).toBe(`ibp.${account}.book.stock.BRK%2EB.10`);
    expect(feedSubject("ibp", account, { key: "candle/7/min1", kind: "candle", market: "futures", symbol: "ESH7 C5000" })).toBe(`ibp.${account}.candle.futures.ESH7%20C5000.min1`);
    expect(feedSubject("ibp", account, { key: "account/DU1234567", kind: "account", market: "", symbol: "" })).toBe(`ibp.${account}.account`);
    expect(publicFeedKey("account/DU1234567", "account", account)).toBe(`account/${account}`);
    expect(publicFeedKey("tick/123", "tick", account)).toBe("tick/123");
  });

  it("captures each kind in a stream of its own, every account's", () => {
    expect(streamOf("ibp", "tick")).toEqual({ name: "IBP_TICK", subject: "ibp.*.tick.>" });
    expect(streamOf("ibp", "orderBook")).toEqual({ name: "IBP_BOOK", subject: "ibp.*.book.>" });
    expect(streamOf("ibp", "account")).toEqual({ name: "IBP_ACCOUNT", subject: "ibp.*.account" });
  });
});
