import { EventName, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { AAPL, runningClock, useFixture } from "./testing/harness.js";
import { RawClient } from "./testing/rawClient.js";

const fx = useFixture();

describe("what other TWS clients ask at connect (ib_insync/ib_async sync sequence)", () => {
  it("answers open orders, executions, completed orders, user info, positions/account updates multi", async () => {
    await fx.start({ now: runningClock(), accounts: [{ id: "DU1234567", positions: [{ symbol: "AAPL", secType: "STK", quantity: "100" }] }, "DU2"] });
    const c = await fx.client();
    const seen = new Set<string>();
    const multiValues: [number, string, string][] = [];
    const multiPos: [number, string, Contract, number][] = [];
    c.ib.on(EventName.openOrderEnd, () => seen.add("openOrderEnd"));
    c.ib.on(EventName.execDetailsEnd, (id: number) => seen.add(`execDetailsEnd:${id}`));
    c.ib.on(EventName.completedOrdersEnd, () => seen.add("completedOrdersEnd"));
    // stoqey types userInfo as (whiteBrandingId) but emits (reqId, whiteBrandingId).
    (c.ib as unknown as { on(e: string, l: (id: number) => void): void }).on(EventName.userInfo, (id) => void seen.add(`userInfo:${id}`));
    c.ib.on(EventName.positionMulti, (id: number, acct: string, _m: string, ct: Contract, pos: number) => void multiPos.push([id, acct, ct, pos]));
    c.ib.on(EventName.positionMultiEnd, (id: number) => seen.add(`positionMultiEnd:${id}`));
    c.ib.on(EventName.accountUpdateMulti, (id: number, acct: string, _m: string, key: string) => multiValues.push([id, acct, key]));
    c.ib.on(EventName.accountUpdateMultiEnd, (id: number | string) => seen.add(`accountUpdateMultiEnd:${id}`));
    c.ib.reqOpenOrders();
    c.ib.reqAllOpenOrders();
    c.ib.reqExecutions(3, {});
    c.ib.reqCompletedOrders(false);
    c.ib.reqUserInfo(4);
    c.ib.reqPositionsMulti(5, "DU1234567", "");
    c.ib.reqAccountUpdatesMulti(6, "DU2", "", false);
    c.ib.reqAccountUpdatesMulti(7, "DU1234567", "", true);
    await until(() => seen.size >= 7, { what: "every End message" });
    expect(multiPos).toHaveLength(1);
    expect(multiPos[0]![2].symbol).toBe("AAPL");
    expect(multiValues.filter(([id]) => id === 6).every(([, a]) => a === "DU2")).toBe(true);
    expect(multiValues.some(([id, , k]) => id === 7 && k === "NetLiquidation")).toBe(true);
    c.ib.cancelAccountUpdatesMulti(6);
    c.ib.cancelAccountUpdatesMulti(7);
  });

  it("sends RT_VOLUME (233) and SHORTABLE (236) generic ticks", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const c = await fx.client();
    const strings: [number, number, string][] = [];
    const generics: [number, number, number][] = [];
    c.ib.on(EventName.tickString, (id: number, t: number, v: string) => strings.push([id, t, v]));
    c.ib.on(EventName.tickGeneric, (id: number, t: number, v: number) => generics.push([id, t, v]));
    c.ib.reqMktData(1, { ...AAPL } as Contract, "233,236", false, false);
    await until(() => strings.some(([, t]) => t === 48) && generics.length > 0, { what: "generic ticks" });
    const rt = strings.find(([, t]) => t === 48)![2].split(";");
    expect(rt).toHaveLength(6);
    expect(Number(rt[0])).toBeGreaterThan(0);
    expect(generics[0]).toEqual([1, 46, 3]);
    expect(strings.some(([, t, v]) => t === 45 && /^\d{10}$/.test(v))).toBe(true);
  });

  it("answers an unknown message id with an error instead of silence", async () => {
    await fx.start();
    const r = await RawClient.connect(fx.sim.port);
    try {
      r.greet();
      await r.waitFor(() => true);
      r.send([71, 2, 1, ""]);
      await r.waitFor((f) => f[0] === "9");
      r.send([999, 1, 2]);
      const e = await r.waitFor((f) => f[0] === "4" && f[3] === "321");
      expect(e.length).toBe(6);
      expect(e[4]).toContain("Unsupported message id 999");
    } finally {
      r.close();
    }
  });
});
