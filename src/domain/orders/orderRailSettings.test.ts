import { describe, expect, it } from "vitest";
import { dec } from "../decimal.js";
import { DEFAULT_ORDER_RAIL_SETTINGS, limitFor, parseOrderRailSettings } from "./orderRailSettings.js";

describe("reading the rails' settings from the environment", () => {
  it("keeps the defaults (orders off, live refused, no limits) when nothing is set", () => {
    const parsed = parseOrderRailSettings({ ORDERS_ENABLED: "", ORDERS_MAX_QUANTITY: "  " });
    expect(parsed).toEqual({ ok: true, settings: { ...DEFAULT_ORDER_RAIL_SETTINGS } });
  });

  it("reads every variable", () => {
    const parsed = parseOrderRailSettings({
      ORDERS_ENABLED: "true",
      ORDERS_ALLOW_LIVE: "off",
      ORDERS_ALLOWED_TYPES: "MKT, LMT,stp_lmt",
      ORDERS_ALLOWED_SYMBOLS: "aapl,MSFT",
      ORDERS_MAX_QUANTITY: "AAPL=100,*=10",
      ORDERS_MAX_NOTIONAL: "aapl=50000.5, *=10000",
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const s = parsed.settings;
    expect([s.enabled, s.allowLive, s.killSwitchEngaged]).toEqual([true, false, false]);
    expect([...s.allowedOrderTypes]).toEqual(["MKT", "LMT", "STP LMT"]);
    expect([...s.allowedSymbols]).toEqual(["AAPL", "MSFT"]);
    expect(limitFor(s.maxQuantity, "aapl")?.toString()).toBe("100");
    expect(limitFor(s.maxQuantity, "IBM")?.toString()).toBe("10");
    expect(limitFor(s.maxNotional, "AAPL")?.eq(dec("50000.5"))).toBe(true);
  });

  it("sets no limit for the symbols not listed when there is no *", () => {
    const parsed = parseOrderRailSettings({ ORDERS_MAX_QUANTITY: "AAPL=1" });
    expect(parsed.ok && limitFor(parsed.settings.maxQuantity, "IBM")).toBeUndefined();
    expect(parsed.ok && limitFor(parsed.settings.maxQuantity, "AAPL")?.toString()).toBe("1");
  });

  it("reports every malformed variable, each by name, and returns no settings", () => {
    const parsed = parseOrderRailSettings({
      ORDERS_ENABLED: "yes",
      ORDERS_ALLOWED_TYPES: "MKT,TRAIL",
      ORDERS_ALLOWED_SYMBOLS: "AAPL=1",
      ORDERS_MAX_QUANTITY: "AAPL=100,AAPL=5",
      ORDERS_MAX_NOTIONAL: "AAPL=-5",
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.variable)).toEqual(["ORDERS_ENABLED", "ORDERS_ALLOWED_TYPES", "ORDERS_ALLOWED_SYMBOLS", "ORDERS_MAX_QUANTITY", "ORDERS_MAX_NOTIONAL"]);
    expect(parsed.errors.map((e) => e.message)).toEqual([
      'ORDERS_ENABLED: "yes" is not one of on, off, true, false, 1, 0',
      'ORDERS_ALLOWED_TYPES: "TRAIL" is not an order type (MKT, LMT, STP, STP LMT)',
      'ORDERS_ALLOWED_SYMBOLS: "AAPL=1" is not a symbol (a list such as AAPL,MSFT; unset for any)',
      'ORDERS_MAX_QUANTITY: "AAPL" is given twice',
      'ORDERS_MAX_NOTIONAL: "AAPL=-5": the limit must be a number above 0',
    ]);
  });

  it("refuses a limit without a symbol or a value, and a type list that lists nothing", () => {
    for (const [variable, text] of [["ORDERS_MAX_QUANTITY", "100"], ["ORDERS_MAX_QUANTITY", "AAPL="], ["ORDERS_MAX_NOTIONAL", "=5"], ["ORDERS_MAX_NOTIONAL", "AAPL=1e3"], ["ORDERS_ALLOWED_TYPES", ", ,"]] as const) {
      const parsed = parseOrderRailSettings({ [variable]: text });
      expect(parsed.ok ? [] : parsed.errors.map((e) => e.variable)).toEqual([variable]);
    }
  });
});
