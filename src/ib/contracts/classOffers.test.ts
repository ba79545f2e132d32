import { describe, expect, it, vi } from "vitest";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";

const fx = useAdapterOnSimulator({ adapter: { clientId: 31 } });

describe("data IB does not send for a class", () => {
  it("is refused as invalid / not-offered-for-class before any IB request, saying what to use instead", async () => {
    const api = fx.adapter.connection.api;
    const sent = [vi.spyOn(api, "reqContractDetails"), vi.spyOn(api, "reqTickByTickData"), vi.spyOn(api, "reqMktDepth"), vi.spyOn(api, "reqHistoricalTicks")];
    const signal = new AbortController().signal;
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ["trades of an index", () => fx.adapter.streamTrades("spot", "SPX", { signal }), /no trade prints for an index: stream its ticks \(last\) or candles/],
      ["trades of a fund", () => fx.adapter.streamTrades("spot", "VFIAX", { signal }), /no trade prints for a fund/],
      ["trades of a bond", () => fx.adapter.streamTrades("spot", "912828Z78", { signal }), /no trade prints for a bond/],
      ["trades of a combo", () => fx.adapter.streamTrades("spot", "COMBO:AAPL,-MSFT", { signal }), /no trade prints for a combo/],
      ["live trades of an option", () => fx.adapter.streamTrades("spot", "AAPL270115C00200000", { signal }), /no tick-by-tick trade prints for options \(only historical ones: GetTrades\)/],
      ["live trades of an option on a future", () => fx.adapter.streamTrades("futures", "ESH7C5000", { signal }), /options on futures/],
      ["recent trades of an index", () => fx.adapter.recentTrades("spot", "IND:DAX", { fromMs: undefined, toMs: Date.now(), limit: 10 }), /index/],
      ["depth of an index", () => fx.adapter.streamOrderBook("spot", "VIX", 5, { signal }), /no order book for an index/],
      ["depth of a fund", () => fx.adapter.streamOrderBook("spot", "FUND:ABC", 5, { signal }), /no order book for a fund/],
      ["depth of a combo", () => fx.adapter.orderBookSnapshot("futures", "COMBO:ESH7,-ESM7", 5), /no order book for a combo/],
    ];
    for (const [what, call, message] of cases) {
      const err = await call().then(() => new Error(`${what} was accepted`), (e: unknown) => e);
      expect(err, what).toMatchObject({ kind: "invalid", fact: "not-offered-for-class", message: expect.stringMatching(message) });
    }
    for (const spy of sent) expect(spy).not.toHaveBeenCalled();
  });
});
