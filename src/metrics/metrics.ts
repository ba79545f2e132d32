import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The service's Prometheus metrics, served at GET /api/metrics. One registry per process (not
 * prom-client's global one, so that a library's metrics never leak in): the metric objects are module
 * singletons, incremented where things happen; gauges that mirror state are filled at scrape time
 * (adapterMetrics.ts).
 *
 * Label `kind` is a stream kind: candle, trade, orderBook, tick, account, orders (the SubscriptionKind names).
 * Label `client` is the caller's client name (clients file, `default`, `anonymous`): as many values as
 * configured clients, never a token or an address.
 */
export const metricsRegistry = new Registry();

collectDefaultMetrics({ register: metricsRegistry });

/** Request latency buckets: from a cached runtime proof (sub-ms) to a paced multi-chunk history (minutes). */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180];

// --- streams (wired in src/grpc and src/ib/feeds) --------------------------------------------------

/** Open gRPC server streams per kind (REST streams are gRPC streams too, so they count here). */
export const activeStreams = new Gauge({
  name: "ibprovider_active_streams",
  help: "Open server streams per kind and client",
  labelNames: ["kind", "client"] as const,
  registers: [metricsRegistry],
});

/** Stream response messages written to clients (each carries a batch of events). */
export const streamMessagesOut = new Counter({
  name: "ibprovider_stream_messages_out_total",
  help: "Stream response messages sent to clients, per kind and client",
  labelNames: ["kind", "client"] as const,
  registers: [metricsRegistry],
});

/** Data events discarded for a slow consumer whose every event matters (its stream then ends). */
export const droppedMessages = new Counter({
  name: "ibprovider_stream_events_dropped_total",
  help: "Data events dropped for consumers that fell too far behind, per kind",
  labelNames: ["kind"] as const,
  registers: [metricsRegistry],
});

/** Queued states replaced by a newer one (L1 ticks) or by a fresh snapshot (order books). */
export const conflatedMessages = new Counter({
  name: "ibprovider_stream_events_conflated_total",
  help: "Queued data events replaced by the newest state or a snapshot for a slow consumer, per kind",
  labelNames: ["kind"] as const,
  registers: [metricsRegistry],
});

/** gRPC calls by method and final status code, measured from call start to status. */
export const grpcRequestDuration = new Histogram({
  name: "ibprovider_grpc_request_duration_seconds",
  help: "gRPC unary call latency (and stream lifetime) by method, status code and client",
  labelNames: ["method", "code", "client"] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

// --- REST bridge (src/rest) ------------------------------------------------------------------------

/** REST requests by route template (never the raw URL: symbols would explode the label set). */
export const httpRequestDuration = new Histogram({
  name: "ibprovider_http_request_duration_seconds",
  help: "REST request latency by method, route template and HTTP status (streams: until they end)",
  labelNames: ["method", "route", "status"] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

/** REST streams (NDJSON or SSE) currently open. */
export const httpOpenStreams = new Gauge({
  name: "ibprovider_http_open_streams",
  help: "Open REST streams by framing (ndjson, sse)",
  labelNames: ["framing"] as const,
  registers: [metricsRegistry],
});

// --- IB connection (src/ib) ------------------------------------------------------------------------

/** Messages decoded from the Gateway socket. */
export const ibMessagesIn = new Counter({
  name: "ibprovider_ib_messages_in_total",
  help: "Messages received from the IB Gateway",
  registers: [metricsRegistry],
});

/** Messages written to the Gateway socket (after the outbound token bucket). */
export const ibMessagesOut = new Counter({
  name: "ibprovider_ib_messages_out_total",
  help: "Messages sent to the IB Gateway",
  registers: [metricsRegistry],
});

/** Queued outbound messages discarded because their connection was lost. */
export const ibOutboundDropped = new Counter({
  name: "ibprovider_ib_outbound_dropped_total",
  help: "Queued outbound messages discarded when the Gateway connection was lost",
  registers: [metricsRegistry],
});

/** Successful reconnects to the Gateway after a loss. */
export const ibReconnects = new Counter({
  name: "ibprovider_ib_reconnects_total",
  help: "Reconnects to the IB Gateway after a lost connection",
  registers: [metricsRegistry],
});
