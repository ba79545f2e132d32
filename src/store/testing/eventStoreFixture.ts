import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { RecordedEvent, RecordedKind } from "../../stream/feedJournal.js";
import { MarketStore } from "../marketStore.js";

/** The event store tests' shared kit: recorded rows, and store files in a temporary folder per test. */

export const T0 = Date.UTC(2026, 11, 3, 14, 0);

/** A recorded row; its bytes name it ("data 4.0", "status 4.1"). */
export function row(seq: number, sub: number, timeMs: number, kind: RecordedKind = sub === 0 ? "data" : "status"): RecordedEvent {
  return { seq, sub, timeMs, kind, bytes: Buffer.from(`${kind} ${seq}.${sub}`) };
}

/** Data rows seq from..to, one a second from `startMs`. */
export function dataRows(from: number, to: number, startMs = T0): RecordedEvent[] {
  return Array.from({ length: to - from + 1 }, (_, i) => row(from + i, 0, startMs + (from + i) * 1_000));
}

export const positions = (rows: readonly { seq: number; sub: number }[]): string[] => rows.map((r) => `${r.seq}.${r.sub}`);

/**
 * Registers a fresh folder per test (removed after it, with every store opened through `open` closed first):
 * `path` is the test's store file, `open` a connection to it made by `opener`.
 */
export function storeFolder<S extends { close(): void }, O extends unknown[]>(prefix: string, opener: (path: string, ...options: O) => S): { readonly path: string; open(...options: O): S } {
  let dir = "";
  let stores: S[] = [];
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
    open(...options) {
      const store = opener(join(dir, "store.sqlite"), ...options);
      stores.push(store);
      return store;
    },
  };
}

/** The market store's files (storeFolder). */
export function storeFiles(prefix: string): { readonly path: string; open(): MarketStore } {
  return storeFolder(prefix, (path) => MarketStore.open(path));
}
