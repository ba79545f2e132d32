import { Gauge, Histogram } from "prom-client";
import { metricsRegistry } from "../metrics/metrics.js";

/**
 * An edge's own metrics, at its GET /api/metrics (the provider's are the provider's): its streams by phase
 * (replaying from the bus, live, or waiting for the provider to grant their feed again), and how far
 * behind the feed what it sends is — the bus lag, per phase: a replay's is its age, a live stream's is the
 * time from the provider recording an event to this edge writing it to its client.
 */

export const edgeStreams = new Gauge({
  name: "ibprovider_edge_streams",
  help: "Streams an edge serves, by phase (replay, live, releasing: its feed asked for again)",
  labelNames: ["phase"] as const,
  registers: [metricsRegistry],
});

export const edgeBusLag = new Histogram({
  name: "ibprovider_edge_bus_lag_seconds",
  help: "From the provider recording an event to the edge writing it to its client, by phase (replay, live)",
  labelNames: ["phase"] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300, 3600],
  registers: [metricsRegistry],
});

const leaseCounts = new Set<() => number>();

new Gauge({
  name: "ibprovider_edge_leases",
  help: "Stream leases the edge holds with its provider",
  registers: [metricsRegistry],
  collect() {
    let n = 0;
    for (const count of leaseCounts) n += count();
    this.set(n);
  },
});

/** Counts an edge's leases at each scrape (until the returned function is called: the edge stopped). */
export function watchEdgeLeases(leases: () => number): () => void {
  leaseCounts.add(leases);
  return () => leaseCounts.delete(leases);
}
