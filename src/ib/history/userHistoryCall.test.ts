import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { captureLog } from "../../testing/logCapture.js";
import { HistoricalScheduler } from "./historicalScheduler.js";
import { startUserHistoryCall } from "./userHistoryCall.js";

describe("a user history call's pacing wait in the log", () => {
  it("is said at info once per call, and again only when the estimate moves a lot", async () => {
    const log = captureLog();
    const now = 1_700_000_000_000;
    const call = startUserHistoryCall(new HistoricalScheduler(), pino({ level: "info" }, log.sink), { client: "alpha", what: "min1 history for AAPL", requests: 3, cost: 3, now: () => now });
    const chunk = [0, 1, 2].map((i) => call.onWait(i));
    // Three requests report their waits (and re-estimates a second apart, as the scheduler does): one line.
    chunk[0]!({ reason: "budget", untilMs: now + 120_000 });
    chunk[1]!({ reason: "budget", untilMs: now + 125_000 });
    chunk[2]!({ reason: "budget", untilMs: now + 130_000 });
    chunk[2]!({ reason: "budget", untilMs: now + 150_000 });
    chunk[0]!(undefined); // sent
    // Another client's burst moves the call's last request 4 minutes later: said again.
    chunk[2]!({ reason: "budget", untilMs: now + 390_000 });
    chunk[2]!({ reason: "budget", untilMs: now + 400_000 });
    await new Promise((resolve) => setImmediate(resolve));
    const lines = log.lines.filter((l) => String(l.msg).includes("waits for IB's historical pacing budget"));
    expect(lines.map((l) => l.waitSeconds)).toEqual([120, 390]);
    expect(lines[0]).toMatchObject({ level: 30, client: "alpha", requests: 3, until: new Date(now + 120_000).toISOString() });
    expect(String(lines[0]!.msg)).toContain("min1 history for AAPL");
  });
});
