/**
 * The multi-asset messages at older server versions: an unmodified @stoqey/ib client decodes each frame
 * strictly by the negotiated version (option computations carry a version field below 156, symbol samples
 * gain description/issuerId at 176, contract data and bond contract data change layout at 110/121/126/164).
 */
import { EventName, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { BOND_CUSIP } from "./market/otherInstruments.js";
import { roundTrip, SESSION_TIME_MS, useFixture } from "./testing/harness.js";

const fx = useFixture();

describe("multi-asset messages at each server version", () => {
  it.each([100, 110, 151, 162, 176])("server version %i: option/bond contract details, option computations, secdef rows, symbol samples", async (sv) => {
    await fx.start({ now: () => SESSION_TIME_MS, maxServerVersion: sv });
    const c = await fx.client();
    const seen = new Map<string, number>();
    for (const e of [EventName.contractDetailsEnd, EventName.bondContractDetails, EventName.tickOptionComputation, EventName.securityDefinitionOptionParameterEnd, EventName.symbolSamples]) {
      (c.ib as unknown as { on(e: string, l: () => void): void }).on(e, () => seen.set(e, (seen.get(e) ?? 0) + 1));
    }
    const option = { symbol: "AAPL", secType: "OPT", exchange: "SMART", currency: "USD", lastTradeDateOrContractMonth: "20261218", strike: 230, right: "C" } as Contract;
    c.ib.reqContractDetails(1, option);
    c.ib.reqContractDetails(2, { symbol: BOND_CUSIP, secType: "BOND", exchange: "SMART", currency: "USD" } as Contract);
    c.ib.reqMktData(3, option, "", false, false);
    // The client itself refuses what the version does not have: secdef below 104, matching symbols below 108.
    if (sv >= 104) c.ib.reqSecDefOptParams(4, "SPY", "", "STK", 756733);
    if (sv >= 108) c.ib.reqMatchingSymbols(5, "AAP");
    await until(
      () =>
        (seen.get(EventName.contractDetailsEnd) ?? 0) >= 2 &&
        (seen.get(EventName.tickOptionComputation) ?? 0) >= 3 &&
        (sv < 104 || seen.has(EventName.securityDefinitionOptionParameterEnd)) &&
        (sv < 108 || seen.has(EventName.symbolSamples)),
      { what: `every answer at server version ${sv}` },
    );
    expect(seen.get(EventName.bondContractDetails)).toBe(1);
    await roundTrip(c);
  });
});
