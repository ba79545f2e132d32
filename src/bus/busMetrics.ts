import { Counter, Gauge } from "prom-client";
import { metricsRegistry } from "../metrics/metrics.js";

/**
 * The provider role's publishing, at GET /api/metrics beside the service's own metrics (registered only
 * when this module is loaded: with BUS_URL set). Label `kind` is the feed kind (tick, trade, orderBook,
 * candle, account), as in the stream metrics.
 */

export const busPublished = new Counter({
  name: "ibprovider_bus_published_total",
  help: "Feed events stored by JetStream (acknowledged), per kind",
  labelNames: ["kind"] as const,
  registers: [metricsRegistry],
});

/** Acknowledged as duplicates: a retry of an event JetStream had stored (its Nats-Msg-Id), not stored again. */
export const busDuplicates = new Counter({
  name: "ibprovider_bus_duplicates_total",
  help: "Publishes JetStream acknowledged as duplicates of a stored event (retries), per kind",
  labelNames: ["kind"] as const,
  registers: [metricsRegistry],
});

/** Events never published: `queue-full` (the bus was slow or down), `unroutable` (the feed ended before it could be named). */
export const busShed = new Counter({
  name: "ibprovider_bus_shed_total",
  help: "Feed events not published, per kind and reason (queue-full, unroutable, too-large)",
  labelNames: ["kind", "reason"] as const,
  registers: [metricsRegistry],
});

/** Publishes that failed (no acknowledgement in time, the bus away): each is retried while the queue holds it. */
export const busPublishFailures = new Counter({
  name: "ibprovider_bus_publish_failures_total",
  help: "Publishes that failed and were queued again (timeouts, the bus away)",
  registers: [metricsRegistry],
});

export const busQueued = new Gauge({
  name: "ibprovider_bus_queued_events",
  help: "Feed events waiting to be published",
  registers: [metricsRegistry],
});

export const busInFlight = new Gauge({
  name: "ibprovider_bus_in_flight",
  help: "Publishes awaiting JetStream's acknowledgement",
  registers: [metricsRegistry],
});

export const busConnected = new Gauge({
  name: "ibprovider_bus_connected",
  help: "1 while the connection to the bus is up",
  registers: [metricsRegistry],
});
