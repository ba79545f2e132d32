import { Counter, Gauge } from "prom-client";
import { metricsRegistry } from "./metrics.js";

/** What the scrape-time gauges read from an IB adapter (IbAdapter satisfies it). */
export interface AdapterMetricsSource {
  readonly status: { state: string };
  subscriptions(): ReadonlyArray<{ kind: string; consumers: number; requestedAtIb: boolean; state: string }>;
  readonly connection: { readonly outboundQueued: number };
  /** IB's historical pacing as the adapter spends it (HistoricalScheduler stats and rules). */
  historicalPacing(): {
    queued: number;
    queuedInternal: number;
    inFlight: number;
    sentInWindow: number;
    settlingUntilMs: number | undefined;
    sentTotal: Record<"user" | "internal", number>;
    budget: number;
    /** Requests sent to IB since start, per kind (bars, ticks, realtime_bars, head_timestamp) and outcome. */
    requests: Record<string, Record<string, number>>;
    /** Estimated wait (ms) of the last queued user request; 0 when none waits for the budget. */
    userWaitMs: number;
  };
  /** IB's line limits (marketDataLines, depth, tickByTick) and the lines the service holds of each now. */
  ibLines(): Record<string, { inUse: number; limit: number }>;
}

/** Adapters being watched; one in production, several when tests run apps side by side. */
const sources = new Set<AdapterMetricsSource>();

const KINDS = ["candle", "trade", "orderBook", "tick", "account"] as const;

/** The feeds that are IB subscriptions: an order feed (StreamOrders) requests nothing of IB, the desk hears IB's order messages anyway. */
function ibFeeds(source: AdapterMetricsSource) {
  return source.subscriptions().filter((sub) => sub.kind !== "orders");
}

new Gauge({
  name: "ibprovider_ib_connected",
  help: "1 while the IB Gateway connection is up and the API ready, else 0",
  registers: [metricsRegistry],
  collect() {
    this.set([...sources].some((s) => s.status.state === "connected") ? 1 : 0);
  },
});

new Gauge({
  name: "ibprovider_ib_outbound_queue_length",
  help: "Messages waiting in the outbound token bucket (IB pacing: 40/s in bursts of 5, at most 45 in any second)",
  registers: [metricsRegistry],
  collect() {
    let queued = 0;
    for (const s of sources) queued += s.connection.outboundQueued;
    this.set(queued);
  },
});

new Gauge({
  name: "ibprovider_ib_subscriptions",
  help: "Live IB subscriptions per kind (each shared by its consumers)",
  labelNames: ["kind"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const kind of KINDS) this.set({ kind }, 0);
    for (const s of sources) for (const sub of ibFeeds(s)) this.inc({ kind: sub.kind });
  },
});

new Gauge({
  name: "ibprovider_ib_subscription_consumers",
  help: "Consumers (streams, plus configured active subscriptions) of the live IB subscriptions, per kind",
  labelNames: ["kind"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const kind of KINDS) this.set({ kind }, 0);
    for (const s of sources) for (const sub of ibFeeds(s)) this.inc({ kind: sub.kind }, sub.consumers);
  },
});

new Gauge({
  name: "ibprovider_ib_subscriptions_requested",
  help: "Live IB subscriptions per kind that are requested at IB now; the others have consumers but no IB request (reconnecting, waiting for a settling connection or IB's pacing budget, retrying after a limit)",
  labelNames: ["kind"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const kind of KINDS) this.set({ kind }, 0);
    for (const s of sources) for (const sub of ibFeeds(s)) if (sub.requestedAtIb) this.inc({ kind: sub.kind });
  },
});

new Gauge({
  name: "ibprovider_ib_subscriptions_waiting",
  help: "Live IB subscriptions per kind whose IB request is held back (a settling connection after reconnects, IB's historical pacing budget)",
  labelNames: ["kind"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const kind of KINDS) this.set({ kind }, 0);
    for (const s of sources) for (const sub of ibFeeds(s)) if (sub.state === "waiting") this.inc({ kind: sub.kind });
  },
});

new Gauge({
  name: "ibprovider_ib_lines_in_use",
  help: "IB lines the service's requests hold now, per kind of line (marketDataLines: reqMktData and real-time bars; depth; tickByTick), every client's together",
  labelNames: ["line"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const s of sources) for (const [line, { inUse }] of Object.entries(s.ibLines())) this.inc({ line }, inUse);
  },
});

