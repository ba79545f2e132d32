/**
 * Scenario `bus` (issue 16; only when named in BENCH_SCENARIOS): what the provider role adds. The service
 * with BUS_URL (a real nats-server -js started here) at scenario 3's rate (10k ticks/s) with one gRPC
 * subscriber of BTCUSDT as in scenario 3, and a JetStream consumer of the feed's subject in this process:
 * the latency of the same ticks through the bus (provider → JetStream → consumer, from the flood
 * simulator's stamps) beside the gRPC subscriber's, per BUS_FLUSH_MS (how often the recorders hand events
 * over), and the service's CPU per tick against a round without the bus.
 *
 * Env: BENCH_BUS_FLUSH ("25,5,2": the BUS_FLUSH_MS values, one round each, after one round without a bus).
 */
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { StreamTicksResponse } from "../gen/ibprovider/v1/market_data_service.js";
import { startNatsServer } from "../src/testing/natsServer.js";
import { Histogram, nowUs, progress } from "./harness.js";

const FLUSH_VALUES = (process.env.BENCH_BUS_FLUSH ?? "25,5,2").split(",").map((v) => Number(v.trim()));
const PREFIX = "ibpbench";

/** What a service round reports that this scenario reads. */
interface RoundFigures {
  latencyMs: ReturnType<Histogram["summary"]>;
  serviceCpuUsPerTickIn: number | null;
  ticksPerSec: number;
}

export type ServiceRoundWith = (env: Record<string, string>, onWindow?: (open: boolean) => void) => Promise<RoundFigures>;

export interface BusRound {
  /** BUS_FLUSH_MS; null: the round without a bus. */
  flushMs: number | null;
  grpcLatencyMs: ReturnType<Histogram["summary"]>;
  grpcTicksPerSec: number;
  busLatencyMs: ReturnType<Histogram["summary"]> | null;
  serviceCpuUsPerTickIn: number | null;
}

/** The stamps of a message's ticks (the flood simulator stamps sizes: harness.ts Consumer), µs. */
function stampsOf(bytes: Uint8Array): number[] {
  // A message is a batch of recorded events: its payload is StreamTicksResponse with those events.
  const stamps: number[] = [];
  for (const event of StreamTicksResponse.decode(bytes).events) {
    if (event.event?.$case !== "tick") continue;
    const stamp = Math.max(Number(event.event.value.bidSize) || 0, Number(event.event.value.askSize) || 0);
    const ageUs = nowUs() - stamp;
    if (ageUs >= 0 && ageUs < 60e6) stamps.push(stamp);
  }
  return stamps;
}

/** Reads every tick published on the bus from now on; samples their latency while `measuring()`. */
async function readTicks(url: string, latency: Histogram, measuring: () => boolean, stopped: () => boolean): Promise<() => Promise<void>> {
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const reading = (async () => {
    // The stream exists once the service has started: ask until it does.
    for (let tries = 0; !stopped(); tries++) {
      let consumer;
      try {
        consumer = await js.consumers.get(`${PREFIX.toUpperCase()}_TICK`, { filter_subjects: `${PREFIX}.*.tick.>`, deliver_policy: "new" } as never);
      } catch (err) {
        if (tries > 300) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const messages = await consumer.consume();
      for await (const m of messages) {
        if (stopped()) break;
        if (!measuring()) continue;
        const now = nowUs();
        for (const stamp of stampsOf(m.data)) latency.add((now - stamp) / 1000);
      }
      return;
    }
  })();
  return async () => {
    await nc.close();
    await reading.catch(() => undefined);
  };
}

/** One round without the bus, then one per BUS_FLUSH_MS value. */
export async function busRounds(serviceRound: ServiceRoundWith): Promise<BusRound[]> {
  const nats = await startNatsServer();
  const rounds: BusRound[] = [];
  try {
    progress("bus: a round without the bus");
    const plain = await serviceRound({});
    rounds.push({ flushMs: null, grpcLatencyMs: plain.latencyMs, grpcTicksPerSec: plain.ticksPerSec, busLatencyMs: null, serviceCpuUsPerTickIn: plain.serviceCpuUsPerTickIn });
    for (const flushMs of FLUSH_VALUES) {
      progress(`bus: BUS_FLUSH_MS=${flushMs}`);
      const latency = new Histogram();
      let measuring = false;
      let stopped = false;
      const close = await readTicks(nats.url, latency, () => measuring, () => stopped);
      try {
        const round = await serviceRound({ BENCH_BUS_URL: nats.url, BENCH_BUS_FLUSH_MS: String(flushMs) }, (open) => (measuring = open));
        rounds.push({ flushMs, grpcLatencyMs: round.latencyMs, grpcTicksPerSec: round.ticksPerSec, busLatencyMs: latency.summary(), serviceCpuUsPerTickIn: round.serviceCpuUsPerTickIn });
      } finally {
        stopped = true;
        await close();
      }
    }
  } finally {
    await nats.close();
  }
  return rounds;
}

export function busReport(rounds: BusRound[]): string[] {
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? "-" : v.toFixed(1));
  const out = ["bus (issue 16): the provider role at 10k ticks/s, one gRPC subscriber and one JetStream consumer of BTCUSDT's ticks:"];
  const plain = rounds.find((r) => r.flushMs === null);
  for (const r of rounds) {
    const cpu = r.serviceCpuUsPerTickIn === null ? "-" : `${r.serviceCpuUsPerTickIn} µs/tick${plain?.serviceCpuUsPerTickIn != null && r !== plain ? ` (+${(r.serviceCpuUsPerTickIn - plain.serviceCpuUsPerTickIn).toFixed(1)})` : ""}`;
    out.push(
      `  ${r.flushMs === null ? "no bus        " : `BUS_FLUSH_MS=${String(r.flushMs).padEnd(2)}`}  gRPC p50/p99 ${ms(r.grpcLatencyMs.p50)}/${ms(r.grpcLatencyMs.p99)} ms (${r.grpcLatencyMs.samples} samples)` +
        (r.busLatencyMs === null ? "" : `  bus p50/p99/max ${ms(r.busLatencyMs.p50)}/${ms(r.busLatencyMs.p99)}/${ms(r.busLatencyMs.max)} ms (${r.busLatencyMs.samples} samples)`) +
        `  service CPU ${cpu}`,
    );
  }
  return out;
}
