import { describe, expect, it } from "vitest";
import type { FeedEvent } from "../../stream/feedEvents.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";
import type { TradeEvent } from "./tradesFeed.js";

// A clock 600 times faster than the wall clock (ten minutes a second): a 2 s Gateway restart misses
// twenty minutes of BTC prints, well over one page of IB's historical ticks (1000), and the backfill is
// bounded to one request here.
const SPEED = 600;
const wallStart = Date.now();
const now = () => wallStart + (Date.now() - wallStart) * SPEED;
const fx = useAdapterOnSimulator({
  simulator: { seed: 7, tickIntervalMs: 20, tickByTickIntervalMs: 10, now },
  adapter: { clientId: 13, now, backoff: { initialMs: 50, maxMs: 100, jitter: 0 }, historicalPacing: { settleAfterReconnectMs: 200, settleMaxMs: 400, outageTradeBackfillRequests: 1 } },
});

describe("trade backfill after a Gateway outage, bounded", () => {
  it("fills what its requests allow, in order from the loss, and says which part of the window was not filled and why", async () => {
    const controller = new AbortController();
    const events: FeedEvent<TradeEvent>[] = [];
    const cursor = await fx.adapter.streamTrades("spot", "BTCUSDT", { signal: controller.signal, heartbeatMs: 500 });
    const done = (async () => {
      for await (const batch of cursor) events.push(...batch);
    })();
    const prints = () => events.flatMap((e) => (e.type === "data" ? [e.value] : []));
    try {
      await until(() => prints().length >= 50, { what: "50 live prints", timeoutMs: 10_000 });
      const restartAt = events.length;
      await fx.sim.faults.restart(2_000);
      const gapAt = () => events.findIndex((e, i) => i >= restartAt && e.type === "status" && e.status.kind === "gap");
      const liveAfterGap = () => events.slice(gapAt()).some((e) => e.type === "data" && e.value.backfilled !== true);
      await until(() => gapAt() >= 0 && liveAfterGap(), { what: "the GAP saying what was backfilled, then the backfilled and live prints", timeoutMs: 15_000 });

      // One GAP for the outage, before every backfilled print.
      expect(events.filter((e) => e.type === "status" && e.status.kind === "gap")).toHaveLength(1);
      const firstBackfilled = events.findIndex((e) => e.type === "data" && e.value.backfilled === true);
      expect(firstBackfilled).toBeGreaterThan(gapAt());
      const text = (events[gapAt()] as { status: { message: string } }).status.message;
      const backfilled = prints().filter((t) => t.backfilled === true);
      // One page: IB's 1000 ticks and the rest of the last second.
      expect(backfilled.length).toBeGreaterThanOrEqual(990);
      expect(backfilled.length).toBeLessThan(1100);
      // A range over midnight UTC names its dates (the sped-up clock crosses one every 2.4 wall minutes).
      const at = String.raw`(?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d`;
      expect(text).toMatch(new RegExp(`: ${backfilled.length} trades backfilled from IB historical ticks for ${at}–${at} UTC \\(1 historical-tick request\\); ${at}–${at} UTC not filled: IB allows 1000 ticks per request and the window held more than 1000 \\(1 request, the bound of one backfill\\)$`));
      console.log(`bounded trade outage: ${text}`);
      // The filled part starts where the live prints stopped, without repeating one.
      const lastLive = prints().filter((t) => t.backfilled !== true && t.sequence < backfilled[0]!.sequence).at(-1)!;
      expect(backfilled[0]!.trade.timeMs).toBeGreaterThanOrEqual(lastLive.trade.timeMs);
      expect(backfilled[0]!.trade.timeMs - lastLive.trade.timeMs).toBeLessThan(5_000);
      const history = await fx.adapter.recentTrades("spot", "BTCUSDT", { fromMs: lastLive.trade.timeMs + 1000, toMs: backfilled.at(-1)!.trade.timeMs, limit: 1000 });
      const key = (t: TradeEvent["trade"]) => `${t.timeMs}|${t.price.toString()}|${t.size.toString()}`;
      const inner = backfilled.map((b) => b.trade).filter((t) => t.timeMs > lastLive.trade.timeMs && t.timeMs < backfilled.at(-1)!.trade.timeMs);
      expect(inner.map(key)).toEqual(history.map(key));
    } finally {
      controller.abort();
      await done;
    }
  }, 30_000);
});
