import { Gauge } from "prom-client";
import { metricsRegistry } from "./metrics.js";

/** What the scrape-time gauges read from an IB adapter (IbAdapter satisfies it). */
export interface AdapterMetricsSource {
  readonly status: { state: string };
  subscriptions(): ReadonlyArray<{ kind: string; consumers: number }>;
  readonly connection: { readonly outboundQueued: number };
}

/** Adapters being watched; one in production, several when tests run apps side by side. */
const sources = new Set<AdapterMetricsSource>();

const KINDS = ["candle", "trade", "orderBook", "tick", "account"] as const;

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
  help: "Messages waiting in the outbound token bucket (IB pacing: 45/s in bursts of 5)",
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
    for (const s of sources) for (const sub of s.subscriptions()) this.inc({ kind: sub.kind });
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
    for (const s of sources) for (const sub of s.subscriptions()) this.inc({ kind: sub.kind }, sub.consumers);
  },
});

/** Reports an adapter's state at every scrape until the returned function is called. */
export function watchAdapterMetrics(source: AdapterMetricsSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}
