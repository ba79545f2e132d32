import { storeFolder } from "./eventStoreFixture.js";
import { OrderStore } from "../orderStore.js";

/**
 * The order store tests' files: a fresh folder per test (removed after it, every store opened through `open`
 * closed first); `path` is the test's store file, `open()` another connection to it (a restart, another instance).
 */
export function orderStoreFiles(prefix = "ibp-orders-"): { readonly path: string; open(options?: { busyTimeoutMs?: number }): OrderStore } {
  return storeFolder(prefix, (path, options?: { busyTimeoutMs?: number }) => OrderStore.open(path, options));
}
