import { describe, expect, it } from "vitest";
import { configErrorOf } from "../testing/configFiles.js";
import { loadConfig } from "./loadConfig.js";

const base = { PROVIDER_CONFIG_FILE: "bench/config.provider.json" };

describe("HISTORY_CLIENT_RESERVE", () => {
  it("sets the units of IB's historical budget no client may take while another waits, and leaves IB's windows alone", () => {
    expect(loadConfig({ env: { ...base, HISTORY_CLIENT_RESERVE: "20" } }).historicalPacing).toEqual({ clientReserve: 20 });
    // Unset: the scheduler's own default (DEFAULT_HISTORICAL_PACING), written once.
    expect(loadConfig({ env: base }).historicalPacing).toBeUndefined();
  });

  it("refuses a value outside 0-50, naming the variable", () => {
    const err = configErrorOf(() => loadConfig({ env: { ...base, HISTORY_CLIENT_RESERVE: "60" } }));
    expect(err.problems).toContainEqual(expect.objectContaining({ source: "environment variable HISTORY_CLIENT_RESERVE", message: expect.stringMatching(/0-50/) }));
  });
});
