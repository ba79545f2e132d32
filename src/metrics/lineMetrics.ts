import { Gauge } from "prom-client";
import { metricsRegistry } from "./metrics.js";

/**
 * IB lines charged per client and kind (src/ib/feeds/clientLines.ts): one per distinct IB subscription a
 * client's streams consume, so a subscription shared by two clients counts once for each. Client names
 * come from the clients file (plus `default`, `anonymous` and `service`, the configured `active`
 * subscriptions): bounded. Kept up to date where lines are charged and given back (several adapters in
 * one process add up).
 */
export const ibLinesHeld = new Gauge({
  name: "ibprovider_ib_lines_held",
  help: "IB lines held per client and kind (marketDataLines, depth, tickByTick): one per distinct IB subscription the client's streams consume; client `service` = configured active subscriptions",
  labelNames: ["client", "kind"] as const,
  registers: [metricsRegistry],
});
