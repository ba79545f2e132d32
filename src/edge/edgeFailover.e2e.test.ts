import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient } from "../../gen/ibprovider/v1/market_data_service.js";
import { RuntimeServiceClient } from "../../gen/ibprovider/v1/runtime_service.js";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import { Collector } from "../grpc/testing/streamCollector.js";
import { startEdgeProcess, startServiceProcess, type ServiceProcess } from "../grpc/testing/serviceProcess.js";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { until } from "../testing/until.js";

// The production shape in real processes: a nats-server -js, the provider (the service with
// BUS_URL, its embedded simulator, a store file) and two edges, each a process of its own. 200 clients
// split over the edges; one edge killed with kill -9, its clients resuming at the other; NATS restarted;
// the provider restarted.
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

const TOKEN = "edge-failover-token";
const PREFIX = "failover";
const CLIENTS = 200;

describe.skipIf(!verdict.run)("edges in processes of their own: many clients, an edge killed, NATS and the provider restarted", () => {
  let nats: NatsServer;
  let dir: string;
  let provider: ServiceProcess;
  const edges: ServiceProcess[] = [];
  const auth = new Metadata();
  auth.set("authorization", `Bearer ${TOKEN}`);
  const providerEnv = () => ({ BUS_URL: nats.url, BUS_SUBJECT_PREFIX: PREFIX, PROVIDER_API_TOKEN: TOKEN, STORE_PATH: join(dir, "store.db"), SIMULATOR_PORT: "0", SIMULATOR_CLOSED_MARKETS: "live", ...(process.env.APP_TEST_LOG === undefined ? {} : { APP_TEST_LOG: process.env.APP_TEST_LOG }) });
  const edgeEnv = () => ({ BUS_URL: nats.url, BUS_SUBJECT_PREFIX: PREFIX, PROVIDER_API_TOKEN: TOKEN, ...(process.env.EDGE_TEST_LOG === undefined ? {} : { EDGE_TEST_LOG: `${process.env.EDGE_TEST_LOG}.${Math.random().toString(36).slice(2, 6)}` }) });

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    dir = mkdtempSync(join(tmpdir(), "ibp-failover-"));
    nats = await startNatsServer();
    provider = await startServiceProcess(providerEnv());
    edges.push(...(await Promise.all([startEdgeProcess(edgeEnv()), startEdgeProcess(edgeEnv())])));
  }, 40_000);

  afterAll(async () => {
    for (const p of [...edges, provider]) p?.child.kill("SIGKILL");
    await Promise.all([...edges, provider].map((p) => p?.exited));
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const marketData = (address: string) => new MarketDataServiceClient(address, credentials.createInsecure());
  const ticks = (client: MarketDataServiceClient, resume?: { afterSequence: string; epoch: string }) => new Collector(client.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT", ...resume }, auth));
  const seqs = (c: Collector) => c.data.map((e) => Number(e.sequence));
  const epochOf = (c: Collector) => (c.events.find((e) => e.event?.$case === "status")?.event?.value as { epoch: string }).epoch;
  const subscriptions = (address: string) =>
    new Promise<{ key: string; symbol: string; consumers: number }[]>((resolve, reject) =>
      new RuntimeServiceClient(address, credentials.createInsecure()).listSubscriptions({}, auth, { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res!.subscriptions))),
    );

  let clients: { collector: Collector; edge: number }[] = [];

  it(`${CLIENTS} clients split over two edges get the same events, with the provider's sequences`, async () => {
    const channels = edges.map((e) => marketData(e.address));
    clients = Array.from({ length: CLIENTS }, (_, i) => ({ collector: ticks(channels[i % 2]!), edge: i % 2 }));
    for (const { collector } of clients) await collector.until(() => collector.data.length >= 8, { what: "ticks at every client", timeoutMs: 20_000 });
    const bySeq = new Map<number, string>();
    for (const { collector } of clients) {
      // Each client's stream after its join is contiguous…
      const s = seqs(collector).slice(1);
      expect(s.every((n, i) => i === 0 || n === s[i - 1]! + 1)).toBe(true);
      // …and an event is the same event at every client, whichever edge served it.
      for (const e of collector.data.slice(1)) {
        const text = JSON.stringify(e);
        expect(bySeq.get(Number(e.sequence)) ?? text).toBe(text);
        bySeq.set(Number(e.sequence), text);
      }
    }
    expect(new Set(clients.map((c) => epochOf(c.collector))).size).toBe(1);
  }, 60_000);

  it("kill -9 of an edge: its clients resume at the other edge with after_sequence, every event exactly once; the dead edge's lease lapses and its IB line goes", async () => {
    // A feed only the doomed edge's client holds: its IB subscription must go with the edge's lease.
    const doomed = new Collector(marketData(edges[0]!.address).streamTrades({ connectorType: "ib", marketType: "spot", symbol: "ETHUSDT" }, auth));
    await doomed.until(() => doomed.events.length >= 1, { what: "the doomed edge's trades stream", timeoutMs: 10_000 });
    const held = (list: { key: string; symbol: string; consumers: number }[]) => list.some((s) => s.key.startsWith("trade/") && s.symbol === "ETHUSDT" && s.consumers > 0);
    expect(held(await subscriptions(provider.address))).toBe(true);
    const killedMs = Date.now();
    edges[0]!.child.kill("SIGKILL");
    const moved = clients.filter((c) => c.edge === 0);
    const survivor = marketData(edges[1]!.address);
    const resumed = await Promise.all(
      moved.map(async ({ collector }) => {
        await collector.until(() => collector.error !== undefined, { what: "the dead edge's stream ended", timeoutMs: 10_000 });
        const before = seqs(collector);
        const next = ticks(survivor, { afterSequence: String(before[before.length - 1]), epoch: epochOf(collector) });
        await next.until(() => next.data.length >= 1, { what: "the first resumed event", timeoutMs: 10_000 });
        const firstMs = Date.now() - killedMs;
        await next.until(() => next.data.length >= 5 && next.statuses(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE) === 1, { what: "the resumed stream live", timeoutMs: 15_000 });
        return { before, after: seqs(next), firstMs, next };
      }),
    );
    for (const { before, after } of resumed) {
      expect(after[0]).toBe(before[before.length - 1]! + 1);
      expect(after.every((n, i) => i === 0 || n === after[i - 1]! + 1)).toBe(true);
    }
    const slowest = Math.max(...resumed.map((r) => r.firstMs));
    console.info(`failover: the dead edge's ${moved.length} clients' first resumed events came ${slowest} ms after the kill at the latest`);
    // The lease lapses within its period (3 s) plus a sweep: the provider drops the feed and its IB line.
    await until(async () => !held(await subscriptions(provider.address)), { what: "the dead edge's feed released at the provider", timeoutMs: 10_000 });
    clients = [...clients.filter((c) => c.edge === 1), ...resumed.map((r) => ({ collector: r.next, edge: 1 }))];
  }, 60_000);

  const kinds = (c: Collector, from: number) => c.events.slice(from).filter((e) => e.event?.$case === "status").map((e) => StreamStatusKind[(e.event!.value as { kind: StreamStatusKind }).kind]);
  /** After index `from`: data in order, no event twice; a jump in the numbering only after a GAP status. */
  const continuesTruthfully = (c: Collector, from: number, lastSeq: number) => {
    let last = lastSeq;
    let gapSaid = false;
    for (const e of c.events.slice(from)) {
      if (e.event?.$case === "status" && (e.event.value as { kind: StreamStatusKind }).kind === StreamStatusKind.STREAM_STATUS_KIND_GAP) gapSaid = true;
      if (e.event === undefined || e.event.$case === "status" || e.event.$case === "heartbeat") continue;
      const n = Number(e.sequence);
      expect(n).toBeGreaterThan(last);
      if (n !== last + 1) expect(gapSaid).toBe(true);
      last = n;
    }
  };

  it("NATS restarted mid-stream: the edges' clients hear RECONNECTING, then LIVE, and lose nothing", async () => {
    const watched = clients.slice(0, 20).map(({ collector }) => ({ collector, from: collector.events.length, last: seqs(collector).at(-1)! }));
    await nats.stop();
    for (const { collector, from } of watched) await collector.until(() => kinds(collector, from).includes("STREAM_STATUS_KIND_RECONNECTING"), { what: "RECONNECTING with the bus away", timeoutMs: 10_000 });
    await nats.restart();
    for (const { collector, from } of watched) {
      await collector.until(() => kinds(collector, from).includes("STREAM_STATUS_KIND_LIVE") && collector.events.slice(from).some((e) => e.event?.$case === "tick"), { what: "data again after the bus came back", timeoutMs: 20_000 });
    }
    // The provider kept its feeds and the edges' leases through the outage (they do not lapse while its bus is away).
    for (const { collector, from, last } of watched) continuesTruthfully(collector, from, last);
    expect(watched.every(({ collector, from }) => !kinds(collector, from).includes("STREAM_STATUS_KIND_GAP"))).toBe(true);
  }, 60_000);

  it("the provider restarted: RECONNECTING, then GAP, then data; the subscriptions are restored", async () => {
    const watched = clients.slice(0, 20).map(({ collector }) => ({ collector, from: collector.events.length, last: seqs(collector).at(-1)! }));
    provider.child.kill("SIGKILL");
    await provider.exited;
    provider = await startServiceProcess(providerEnv());
    for (const { collector, from } of watched) {
      await collector
        .until(() => kinds(collector, from).includes("STREAM_STATUS_KIND_GAP") && collector.events.slice(from).some((e) => e.event?.$case === "tick"), { what: "data after the provider's restart", timeoutMs: 30_000 })
        .catch(async (err: Error) => {
          const proof = await new Promise((resolve) => new RuntimeServiceClient(provider.address, credentials.createInsecure()).getRuntimeProof({}, auth, (e, r) => resolve(e ?? r)));
          const subs = await subscriptions(provider.address).catch((e: unknown) => e);
          throw new Error(`${err.message}: ${JSON.stringify(collector.events.slice(from).filter((e) => e.event?.$case !== "heartbeat").map((e) => [e.sequence, e.event?.$case, (e.event?.value as { message?: string }).message]))}\nPROOF ${JSON.stringify(proof)}\nSUBS ${JSON.stringify(subs)}`);
        });
      const said = kinds(collector, from);
      expect(said.indexOf("STREAM_STATUS_KIND_RECONNECTING"), JSON.stringify(collector.events.slice(from).map((e) => [e.sequence, e.event?.$case, (e.event?.value as { message?: string }).message]))).toBeGreaterThanOrEqual(0);
      expect(said.indexOf("STREAM_STATUS_KIND_RECONNECTING")).toBeLessThan(said.indexOf("STREAM_STATUS_KIND_GAP"));
    }
    for (const { collector, from, last } of watched) continuesTruthfully(collector, from, last);
    // Every stream's lease granted again (the edge asks again with a backoff, each stream at its own moment).
    await until(async () => (await subscriptions(provider.address)).find((s) => s.key.startsWith("tick/") && s.symbol === "BTCUSDT")?.consumers === CLIENTS, { what: "every stream's lease granted again", timeoutMs: 30_000 });
  }, 60_000);
});
