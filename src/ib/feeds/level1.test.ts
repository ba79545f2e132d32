import { describe, expect, it } from "vitest";
import type { Level1 } from "../../domain/marketData.js";
import type { FeedEvent } from "../../stream/feedEvents.js";
import { IbError } from "../ibErrors.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";

// The real adapter over @stoqey/ib against the simulated Gateway on loopback.
// SAP trades on IBIS in EUR: reachable only through a config override, and the simulated account has no
// entitlement for it.
const provider = {
  apiToken: undefined,
  ignoredConnectors: [],
  ib: { connectorType: "ib" as const, enabled: true, subscriptions: [], markets: [{ marketType: "spot" as const, symbols: [{ name: "SAP", ib: { exchange: "IBIS", currency: "EUR" } }] }] },
};
const fx = useAdapterOnSimulator({ simulator: { seed: 7, tickIntervalMs: 20 }, adapter: { clientId: 1, provider } });

/** Reads batches until `want` data events arrived (bounded by time). */
async function collect(iterable: AsyncIterable<FeedEvent<Level1>[]>, want: number, timeoutMs = 5_000): Promise<FeedEvent<Level1>[]> {
  const out: FeedEvent<Level1>[] = [];
  const deadline = Date.now() + timeoutMs;
  for await (const batch of iterable) {
    out.push(...batch);
    if (out.filter((e) => e.type === "data").length >= want || Date.now() > deadline) break;
  }
  return out;
}

describe("L1 ticks", () => {
  it("stream decimal bid/ask/last with the market data type reported", async () => {
    const controller = new AbortController();
    const queue = await fx.adapter.streamTicks("spot", "BTCUSDT", { signal: controller.signal, heartbeatMs: 1_000 });
    const events = await collect(queue, 5);
    controller.abort();
    expect(events[0]).toMatchObject({ type: "status", status: { kind: "subscribed" } });
    const data = events.flatMap((e) => (e.type === "data" ? [e.value] : []));
    expect(data.length).toBeGreaterThanOrEqual(5);
    const last = data.at(-1)!;
    expect(last.dataType).toBe("live");
    expect(last.bid!.lt(last.ask!)).toBe(true);
    // BTC trades in 0.25 ticks at PAXOS: prices are exact decimals, never float noise.
    expect(last.bid!.mod(0.25).isZero()).toBe(true);
  });

  it("150 consumers of 10 instruments use 10 IB market data lines, and the last one out cancels", async () => {
    const es = fx.sim.market.instruments().filter((i) => i.symbol === "ES").map((i) => i.lastTradeDateOrContractMonth).sort();
    const symbols: [("spot" | "futures"), string][] = [
      ["spot", "AAPL"], ["spot", "MSFT"], ["spot", "SPY"], ["spot", "TSLA"], ["spot", "BTCUSDT"], ["spot", "ETHUSDT"], ["spot", "EURUSD"],
      ["futures", `ES-${es[es.length - 3]}`], ["futures", `ES-${es[es.length - 2]}`], ["futures", `ES-${es[es.length - 1]}`],
    ];
    const controllers: AbortController[] = [];
    const queues = [];
    for (let i = 0; i < 150; i++) {
      const [market, symbol] = symbols[i % symbols.length]!;
      const c = new AbortController();
      controllers.push(c);
      queues.push(await fx.adapter.streamTicks(market, symbol, { signal: c.signal, heartbeatMs: 1_000 }));
    }
    const ticks = fx.adapter.subscriptions().filter((s) => s.kind === "tick");
    expect(ticks).toHaveLength(10);
    expect(ticks.reduce((n, s) => n + s.consumers, 0)).toBe(150);
    // Every consumer receives data (the late joiners get the current state first).
    const firstData = await Promise.all(queues.map(async (q) => (await collect(q, 1)).some((e) => e.type === "data")));
    expect(firstData.every(Boolean)).toBe(true);
    for (const c of controllers) c.abort();
    expect(fx.adapter.subscriptions().filter((s) => s.kind === "tick")).toHaveLength(0);
  });

  it("reports delayed data for an instrument the account has only delayed entitlement for", async () => {
    const controller = new AbortController();
    const events = await collect(await fx.adapter.streamTicks("spot", "TSLA", { signal: controller.signal, heartbeatMs: 1_000 }), 2);
    controller.abort();
    expect(events.some((e) => e.type === "status" && e.status.kind === "delayed")).toBe(true);
    const data = events.flatMap((e) => (e.type === "data" ? [e.value] : []));
    expect(data.at(-1)?.dataType).toBe("delayed");
  });

  it("ends the stream with a permission error when the account has no entitlement at all", async () => {
    const controller = new AbortController();
    const queue = await fx.adapter.streamTicks("spot", "SAP", { signal: controller.signal, heartbeatMs: 1_000 });
    const failure = await collect(queue, 1).catch((e: unknown) => e);
    controller.abort();
    expect(failure).toBeInstanceOf(IbError);
    expect(failure).toMatchObject({ kind: "permission", ibCode: 354 });
    expect(fx.adapter.subscriptions().filter((s) => s.kind === "tick")).toHaveLength(0);
  });

  it("fails fast with not-found for a symbol IB does not know", async () => {
    const started = Date.now();
    const err = await fx.adapter.streamTicks("spot", "NOSUCH", { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "not-found", ibCode: 200 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("refuses a market data line beyond the account's limit before IB would (101), naming the limit", async () => {
    const small = fx.another({ clientId: 9, provider, limits: { marketDataLines: 2, depth: 3, tickByTick: 3 } });
    await small.start();
    const c = new AbortController();
    await small.streamTicks("spot", "AAPL", { signal: c.signal });
    await small.streamTicks("spot", "MSFT", { signal: c.signal });
    await expect(small.streamTicks("spot", "SPY", { signal: c.signal })).rejects.toMatchObject({ kind: "limit", message: expect.stringContaining("market data lines") });
    // Joining a line already open is free.
    await expect(small.streamTicks("spot", "AAPL", { signal: c.signal })).resolves.toBeDefined();
    c.abort();
    // Lines come back when their last consumer leaves.
    await expect(small.streamTicks("spot", "SPY", { signal: new AbortController().signal })).resolves.toBeDefined();
    small.stop();
  });
});

