import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ApiError } from "./apiError.js";
import { RecentErrors } from "./recentErrors.js";

describe("the last failed calls", () => {
  it("are kept newest first, at most the capacity, without cancelled calls", () => {
    const errors = new RecentErrors(3);
    for (let i = 1; i <= 5; i++) errors.record("ibprovider.v1.MarketDataService.GetCandles", "default", new ApiError(status.NOT_FOUND, `no symbol ${i}`, "SYMBOL_NOT_FOUND"), i);
    errors.record("ibprovider.v1.MarketDataService.StreamTicks", "default", new ApiError(status.CANCELLED, "cancelled", "CANCELLED"), 6);
    expect(errors.list().map((e) => [e.atMs, e.method, e.code, e.reason, e.message])).toEqual([
      [5, "ibprovider.v1.MarketDataService.GetCandles", status.NOT_FOUND, "SYMBOL_NOT_FOUND", "no symbol 5"],
      [4, "ibprovider.v1.MarketDataService.GetCandles", status.NOT_FOUND, "SYMBOL_NOT_FOUND", "no symbol 4"],
      [3, "ibprovider.v1.MarketDataService.GetCandles", status.NOT_FOUND, "SYMBOL_NOT_FOUND", "no symbol 3"],
    ]);
  });

  it("mask account ids and bound the message", () => {
    const errors = new RecentErrors();
    errors.record("m", "c", new ApiError(status.NOT_FOUND, `account DU1234567 (and U7654321) is not managed here; ${"x".repeat(400)}`, "ACCOUNT_NOT_FOUND"));
    const [kept] = errors.list();
    expect(kept!.message).toMatch(/^account DU\*\*\*567 \(and U7\*\*\*321\) is not managed here; x+…$/);
    expect(kept!.message).not.toContain("1234567");
    expect(kept!.message.length).toBe(301);
  });
});
