import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { OrderStore } from "../orderStore.js";

/**
 * The order store tests' files: a fresh folder per test (removed after it, every store opened through `open`
 * closed first); `path` is the test's store file, `open()` another connection to it (a restart, another instance).
 */
export function orderStoreFiles(prefix = "ibp-orders-"): { readonly path: string; open(options?: { busyTimeoutMs?: number }): OrderStore } {
  let dir = "";
  let stores: OrderStore[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    stores = [];
  });
  afterEach(() => {
    for (const store of stores) store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      return join(dir, "store.sqlite");
    },
    open(options) {
      const store = OrderStore.open(join(dir, "store.sqlite"), options);
      stores.push(store);
      return store;
    },
  };
}
