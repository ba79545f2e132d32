import { describe, expect, it } from "vitest";
import { metricsRegistry } from "./metrics.js";
import { watchStoreMetrics } from "./storeMetrics.js";

describe("store metrics", () => {
  it("a scrape reads a store's figures once: each read counts every table's rows on the event loop (a full scan of the candles)", async () => {
    let reads = 0;
    const unwatch = watchStoreMetrics({
      store: {
        stats: () => {
          reads++;
          return { sizeBytes: 10, rows: { candles: 3, coverage: 1 }, pendingWrites: 2, failedWrites: 1 };
        },
      },
      cache: () => undefined,
    });
    try {
      const first = await metricsRegistry.metrics();
      expect(reads).toBe(1);
      expect(first).toContain('ibprovider_store_rows{table="candles"} 3');
      expect(first).toContain("ibprovider_store_pending_writes 2");
      // The next scrape reads them again (nothing is kept between scrapes).
      await metricsRegistry.metrics();
      expect(reads).toBe(2);
    } finally {
      unwatch();
    }
  });
});
