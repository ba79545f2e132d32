import { EventName } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { Fixture, connectClient, roundTrip } from "./testing/harness.js";
import { RawClient } from "./testing/rawClient.js";

const fx = new Fixture();
const raws: RawClient[] = [];
afterEach(async () => {
  for (const r of raws.splice(0)) r.close();
  expect(fx.decodeErrors()).toEqual([]);
  await fx.stop();
});
const raw = async () => {
  const r = await RawClient.connect(fx.sim.port);
  raws.push(r);
  return r;
};

describe("handshake", () => {
  it("answers min(client max, 176) in exactly two fields, then its identity, managed accounts, next id and farm status", async () => {
    await fx.start();
    const r = await raw();
    r.greet("v100..193");
    const v = await r.waitFor(() => true);
    expect(v.length).toBe(2);
    expect(v[0]).toBe("176");
    r.send([71, 2, 7, ""]);
    await r.waitFor((f) => f[0] === "4" && f[3] === "2158");
    const ids = r.frames.slice(1).map((f) => `${f[0]}:${f[3] ?? ""}`);
    expect(ids).toEqual(["4:2104", "15:", "9:", "4:2104", "4:2106", "4:2158"]);
    // A farm no real Gateway has: how an adapter tells the simulator from IB (issue 12, finding 8).
    expect(r.frames[1]).toEqual(["4", "2", "-1", "2104", "Market data farm connection is OK:ib-provider-simulator", ""]);
    expect(r.frames[2]).toEqual(["15", "1", "DU1234567"]);
    expect(r.frames[3]).toEqual(["9", "1", "1"]);
    // sv ≥ 166: ERR_MSG carries advancedOrderRejectJson.
    expect(r.frames[4]).toEqual(["4", "2", "-1", "2104", "Market data farm connection is OK:usfarm", ""]);
  });

  it("negotiates ib_insync's v157..176 and accepts a +PACEAPI suffix, byte by byte", async () => {
    await fx.start();
    const r = await raw();
    for (const b of RawClient.greetingBytes("v100..187 +PACEAPI")) r.socket.write(Buffer.from([b]));
    const v = await r.waitFor(() => true);
    expect(v[0]).toBe("176");
    const r2 = await raw();
    r2.greet("v157..176");
    expect((await r2.waitFor(() => true))[0]).toBe("176");
  });

  it("handles a greeting coalesced with START_API and requests split byte by byte", async () => {
    await fx.start();
    const r = await raw();
    const { encodeFrame } = await import("./wire/framing.js");
    r.socket.write(Buffer.concat([RawClient.greetingBytes("v100..176"), encodeFrame([71, 2, 11, ""]), encodeFrame([49, 1])]));
    await r.waitFor((f) => f[0] === "49");
    const req = Buffer.concat([encodeFrame([49, 1]), encodeFrame([17, 1])]);
    for (const b of req) r.socket.write(Buffer.from([b]));
    await r.waitFor((f) => f[0] === "15" && r.frames.filter((x) => x[0] === "15").length === 2);
    expect(r.frames.filter((f) => f[0] === "49").length).toBe(2);
  });

  it("closes the socket when no common version exists", async () => {
    await fx.start();
    const r = await raw();
    r.greet("v177..200");
    await r.waitClosed();
    expect(r.frames).toEqual([]);
  });

  it("gates layouts on the negotiated version (v100..150: no advancedOrderReject, versioned CONTRACT_DATA)", async () => {
    await fx.start();
    const r = await raw();
    r.greet("v100..150");
    expect((await r.waitFor(() => true))[0]).toBe("150");
    r.send([71, 2, 3, ""]);
    const farm = await r.waitFor((f) => f[0] === "4" && f[3] === "2104" && f[4]!.endsWith(":usfarm"));
    expect(farm).toEqual(["4", "2", "-1", "2104", "Market data farm connection is OK:usfarm"]);
    // REQ_CONTRACT_DATA at sv 150: no issuerId.
    r.send([9, 8, 42, "", "BTC", "CRYPTO", "", "", "", "", "PAXOS", "", "USD", "", "", 0, "", ""]);
    const cd = await r.waitFor((f) => f[0] === "10");
    expect(cd[1]).toBe("8"); // version field below sv 164
    expect(cd[2]).toBe("42");
    await r.waitFor((f) => f[0] === "52");
  });

  it("gates historical layouts: sv 120 has version fields and hasGaps, two-space UTC dates", async () => {
    await fx.start({ now: () => Date.UTC(2026, 10, 18, 15) });
    const r = await raw();
    r.greet("v100..120");
    expect((await r.waitFor(() => true))[0]).toBe("120");
    r.send([71, 2, 4, ""]);
    await r.waitFor((f) => f[0] === "9");
    // REQ_HISTORICAL_DATA below sv 124: version 6, no keepUpToDate.
    // (EUR.USD: crypto needs fractional sizes, sv ≥ 163.)
    r.send([20, 6, 77, "", "EUR", "CASH", "", "", "", "", "IDEALPRO", "", "USD", "", "", 0, "", "1 hour", "3 D", 0, "MIDPOINT", 1, ""]);
    const h = await r.waitFor((f) => f[0] === "17");
    expect(h.slice(0, 3)).toEqual(["17", "3", "77"]);
    const n = Number(h[5]);
    expect(n).toBeGreaterThanOrEqual(71);
    expect(h.length).toBe(6 + n * 9);
    expect(h[6]).toMatch(/^\d{8} {2}\d{2}:\d{2}:\d{2}$/);
    expect(h[6 + 7]).toBe("false");
  });

  it("serves several clients at once and refuses a clientId in use with 326 and a close", async () => {
    await fx.start();
    const a = await fx.client(1);
    const b = await fx.client(2);
    expect(fx.sim.clientCount()).toBe(2);
    const r = await raw();
    r.greet();
    await r.waitFor(() => true);
    r.send([71, 2, 1, ""]);
    const err = await r.waitFor((f) => f[0] === "4");
    expect(err).toEqual(["4", "2", "-1", "326", "Unable to connect as the client id is already in use. Retry with a unique client id.", ""]);
    await r.waitClosed();
    // An unmodified client sees it as info 326 and a disconnect.
    const c = await import("@stoqey/ib");
    const ib = new c.IBApi({ host: "127.0.0.1", port: fx.sim.port, clientId: 2 });
    const infos: number[] = [];
    let disconnected = false;
    ib.on(EventName.info, (_m: string, code: number) => infos.push(code));
    ib.on(EventName.disconnected, () => (disconnected = true));
    ib.connect(2);
    await until(() => disconnected, { what: "disconnect after 326" });
    expect(infos).toContain(326);
    ib.disconnect();
    // The original holders are untouched.
    await roundTrip(a);
    expect(b.ib.isConnected).toBe(true);
  });

  it("frees a clientId when its connection closes", async () => {
    await fx.start();
    const a = await connectClient(fx.sim.port, 5);
    a.close();
    await until(() => fx.sim.clientCount() === 0, { what: "the connection to close" });
    const again = await fx.client(5);
    expect(again.ib.isConnected).toBe(true);
  });
});
