import type { SimulatorHandle } from "../simulator/index.js";
import { until } from "./until.js";

/**
 * Waits until the simulator's stream pump has turned `turns` more times for each connected client: every
 * stream has had that many chances to send (stalled and cut-off ones included). This is how a test
 * gives a stream the time to say something it must not say, measured in the Gateway's own cadence
 * instead of a sleep.
 */
export async function pumpTurns(sim: SimulatorHandle, turns: number, timeoutMs = 5_000): Promise<void> {
  const target = sim.stats.pumpTurns + turns * Math.max(1, sim.clientCount());
  await until(() => sim.stats.pumpTurns >= target, { what: `${turns} turns of the simulator's stream pump`, timeoutMs });
}
