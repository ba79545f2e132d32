import { describe, expect, it } from "vitest";
import { classifyIbCode } from "./ibErrors.js";

describe("IB code classification", () => {
  it("never treats delayed/partial-data advisories as the end of a stream", () => {
    for (const code of [10090, 10091, 10167]) expect(classifyIbCode(code, "").severity).toBe("advisory");
  });

  it("tells the meanings of 162 apart by its text", () => {
    expect(classifyIbCode(162, "Historical Market Data Service error message:Historical data request pacing violation")).toEqual({ severity: "terminal", kind: "pacing" });
    expect(classifyIbCode(162, "Historical Market Data Service error message:HMDS query returned no data: BTC@PAXOS AggTrades")).toEqual({ severity: "terminal", kind: "no-data" });
    expect(classifyIbCode(162, "Historical Market Data Service error message:API historical data query cancelled: 12")).toEqual({ severity: "terminal", kind: "unavailable" });
  });

  it("maps limits, not-found and permissions to typed kinds", () => {
    expect(classifyIbCode(200, "No security definition has been found for the request")).toEqual({ severity: "terminal", kind: "not-found" });
    expect(classifyIbCode(101, "")).toEqual({ severity: "terminal", kind: "limit" });
    expect(classifyIbCode(309, "")).toEqual({ severity: "terminal", kind: "limit" });
    expect(classifyIbCode(10190, "")).toEqual({ severity: "terminal", kind: "limit" });
    expect(classifyIbCode(354, "")).toEqual({ severity: "terminal", kind: "permission" });
    expect(classifyIbCode(10089, "")).toEqual({ severity: "terminal", kind: "permission" });
    // Depth or tick-by-tick IB does not offer for the contract (a class our syntax check did not catch: an override).
    expect(classifyIbCode(10092, "Deep market data is not supported for this combination of security type/exchange")).toEqual({ severity: "terminal", kind: "invalid" });
    expect(classifyIbCode(10189, "Failed to request tick-by-tick data.")).toEqual({ severity: "terminal", kind: "invalid" });
    expect(classifyIbCode(322, "Error processing request:Only 50 simultaneous API historical data requests allowed.")).toEqual({ severity: "terminal", kind: "limit" });
  });

  it("treats farm status messages as information", () => {
    for (const code of [2104, 2106, 2158, 2103, 2105, 2107, 2108]) expect(classifyIbCode(code, "").severity).toBe("info");
  });
});
