/**
 * Child process of the benchmark: a simulated Gateway on an ephemeral loopback port, in its own process (a
 * real Gateway is a separate process too): in flood mode (BENCH_FLOOD_RATE bounds its rate, frames/s), or at
 * the simulator's default cadence with BENCH_SIM_CADENCE=default (the console scenario: IB's normal rates).
 * IPC: sends { type: "ready", port }; answers { type: "stats" } with { type: "stats", floodTicks, pumpTurns,
 * clients }; on { type: "stop" } closes the simulator and exits.
 */
import { startSimulator } from "../src/simulator/index.js";

// BENCH_FLOOD_RATE: frames per second (unset = as fast as the socket accepts). Sizes carry the send time
// in wall-clock microseconds, for latency measured from the Gateway's send.
const rate = process.env.BENCH_FLOOD_RATE === undefined ? undefined : Number(process.env.BENCH_FLOOD_RATE);
// The default cadence: L1 and depth pumped every 250 ms, tick-by-tick every 25 ms, the model's trades.
const sim = await startSimulator(
  process.env.BENCH_SIM_CADENCE === "default"
    ? { host: "127.0.0.1", port: 0 }
    : { host: "127.0.0.1", port: 0, flood: true, seed: 1, floodStampSizes: true, ...(rate === undefined ? {} : { floodRatePerSec: rate, floodBatch: 8 }) },
);
const send = (m: unknown) => process.send?.(m);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void sim.close().finally(() => process.exit(0));
};
process.on("message", (m: { type: string }) => {
  if (m.type === "stats") send({ type: "stats", floodTicks: sim.stats.floodTicks, pumpTurns: sim.stats.pumpTurns, clients: sim.clientCount() });
  else if (m.type === "stop") stop();
});
// The parent went away (crash, Ctrl-C): do not linger.
process.on("disconnect", stop);
send({ type: "ready", port: sim.port });
