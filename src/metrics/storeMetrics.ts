import { Counter, Gauge } from "prom-client";
import { metricsRegistry } from "./metrics.js";

/** What the scrape-time store metrics read (MarketStore and the adapter's history cache satisfy it). */
export interface StoreMetricsSource {
  store: {
    stats(): { sizeBytes: number; rows: Record<string, number>; pendingWrites: number; failedWrites: number };
  };
  cache(): { calls: Record<"hit" | "partial" | "miss", number>; barsFromStore: number; barsFromIb: number } | undefined;
}

type StoreFigures = ReturnType<StoreMetricsSource["store"]["stats"]>;

const sources = new Set<StoreMetricsSource>();

/**
 * Each source's figures read once per scrape (prom-client calls every collect() synchronously, one after the other): a read counts
 * every table's rows, a full scan of the candles on the event loop (~70 ms per 3 million rows measured here),
 * which the four store gauges below would otherwise do four times over.
 */
let scrape: Map<StoreMetricsSource, StoreFigures> | undefined;
function figuresOf(source: StoreMetricsSource): StoreFigures {
  if (scrape === undefined) {
    scrape = new Map();
    queueMicrotask(() => (scrape = undefined)); // after this scrape's collect() calls, before any other
  }
  let figures = scrape.get(source);
  if (figures === undefined) {
    figures = source.store.stats();
    scrape.set(source, figures);
  }
  return figures;
}

const sum = (read: (s: StoreMetricsSource) => number | undefined) => [...sources].reduce((total, s) => total + (read(s) ?? 0), 0);

new Gauge({
  name: "ibprovider_store_size_bytes",
  help: "The store's database file and its write-ahead log, in bytes",
  registers: [metricsRegistry],
  collect() {
    this.set(sum((s) => figuresOf(s).sizeBytes));
  },
});

new Gauge({
  name: "ibprovider_store_rows",
  help: "Rows in the store per table",
  labelNames: ["table"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    const totals = new Map<string, number>();
    for (const s of sources) for (const [table, n] of Object.entries(figuresOf(s).rows)) totals.set(table, (totals.get(table) ?? 0) + n);
    for (const [table, n] of totals) this.set({ table }, n);
  },
});

new Gauge({
  name: "ibprovider_store_pending_writes",
  help: "Store write transactions queued and not yet committed",
  registers: [metricsRegistry],
  collect() {
    this.set(sum((s) => figuresOf(s).pendingWrites));
  },
});

new Counter({
  name: "ibprovider_store_failed_writes_total",
  help: "Store writes that failed (e.g. disk full); what they held is asked of IB again when needed",
  registers: [metricsRegistry],
  collect() {
    this.reset();
    this.inc(sum((s) => figuresOf(s).failedWrites));
  },
});

new Counter({
  name: "ibprovider_store_candle_calls_total",
  help: "Candle history calls by what the store covered: hit (all; no IB request), partial, miss",
  labelNames: ["outcome"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const outcome of ["hit", "partial", "miss"] as const) this.inc({ outcome }, sum((s) => s.cache()?.calls[outcome]));
  },
});

new Counter({
  name: "ibprovider_store_candle_bars_total",
  help: "Candles served by history calls, by where they came from (store or ib)",
  labelNames: ["source"] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    this.inc({ source: "store" }, sum((s) => s.cache()?.barsFromStore));
    this.inc({ source: "ib" }, sum((s) => s.cache()?.barsFromIb));
  },
});

/** Publishes a store's figures until the returned function is called. */
export function watchStoreMetrics(source: StoreMetricsSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}
