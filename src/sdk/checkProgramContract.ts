import { expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { checkResult, jsonLines } from "./runProgram.js";

/**
 * What every generated client's check program (src/sdk/<language>/) must show against the service: the
 * same four checks in every language, only the language's own spellings differ.
 */
export interface CheckProgramSpelling {
  /** How the language names the Tick message type (Python "Tick", Go "*ibproviderv1.Tick"). */
  tickType: string;
  /** Its names of the UNAUTHENTICATED and CANCELLED status codes. */
  unauthenticated: string;
  cancelled: string;
}

export function checkProgramContract(
  check: (args: string[], extraEnv?: Record<string, string>) => Promise<{ stdout: string }>,
  app: () => RunningApp,
  spelling: CheckProgramSpelling,
): void {
  it("answers unary calls with typed fields: the runtime proof and BTCUSDT resolved on PAXOS", async () => {
    const result = checkResult((await check(["unary"])).stdout, "unary");
    expect(result).toEqual({
      check: "unary",
      gateway_mode: "GATEWAY_MODE_SIMULATOR",
      server_version: 176,
      symbol: "BTCUSDT",
      sec_type: "CRYPTO",
      exchange: "PAXOS",
      con_id: 479624278,
      tick_size: "0.25",
    });
  });

  it("reads typed ticks from a server stream and stops after a bounded number", async () => {
    const { stdout } = await check(["stream", "BTCUSDT", "3"]);
    const ticks = jsonLines(stdout).filter((line) => line.check === "tick");
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const tick of ticks) {
      expect(tick).toMatchObject({ type: spelling.tickType, symbol: "BTCUSDT", market_data_type: "MARKET_DATA_TYPE_LIVE" });
      expect(tick.time_s).toBeGreaterThan(0);
    }
    expect(ticks.some((tick) => /^\d+(\.\d+)?$/.test(String(tick.bid)))).toBe(true);
    expect(checkResult(stdout, "stream").ticks).toBe(ticks.length);
  });

  it(`gets ${spelling.unauthenticated} with ErrorInfo reason INVALID_TOKEN for a wrong token`, async () => {
    const result = checkResult((await check(["auth"], { PROVIDER_API_TOKEN: "wrong-token" })).stdout, "auth");
    expect(result).toEqual({ check: "auth", code: spelling.unauthenticated, details: "invalid provider API token", reason: "INVALID_TOKEN" });
  });

  it(`cancels a stream cleanly: the client sees ${spelling.cancelled} and the service releases the IB subscription`, async () => {
    // AAPL: no configured subscription keeps its tick feed alive, so the consumer count must go to zero.
    const result = checkResult((await check(["cancel", "AAPL"])).stdout, "cancel");
    expect(result).toMatchObject({ consumers_before: 1, code_after_cancel: spelling.cancelled, consumers_after: 0 });
    expect(app().adapter.subscriptions().filter((s) => s.kind === "tick" && s.symbol === "AAPL")).toEqual([]);
  });
}
