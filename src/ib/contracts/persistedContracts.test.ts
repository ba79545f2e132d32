import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it, vi } from "vitest";
import { MarketStore } from "../../store/marketStore.js";
import { DEFAULT_STORE_SETTINGS } from "../../store/storeSettings.js";
import { useAdapterOnSimulator } from "../../testing/adapterOnSimulator.js";
import { until } from "../../testing/until.js";
import type { ProviderConfig } from "../../config/providerConfig.js";
import type { RequestRouter } from "../connection/requestRouter.js";
import { ContractResolver } from "./contractResolver.js";

// Issue 13, item 12: symbols resolve by default from a contract cache kept in the store.
const dir = mkdtempSync(join(tmpdir(), "ibp-contracts-"));
const path = join(dir, "store.sqlite");
const first = MarketStore.open(path);
const provider = { apiToken: undefined, ignoredConnectors: [], ib: { markets: [{ marketType: "spot", symbols: [{ name: "AAPL" }, { name: "BTCUSDT" }] }] } } as unknown as ProviderConfig;
const fx = useAdapterOnSimulator({ adapter: { clientId: 11, provider, store: { candles: first.candles, settings: { ...DEFAULT_STORE_SETTINGS, path }, contracts: first.contracts } } });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("configured symbols resolve in the background at connect, are kept in the store, and a restarted adapter uses them without asking IB", async () => {
  await until(() => fx.adapter.knownInstrument("spot", "AAPL") !== undefined && fx.adapter.knownInstrument("spot", "btcusdt") !== undefined, { timeoutMs: 5_000, what: "configured symbols resolved" });
  const aapl = fx.adapter.knownInstrument("spot", "AAPL")!;
  expect(aapl).toMatchObject({ secType: "STK", currency: "USD" });
  expect(aapl.conId).toBeGreaterThan(0);
  await first.flushed();
  first.close();

  const second = MarketStore.open(path);
  const restarted = fx.another({ clientId: 12, provider, store: { candles: second.candles, settings: { ...DEFAULT_STORE_SETTINGS, path }, contracts: second.contracts } });
  // Known before the connection is even up: symbol lists show them at once.
  expect(restarted.knownInstrument("spot", "AAPL")).toMatchObject({ conId: aapl.conId, minTick: aapl.minTick, tradingHours: aapl.tradingHours });
  const sent = vi.spyOn(restarted.connection.api, "reqContractDetails");
  await restarted.start();
  const again = await restarted.resolve("spot", "AAPL");
  expect(again.conId).toBe(aapl.conId);
  expect(again.minTick?.toString()).toBe(aapl.minTick?.toString());
  expect(again.requestContract).toEqual(aapl.requestContract);
  expect(sent).not.toHaveBeenCalled();
  // A symbol the store does not hold is asked of IB as before.
  await restarted.resolve("spot", "MSFT");
  expect(sent).toHaveBeenCalledTimes(1);
  restarted.stop();
  second.close();
});

it("a store that cannot be read resolves from IB as if it held nothing: resolve() never throws at its caller (the connect handler resolving configured symbols calls it without awaiting)", async () => {
  const unreadable = {
    get: () => {
      throw new Error("SQLITE_IOERR: disk I/O error");
    },
    put: () => undefined,
  };
  const resolver = new ContractResolver({ router: {} as RequestRouter, send: () => undefined, override: () => undefined, isConnected: () => false, persisted: unreadable });
  let pending: Promise<unknown> | undefined;
  expect(() => (pending = resolver.resolve("spot", "AAPL"))).not.toThrow();
  // Asked of IB instead, which is away here: the caller hears that, not the store's error.
  await expect(pending).rejects.toThrow(/Gateway|connect/i);
});
