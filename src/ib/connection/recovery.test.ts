import { describe, expect, it } from "vitest";
import type { FeedEvent } from "../../stream/feedEvents.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";

// The real adapter against the simulated Gateway, which injects the faults real Gateways produce.
const fx = useAdapterOnSimulator({ simulator: { seed: 11, tickIntervalMs: 20 }, adapter: { clientId: 3, backoff: { initialMs: 50, maxMs: 400, jitter: 0.5 } } });

/** Reads events until `until` matches one (bounded by time and count). */
async function readUntil<T>(iterator: AsyncIterator<FeedEvent<T>[]>, until: (e: FeedEvent<T>) => boolean, seen: FeedEvent<T>[], timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && seen.length < 100_000) {
    const next = await iterator.next();
    if (next.done) throw new Error("stream ended");
    seen.push(...next.value);
    if (next.value.some(until)) return;
  }
  throw new Error("timed out");
}

describe("recovery", () => {
  it("resumes every stream after a Gateway restart, with reconnecting and gap markers in between", async () => {
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const iterators = await Promise.all(
      [["spot", "BTCUSDT"], ["spot", "ETHUSDT"], ["spot", "BTC"]].map(async ([m, s], i) =>
        (await fx.adapter.streamTicks(m as "spot", s!, { signal: controllers[i]!.signal, heartbeatMs: 500 }))[Symbol.asyncIterator](),
      ),
    );
    const seen = iterators.map(() => [] as FeedEvent<unknown>[]);
    await Promise.all(iterators.map((it, i) => readUntil(it, (e) => e.type === "data", seen[i]!)));

    await fx.sim.faults.restart(300);
    await Promise.all(
      iterators.map(async (it, i) => {
        const after = seen[i]!.length;
        await readUntil(it, (e) => e.type === "status" && e.status.kind === "gap", seen[i]!);
        await readUntil(it, (e) => e.type === "data", seen[i]!);
        const kinds = seen[i]!.slice(after).map((e) => (e.type === "status" ? e.status.kind : e.type));
        // Never glued across the gap: reconnecting, then gap, then data again.
        expect(kinds.indexOf("reconnecting")).toBeGreaterThanOrEqual(0);
        expect(kinds.indexOf("gap")).toBeGreaterThan(kinds.indexOf("reconnecting"));
        expect(kinds.lastIndexOf("data")).toBeGreaterThan(kinds.indexOf("gap"));
      }),
    );
    expect(fx.adapter.status).toMatchObject({ state: "connected", reconnectCount: 1 });
    // BTCUSDT and BTC share one IB line, before and after the restart.
    expect(fx.adapter.subscriptions().filter((s) => s.kind === "tick")).toHaveLength(2);
    for (const c of controllers) c.abort();
  });

  it("marks streams stale on IB's 1100 and resubscribes with a gap on 1101 (data lost)", async () => {
    const controller = new AbortController();
    const it = (await fx.adapter.streamTicks("spot", "AAPL", { signal: controller.signal, heartbeatMs: 500 }))[Symbol.asyncIterator]();
    const seen: FeedEvent<unknown>[] = [];
    await readUntil(it, (e) => e.type === "data", seen);
    fx.sim.faults.connectivityLost();
    await readUntil(it, (e) => e.type === "status" && e.status.kind === "stale" && e.status.ibCode === 1100, seen);
    fx.sim.faults.connectivityRestored(true);
    await readUntil(it, (e) => e.type === "status" && e.status.kind === "gap", seen);
    await readUntil(it, (e) => e.type === "data", seen);
    controller.abort();
  });

  it("says plainly that the client id is in use (326) instead of looping", async () => {
    const second = fx.another({ clientId: 3 });
    await expect(second.start()).rejects.toThrow(/client id 3 is already in use at 127\.0\.0\.1:\d+: set IB_CLIENT_ID/);
    expect(second.status.state).toBe("disconnected");
    // The first connection is untouched.
    expect(fx.adapter.status.state).toBe("connected");
  });

  it("tells a stalled feed from a quiet one: STALE after the configured silence, then data again", async () => {
    const controller = new AbortController();
    const it = (await fx.adapter.streamTicks("spot", "ETHUSDT", { signal: controller.signal, heartbeatMs: 100, staleAfterMs: 300 }))[Symbol.asyncIterator]();
    const seen: FeedEvent<unknown>[] = [];
    await readUntil(it, (e) => e.type === "data", seen);
    expect(fx.sim.faults.stall(1_500)).toBe(true);
    await readUntil(it, (e) => e.type === "status" && e.status.kind === "stale", seen);
    const stale = seen.find((e) => e.type === "status" && e.status.kind === "stale");
    expect(stale?.type === "status" && stale.status.sinceLastDataMs).toBeGreaterThanOrEqual(300);
    expect(seen.some((e) => e.type === "heartbeat")).toBe(true);
    await readUntil(it, (e) => e.type === "data", seen);
    controller.abort();
  });

  it("restores the requested market data type after a reconnect (the Gateway resets it to live)", async () => {
    const controller = new AbortController();
    const it = (await fx.adapter.streamTicks("spot", "TSLA", { signal: controller.signal, heartbeatMs: 500 }))[Symbol.asyncIterator]();
    const seen: FeedEvent<unknown>[] = [];
    await readUntil(it, (e) => e.type === "status" && e.status.kind === "delayed", seen);
    fx.sim.faults.dropAll();
    const after = seen.length;
    await readUntil(it, (e) => e.type === "status" && e.status.kind === "gap", seen);
    // TSLA is delayed-only: with the type not restored, IB would answer 10089 and end the stream.
    await readUntil(it, (e) => e.type === "data", seen);
    const resumed = seen.slice(after);
    expect(resumed.some((e) => e.type === "status" && e.status.kind === "delayed")).toBe(true);
    controller.abort();
  });

  it("a stream opened while the Gateway is away waits for it instead of queueing requests, then delivers", async () => {
    await fx.adapter.resolve("spot", "SPY"); // cached: no IB request needed to start the stream
    const restarting = fx.sim.faults.restart(600);
    await until(() => fx.adapter.status.state !== "connected", { what: "the adapter to notice the Gateway is gone" });
    // One-shot requests fail fast meanwhile rather than being sent after the reconnect.
    await expect(fx.adapter.resolve("spot", "QQQ")).rejects.toMatchObject({ kind: "unavailable" });
    const controller = new AbortController();
    const it = (await fx.adapter.streamTicks("spot", "SPY", { signal: controller.signal, heartbeatMs: 500 }))[Symbol.asyncIterator]();
    const seen: FeedEvent<unknown>[] = [];
    await readUntil(it, (e) => e.type === "status" && e.status.kind === "reconnecting", seen);
    await restarting;
    await readUntil(it, (e) => e.type === "data", seen);
    expect(seen.some((e) => e.type === "status" && e.status.kind === "gap")).toBe(true);
    controller.abort();
  });

  it("on 1102 (restored, data maintained) keeps the subscription and reports the data kind it had", async () => {
    const controller = new AbortController();
    const it = (await fx.adapter.streamTicks("spot", "TSLA", { signal: controller.signal, heartbeatMs: 500 }))[Symbol.asyncIterator]();
    const seen: FeedEvent<unknown>[] = [];
    await readUntil(it, (e) => e.type === "data", seen);
    fx.sim.faults.connectivityLost();
    await readUntil(it, (e) => e.type === "status" && e.status.kind === "stale", seen);
    const from = seen.length;
    fx.sim.faults.connectivityRestored(false);
    // TSLA is delayed for this account: "data maintained" must not turn it into LIVE.
    await readUntil(it, (e) => e.type === "status" && e.status.ibCode === 1102, seen);
    const restored = seen.slice(from).find((e) => e.type === "status" && e.status.ibCode === 1102);
    expect(restored).toMatchObject({ status: { kind: "delayed" } });
    expect(seen.slice(from).some((e) => e.type === "status" && e.status.kind === "gap")).toBe(false);
    await readUntil(it, (e) => e.type === "data", seen);
    controller.abort();
  });

  it("never writes requests queued for a lost session onto the next connection", async () => {
    const api = fx.adapter.connection.api;
    let answers = 0;
    const onTime = () => void answers++;
    api.on("currentTime" as never, onTime);
    try {
      // 200 requests at 40/s: most are still queued when the Gateway drops.
      for (let i = 0; i < 200; i++) api.reqCurrentTime();
      fx.sim.faults.dropAll();
      await until(() => fx.adapter.status.state === "connected", { what: "the adapter to reconnect", timeoutMs: 8_000 });
      const before = answers;
      // A probe of another kind, queued behind whatever is still queued and answered in order: by the time
      // its answer is back, every old request that reached the new session would have been answered.
      let probed = false;
      const onProbe = () => void (probed = true);
      api.once("nextValidId" as never, onProbe);
      api.reqIds(1);
      await until(() => probed, { what: "the probe's answer" });
      // Nothing of the old queue reached the new session.
      expect(answers - before).toBe(0);
      expect(before).toBeLessThan(200);
    } finally {
      api.off("currentTime" as never, onTime);
    }
  });
});

