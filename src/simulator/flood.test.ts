import { EventName, IBApi, type Contract } from "@stoqey/ib";
import { describe, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { pumpTurns } from "../testing/pumpTurns.js";
import { afterPumpTurns, BTC, roundTrip, runningClock, useFixture } from "./testing/harness.js";

const fx = useFixture();

describe("flood mode", () => {
  // Rates are measured by `npm run bench`, not asserted here: this proves the behaviour (a flood far above
  // the normal cadence, well-formed, bounded by what the client reads, stoppable).
  it("floods L1 ticks far above the normal cadence, well-formed, and stops on cancel", async () => {
    await fx.start({ now: runningClock(), flood: true, tickIntervalMs: 10 });
    const c = await fx.client();
    let ticks = 0;
    let bad = 0;
    c.ib.on(EventName.tickPrice, (id: number, type: number, price: number) => {
      ticks++;
      if (id !== 1 || type < 1 || !(price > 0)) bad++;
    });
    c.ib.reqMktData(1, { ...BTC } as Contract, "", false, false);
    // 10 ms conflation would give ~200 ticks/s at most: thousands within the bound means flooding.
    await until(() => ticks > 5_000, { what: "flood started" });
    expect(bad).toBe(0);
    // The server never runs far ahead of what the client reads.
    expect(fx.sim.stats.floodTicks - ticks).toBeLessThan(2_000_000);
    // The socket stays responsive to requests while flooding, and cancel stops the flood.
    await roundTrip(c);
    c.ib.cancelMktData(1);
    // Answered after the cancel was handled, behind every tick flooded before it.
    await roundTrip(c);
    const n = ticks;
    const written = fx.sim.stats.floodTicks;
    await afterPumpTurns(fx.sim, c);
    expect(ticks).toBe(n);
    expect(fx.sim.stats.floodTicks).toBe(written);
  });

  it("pauses on a client that does not read (write() → false) instead of buffering without bound", async () => {
    await fx.start({ now: runningClock(), flood: true, tickIntervalMs: 10 });
    const ib = new IBApi({ host: "127.0.0.1", port: fx.sim.port });
    try {
      ib.connect(9);
      await new Promise<void>((resolve) => ib.once(EventName.nextValidId, () => resolve()));
      ib.reqMktData(1, { ...BTC } as Contract, "", false, false);
      await until(() => fx.sim.stats.floodTicks > 0, { what: "the flood to start" });
      // Stop reading: the TCP window fills, the server must stop writing.
      (ib as unknown as { controller: { socket: { client: { pause(): void } } } }).controller.socket.client.pause();
      // Once the socket buffers are full, a whole run of pump turns passes without a tick written (a
      // reading client gets thousands per turn).
      let quietRuns = 0;
      await until(
        async () => {
          const before = fx.sim.stats.floodTicks;
          await pumpTurns(fx.sim, 10);
          quietRuns = fx.sim.stats.floodTicks === before ? quietRuns + 1 : 0;
          return quietRuns >= 2;
        },
        { what: "the flood to stop writing to a client that does not read" },
      );
      expect(fx.sim.stats.floodTicks).toBeLessThan(2_000_000);
    } finally {
      ib.disconnect();
    }
  });
});