new Gauge({
  name: "ibprovider_ib_lines_limit",
  help: "IB's limit per kind of line that the service enforces (IB's defaults: 100 market data lines, 3 depth, 3 tick-by-tick)",
  labelNames: ["line"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const s of sources) for (const [line, { limit }] of Object.entries(s.ibLines())) this.inc({ line }, limit);
  },
});

const PRIORITIES = ["user", "internal"] as const;

new Gauge({
  name: "ibprovider_ib_historical_queued",
  help: "Historical requests (bars, ticks, real-time bar subscriptions) waiting for IB's pacing, per priority: user calls or the service's own (live candle feeds)",
  labelNames: ["priority"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    let internal = 0;
    let all = 0;
    for (const s of sources) {
      const p = s.historicalPacing();
      internal += p.queuedInternal;
      all += p.queued;
    }
    this.set({ priority: "user" }, all - internal);
    this.set({ priority: "internal" }, internal);
  },
});

new Gauge({
  name: "ibprovider_ib_historical_budget_used",
  help: "Cost units of IB's historical pacing budget spent within the current window (the limit is ibprovider_ib_historical_budget)",
  registers: [metricsRegistry],
  collect() {
    let used = 0;
    for (const s of sources) used += s.historicalPacing().sentInWindow;
    this.set(used);
  },
});

new Gauge({
  name: "ibprovider_ib_historical_budget",
  help: "IB's historical pacing budget per window, in cost units (IB: 60 per 10 minutes)",
  registers: [metricsRegistry],
  collect() {
    let budget = 0;
    for (const s of sources) budget = Math.max(budget, s.historicalPacing().budget);
    this.set(budget);
  },
});

new Gauge({
  name: "ibprovider_ib_historical_settling_seconds",
  help: "Seconds until the service's own historical requests may go again after reconnects (the connection must settle first); 0 when not held",
  registers: [metricsRegistry],
  collect() {
    const now = Date.now();
    let wait = 0;
    for (const s of sources) {
      const until = s.historicalPacing().settlingUntilMs;
      if (until !== undefined) wait = Math.max(wait, (until - now) / 1000);
    }
    this.set(wait);
  },
});

new Counter({
  name: "ibprovider_ib_historical_sent_total",
  help: "Cost units of historical requests sent to IB, per priority: user calls or the service's own (live candle feeds' real-time bars, seeds, heals)",
  labelNames: ["priority"] as const,
  registers: [metricsRegistry],
  collect() {
    // Mirrors the schedulers' own counters at scrape time.
    this.reset();
    for (const priority of PRIORITIES) {
      let sent = 0;
      for (const s of sources) sent += s.historicalPacing().sentTotal[priority];
      this.inc({ priority }, sent);
    }
  },
});

new Gauge({
  name: "ibprovider_ib_historical_in_flight",
  help: "Historical requests sent to IB and not answered yet (IB allows 50 open at once)",
  registers: [metricsRegistry],
  collect() {
    let open = 0;
    for (const s of sources) open += s.historicalPacing().inFlight;
    this.set(open);
  },
});

new Gauge({
  name: "ibprovider_ib_historical_wait_seconds",
  help: "Estimated seconds until the last queued user history request is sent, as IB's pacing budget stands (fair order between clients); 0 when none waits",
  registers: [metricsRegistry],
  collect() {
    let wait = 0;
    for (const s of sources) wait = Math.max(wait, s.historicalPacing().userWaitMs / 1000);
    this.set(wait);
  },
});

new Counter({
  name: "ibprovider_ib_history_requests_total",
  help: "Historical requests sent to IB, per kind (bars, ticks, realtime_bars, head_timestamp) and outcome (ok, error, cancelled, pacing_retry: rejected for pacing and sent again)",
  labelNames: ["kind", "outcome"] as const,
  registers: [metricsRegistry],
  collect() {
    // Mirrors the schedulers' own counters at scrape time.
    this.reset();
    for (const s of sources) {
      for (const [kind, outcomes] of Object.entries(s.historicalPacing().requests)) {
        for (const [outcome, n] of Object.entries(outcomes)) this.inc({ kind, outcome }, n);
      }
    }
  },
});

/** Reports an adapter's state at every scrape until the returned function is called. */
export function watchAdapterMetrics(source: AdapterMetricsSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}
