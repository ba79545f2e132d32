import { EventName } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import type { Level1 } from "../../domain/marketData.js";
import type { FeedSink } from "../../stream/feedSource.js";
import type { ResolvedInstrument } from "../contracts/contractResolver.js";
import { RecordedGateway } from "../testing/recordedGateway.js";
import { level1Source } from "./level1Feed.js";

// Recorded-message seam (src/ib/testing/recordedGateway.ts): tickOptionComputation as @stoqey/ib emits it,
// until the simulator sends it.
const DOUBLE_MAX = Number.MAX_VALUE;

function openL1(assetClass: ResolvedInstrument["assetClass"]) {
  const gateway = new RecordedGateway();
  const ctx = gateway.context();
  const data: Level1[] = [];
  const statuses: { kind: string; message: string }[] = [];
  const sink: FeedSink<Level1> = { data: (v) => data.push(v), status: (kind, message) => statuses.push({ kind, message }), waiting: () => undefined, restart: () => undefined, fail: (e) => statuses.push({ kind: "fail", message: e.message }) };
  const instrument = { symbol: "X", assetClass, requestContract: { conId: 1 } } as ResolvedInstrument;
  const feed = level1Source(ctx, instrument).open(sink);
  const reqId = gateway.calls("reqMktData")[0]![0] as number;
  return { gateway, reqId, data, statuses, feed, ctx };
}

describe("option computations in L1", () => {
  it("keeps IB's latest computation per kind, ordered bid, ask, last, model, live and delayed tick types alike", () => {
    const { gateway, reqId, data } = openL1("option");
    const compute = (tickType: number, iv: number) => gateway.emit(EventName.tickOptionComputation, reqId, tickType, 1, iv, 0.5, 3.2, 0, 0.02, 0.11, -0.05, 201.5);
    compute(13, 0.3); // model
    compute(80, 0.29); // delayed bid
    compute(11, 0.31); // ask
    compute(13, 0.32); // model again: replaces the first
    compute(82, 0.305); // delayed last
    const latest = data.at(-1)!.optionComputations!;
    expect(latest.map((c) => c.kind)).toEqual(["bid", "ask", "last", "model"]);
    expect(latest.map((c) => c.impliedVolatility?.toString())).toEqual(["0.29", "0.31", "0.305", "0.32"]);
    expect(latest[3]).toMatchObject({ priceBased: true, optionPrice: expect.anything(), underlyingPrice: expect.anything() });
    expect(latest[3]!.theta?.toString()).toBe("-0.05");
    // Events are immutable: an earlier state kept its own list.
    expect(data[0]!.optionComputations!.map((c) => c.kind)).toEqual(["model"]);
  });

  it("leaves out what IB has not computed: -1 prices, -2 greeks, Double.MAX and undefined", () => {
    const { gateway, reqId, data } = openL1("option");
    gateway.emit(EventName.tickOptionComputation, reqId, 10, 0, -1, -2, -1, -1, -2, -2, -2, -1);
    gateway.emit(EventName.tickOptionComputation, reqId, 11, undefined, DOUBLE_MAX, DOUBLE_MAX, DOUBLE_MAX, DOUBLE_MAX, DOUBLE_MAX, DOUBLE_MAX, DOUBLE_MAX, DOUBLE_MAX);
    gateway.emit(EventName.tickOptionComputation, reqId, 12, 1, undefined, -1, undefined, undefined, undefined, undefined, undefined, undefined);
    const [bid, ask, last] = data.at(-1)!.optionComputations!;
    for (const c of [bid!, ask!]) {
      for (const field of ["impliedVolatility", "delta", "gamma", "vega", "theta", "optionPrice", "underlyingPrice", "pvDividend"] as const) expect(c[field], `${c.kind} ${field}`).toBeUndefined();
    }
    expect(bid!.priceBased).toBe(false);
    expect(ask!.priceBased).toBe(false);
    // A delta of -1 is a deep put, not a sentinel.
    expect(last).toMatchObject({ kind: "last", priceBased: true });
    expect(last!.delta?.toString()).toBe("-1");
  });

  it("prices of the quote keep their fields next to the computations", () => {
    const { gateway, reqId, data } = openL1("option");
    gateway.emit(EventName.tickPrice, reqId, 1, 3.1);
    gateway.emit(EventName.tickOptionComputation, reqId, 13, 0, 0.3, 0.5, 3.15, 0, 0.02, 0.1, -0.04, 200);
    gateway.emit(EventName.tickPrice, reqId, 2, 3.2);
    expect(data.at(-1)).toMatchObject({ bid: expect.anything(), ask: expect.anything(), optionComputations: [{ kind: "model" }] });
    expect(data.at(-1)!.bid!.toString()).toBe("3.1");
  });
});

describe("L1 of classes whose quotes differ from a stock's", () => {
  it.each([
    ["index", "an index has no bid, ask or sizes: IB sends its value as last"],
    ["fund", "a fund has one price a day (its NAV, sent as last and close)"],
    ["bond", "bonds are quoted as a percent of par; IB sends no trade prints"],
  ] as const)("tells once, after opening, what IB does not send for a %s", (assetClass, message) => {
    const { gateway, reqId, statuses } = openL1(assetClass);
    gateway.emit(EventName.tickPrice, reqId, 4, 5000.5);
    expect(statuses).toEqual([{ kind: "advisory", message: `X: ${message}` }]);
  });

  it("keeps an index's value as last and drops the sizes IB pairs with it", () => {
    const { gateway, reqId, data } = openL1("index");
    gateway.emit(EventName.tickPrice, reqId, 4, 6001.25);
    gateway.emit(EventName.tickSize, reqId, 5, 0);
    gateway.emit(EventName.tickSize, reqId, 8, 0);
    expect(data.at(-1)).toMatchObject({ lastSize: undefined, bidSize: undefined });
    expect(data.at(-1)!.last!.toString()).toBe("6001.25");
    expect(data.at(-1)!.volume!.toString()).toBe("0");
  });

  it("says nothing extra for a stock or an option", () => {
    expect(openL1("stock").statuses).toEqual([]);
    expect(openL1("option").statuses).toEqual([]);
  });
});
