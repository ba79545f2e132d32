import { EventName, IBApi, type Contract } from "@stoqey/ib";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { afterPumpTurns, BTC, connectClient, roundTrip, runningClock, type TestClient, useFixture } from "./testing/harness.js";

const fx = useFixture();

function tickCounter(c: TestClient, reqId: number) {
  const counter = { n: 0 };
  const bump = (id: number) => {
    if (id === reqId) counter.n++;
  };
  c.ib.on(EventName.tickPrice, bump);
  c.ib.on(EventName.tickSize, bump);
  return counter;
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });

describe("fault injection", () => {
  it("drops every connection", async () => {
    await fx.start({ now: runningClock() });
    const a = await fx.client(1);
    const b = await fx.client(2);
    let down = 0;
    a.ib.on(EventName.disconnected, () => down++);
    b.ib.on(EventName.disconnected, () => down++);
    fx.sim.faults.dropAll();
    await until(() => down === 2, { what: "both clients disconnected" });
    const again = await fx.client(1);
    expect(again.ib.isConnected).toBe(true);
  });

  it("restarts the Gateway: refuses connections while down, then listens on the same port", async () => {
    await fx.start({ now: runningClock() });
    const port = fx.sim.port;
    const a = await fx.client(1);
    let down = false;
    a.ib.on(EventName.disconnected, () => (down = true));
    const restarted = fx.sim.faults.restart(300);
    await until(() => down, { what: "the client disconnected" });
    expect(await refused(port)).toBe(true);
    await restarted;
    expect(fx.sim.port).toBe(port);
    const b = await fx.client(1);
    expect(b.ib.isConnected).toBe(true);
  });

  it("1100 stops streams; 1101 drops subscriptions (data lost), 1102 resumes them", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const c = await fx.client();
    const ticks = tickCounter(c, 1);
    c.ib.reqMktData(1, { ...BTC } as Contract, "", false, false);
    await until(() => ticks.n > 5, { what: "BTC ticks" });
    fx.sim.faults.connectivityLost();
    await c.infoCode(1100);
    // Ticks sent before the 1100 arrived before it (one socket, in order).
    let n = ticks.n;
    await afterPumpTurns(fx.sim, c);
    expect(ticks.n).toBe(n);
    fx.sim.faults.connectivityRestored(false);
    await c.infoCode(1102);
    await until(() => ticks.n > n, { what: "ticks after 1102" });
    await fx.sim.faults.connectivityFlap(50, true);
    await c.infoCode(1101);
    n = ticks.n;
    await afterPumpTurns(fx.sim, c);
    expect(ticks.n).toBe(n);
    // Re-requesting the same id works again after data loss.
    c.ib.reqMktData(1, { ...BTC } as Contract, "", false, false);
    await until(() => ticks.n > n, { what: "ticks after resubscribe" });
    expect(c.errors.filter((e) => e.reqId === 1)).toEqual([]);
    expect(c.infos.map((i) => i.message)).toContain("Connectivity between IB and TWS has been restored - data lost.");
  });

  it("stalls one stream while the socket and other streams stay alive", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const c = await fx.client(3);
    const one = tickCounter(c, 1);
    const two = tickCounter(c, 2);
    c.ib.reqMktData(1, { ...BTC } as Contract, "", false, false);
    c.ib.reqMktData(2, { symbol: "ETH", secType: "CRYPTO", exchange: "PAXOS", currency: "USD" } as Contract, "", false, false);
    await until(() => one.n > 3 && two.n > 3, { what: "ticks on both streams" });
    expect(fx.sim.faults.stall(1000, { clientId: 3, reqId: 1 })).toBe(true);
    await roundTrip(c); // what was sent before the stall has arrived
    const n1 = one.n;
    const n2 = two.n;
    await until(() => two.n > n2 + 3, { what: "the other stream to keep streaming" });
    await afterPumpTurns(fx.sim, c);
    expect(one.n).toBe(n1);
    await until(() => one.n > n1, { what: "stream resumes after the stall" });
    // Whole-gateway stall.
    fx.sim.faults.stall(1000);
    // The socket still answers requests; and once it did, what was sent before the stall has arrived.
    await roundTrip(c);
    const m = one.n + two.n;
    await afterPumpTurns(fx.sim, c);
    expect(one.n + two.n).toBe(m);
  });

  it("sends 317 for depth subscriptions, then rebuilds the book from inserts", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const c = await fx.client();
    const ops: number[] = [];
    c.ib.on(EventName.updateMktDepth, (id: number, _pos: number, op: number) => id === 5 && ops.push(op));
    c.ib.reqMktDepth(5, { ...BTC } as Contract, 5, false, []);
    let start = -1;
    c.ib.on(EventName.error, (_e: Error, code: number, id: number) => {
      if (id === 5 && code === 317) start = ops.length;
    });
    await until(() => ops.length >= 10, { what: "10 depth operations" });
    fx.sim.faults.depthReset();
    const e = await c.errorFor(5);
    expect(e.code).toBe(317);
    expect(e.message).toBe("Market depth data has been RESET. Please empty deep book contents before applying any new entries.");
    expect(start).toBeGreaterThanOrEqual(10);
    await until(() => ops.length >= start + 10, { what: "10 depth operations after the reset" });
    expect(ops.slice(start, start + 10)).toEqual(Array(10).fill(0));
  });

  it("reports a competing live session with 10197 and pauses L1", async () => {
    await fx.start({ now: runningClock(), tickIntervalMs: 20 });
    const c = await fx.client();
    const ticks = tickCounter(c, 6);
    c.ib.reqMktData(6, { ...BTC } as Contract, "", false, false);
    await until(() => ticks.n > 3, { what: "BTC ticks" });
    fx.sim.faults.competingSession(1000);
    const e = await c.errorFor(6);
    expect(e).toMatchObject({ code: 10197, message: "No market data during competing live session" });
    // The stream is paused as the 10197 is sent: what came before it is all there is.
    const n = ticks.n;
    await afterPumpTurns(fx.sim, c);
    expect(ticks.n).toBe(n);
    await until(() => ticks.n > n, { what: "ticks after the competing session" });
  });

  it("an unmodified client reconnects after a restart", async () => {
    await fx.start({ now: runningClock() });
    const ib = new IBApi({ host: "127.0.0.1", port: fx.sim.port });
    try {
      ib.connect(8);
      await new Promise<void>((resolve) => ib.once(EventName.nextValidId, () => resolve()));
      await fx.sim.faults.restart(100);
      const c = await connectClient(fx.sim.port, 8);
      fx.clients.push(c);
      expect(c.ib.isConnected).toBe(true);
    } finally {
      ib.disconnect();
    }
  });
});
