import { afterAll, beforeAll } from "vitest";
import type { ProviderConfig } from "../config/providerConfig.js";
import { IbAdapter, type IbAdapterOptions } from "../ib/ibAdapter.js";
import { createLogger } from "../log/logger.js";
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from "../simulator/index.js";

/** A provider config with no IB section: every symbol goes through the built-in mapping. */
export const NO_PROVIDER_CONFIG: ProviderConfig = { apiToken: undefined, ib: undefined, ignoredConnectors: [] };

export interface AdapterOnSimulatorOptions {
  /** The simulated Gateway's options; it always listens on an ephemeral loopback port. */
  simulator?: SimulatorOptions;
  /** The adapter's options over the defaults (client id 1, no provider config, silent log). */
  adapter?: Partial<IbAdapterOptions>;
}

export interface AdapterOnSimulator {
  sim: SimulatorHandle;
  /** Connected (start() resolved). */
  adapter: IbAdapter;
  /** Another adapter on the same Gateway, not started; stopped by stop(). */
  another(options: Partial<IbAdapterOptions> & { clientId: number }): IbAdapter;
  /** Stops every adapter, then the simulator. */
  stop(): Promise<void>;
}

/** The real adapter (over @stoqey/ib) connected to the simulated Gateway on loopback. */
export async function startAdapterOnSimulator(options: AdapterOnSimulatorOptions = {}): Promise<AdapterOnSimulator> {
  const sim = await startSimulator({ ...options.simulator, host: "127.0.0.1", port: 0 });
  const adapters: IbAdapter[] = [];
  const adapterOn = (over: Partial<IbAdapterOptions>) => {
    const adapter = new IbAdapter({
      mode: "simulator",
      host: sim.host,
      port: sim.port,
      clientId: 1,
      accountId: undefined,
      log: createLogger("silent"),
      provider: NO_PROVIDER_CONFIG,
      ...over,
    });
    adapters.push(adapter);
    return adapter;
  };
  const stop = async () => {
    for (const a of adapters) a.stop();
    await sim.close();
  };
  const adapter = adapterOn(options.adapter ?? {});
  try {
    await adapter.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { sim, adapter, another: adapterOn, stop };
}

/**
 * startAdapterOnSimulator in the file's beforeAll, stopped in its afterAll. Read `sim` and `adapter` from
 * the returned object inside tests (they exist once beforeAll ran).
 */
export function useAdapterOnSimulator(options: AdapterOnSimulatorOptions = {}): AdapterOnSimulator {
  let started: AdapterOnSimulator | undefined;
  const get = (): AdapterOnSimulator => {
    if (started === undefined) throw new Error("the adapter on the simulator is started in beforeAll: use it inside tests and hooks");
    return started;
  };
  beforeAll(async () => {
    started = await startAdapterOnSimulator(options);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return {
    get sim() {
      return get().sim;
    },
    get adapter() {
      return get().adapter;
    },
    another: (o) => get().another(o),
    stop: () => get().stop(),
  };
}
