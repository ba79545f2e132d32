import { EventName, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { afterPumpTurns, roundTrip, runningClock, useFixture } from "./testing/harness.js";

const fx = useFixture();

describe("simulated account", () => {
  it("answers account summary with the requested tags, $LEDGER included, then End; several accounts", async () => {
    await fx.start({ now: runningClock(), accounts: [{ id: "DU1234567", cash: "100000", positions: [{ symbol: "AAPL", secType: "STK", quantity: "100" }] }, "DU7654321"] });
    const c = await fx.client();
    const rows: [number, string, string, string, string][] = [];
    const ends: number[] = [];
    c.ib.on(EventName.accountSummary, (id: number, acct: string, tag: string, value: string, cur: string) => rows.push([id, acct, tag, value, cur]));
    c.ib.on(EventName.accountSummaryEnd, (id: number) => ends.push(id));
    c.ib.reqAccountSummary(1, "All", "NetLiquidation,TotalCashValue,BuyingPower,AccountType,$LEDGER:ALL");
    await until(() => ends.includes(1), { what: "accountSummaryEnd" });
    const tags = new Set(rows.map((r) => r[2]));
    for (const t of ["NetLiquidation", "TotalCashValue", "BuyingPower", "AccountType", "CashBalance", "NetLiquidationByCurrency", "UnrealizedPnL"]) {
      expect(tags).toContain(t);
    }
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(["DU1234567", "DU7654321"]));
    const nlv = rows.find((r) => r[1] === "DU1234567" && r[2] === "NetLiquidation")!;
    expect(Number(nlv[3])).toBeGreaterThan(100000);
    expect(nlv[4]).toBe("USD");
    expect(rows.some((r) => r[2] === "CashBalance" && r[4] === "BASE")).toBe(true);
    // At most two account-summary subscriptions: the third gets 322.
    c.ib.reqAccountSummary(2, "All", "NetLiquidation");
    c.ib.reqAccountSummary(3, "All", "NetLiquidation");
    expect((await c.errorFor(3)).code).toBe(322);
    c.ib.cancelAccountSummary(1);
    c.ib.cancelAccountSummary(2);
  });

  it("lists positions with fractional sizes, then positionEnd", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    const pos: [string, Contract, number, number][] = [];
    let ended = false;
    c.ib.on(EventName.position, (acct: string, contract: Contract, p: number, avg?: number) => pos.push([acct, contract, p, avg ?? 0]));
    c.ib.on(EventName.positionEnd, () => (ended = true));
    c.ib.reqPositions();
    await until(() => ended, { what: "positionEnd" });
    const by = (s: string) => pos.find(([, k]) => k.symbol === s)!;
    expect(by("AAPL")[2]).toBe(100);
    expect(by("BTC")[2]).toBe(0.5);
    expect(by("ES")[2]).toBe(1);
    expect(by("ES")[1].multiplier).toBe(50);
    for (const [acct, , , avg] of pos) {
      expect(acct).toBe("DU1234567");
      expect(avg).toBeGreaterThan(0);
    }
    c.ib.cancelPositions();
  });

  it("sends account values, portfolio, account time and download end; portfolio follows the market", async () => {
    await fx.start({ now: runningClock() });
    const c = await fx.client();
    const values = new Map<string, string>();
    const portfolio: [Contract, number, number, number, number, number][] = [];
    let time = "";
    let end = "";
    c.ib.on(EventName.updateAccountValue, (k: string, v: string, cur: string) => values.set(`${k}:${cur}`, v));
    c.ib.on(EventName.updatePortfolio, (ct: Contract, p: number, price: number, value: number, avg?: number, unreal?: number) =>
      portfolio.push([ct, p, price, value, avg ?? 0, unreal ?? 0]),
    );
    c.ib.on(EventName.updateAccountTime, (t: string) => (time = t));
    c.ib.on(EventName.accountDownloadEnd, (a: string) => (end = a));
    c.ib.reqAccountUpdates(true, "DU1234567");
    await until(() => end !== "", { what: "accountDownloadEnd" });
    expect(end).toBe("DU1234567");
    expect(time).toMatch(/^\d{2}:\d{2}$/);
    expect(values.get("NetLiquidation:USD")).toBeDefined();
    expect(values.get("CashBalance:BASE")).toBe("100000.00");
    const aapl = portfolio.find(([ct]) => ct.symbol === "AAPL")!;
    expect(aapl[3]).toBeCloseTo(aapl[1] * aapl[2], 1);
    expect(aapl[5]).toBeCloseTo(aapl[3] - aapl[1] * aapl[4], 1);
    c.ib.reqAccountUpdates(false, "DU1234567");
  });

  it("streams PnL and PnL single", async () => {
    await fx.start({ now: runningClock(), pnlIntervalMs: 50, tickIntervalMs: 20 });
    const c = await fx.client();
    const pnl: [number, number, number | undefined, number | undefined][] = [];
    const single: [number, number, number, number | undefined, number | undefined, number][] = [];
    c.ib.on(EventName.pnl, (id: number, daily: number, unreal?: number, real?: number) => pnl.push([id, daily, unreal, real]));
    c.ib.on(EventName.pnlSingle, (id: number, p: number, daily: number, unreal: number | undefined, real: number | undefined, value: number) =>
      single.push([id, p, daily, unreal, real, value]),
    );
    c.ib.reqPnL(1, "DU1234567", "");
    c.ib.reqPnLSingle(2, "DU1234567", "", 265598);
    await until(() => pnl.length >= 2 && single.length >= 2, { what: "two PnL and two PnL single updates" });
    expect(typeof pnl[0]![2]).toBe("number");
    expect(pnl[0]![3]).toBe(0);
    expect(single[0]![1]).toBe(100);
    expect(single[0]![5]).toBeGreaterThan(0);
    c.ib.cancelPnL(1);
    c.ib.cancelPnLSingle(2);
    await roundTrip(c); // both cancels are handled; updates sent before them have arrived
    const n = pnl.length + single.length;
    // 10 turns of 20 ms: four PnL intervals (50 ms) without an update.
    await afterPumpTurns(fx.sim, c);
    expect(pnl.length + single.length).toBe(n);
  });
});
