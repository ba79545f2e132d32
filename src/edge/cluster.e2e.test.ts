import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient } from "../../gen/ibprovider/v1/market_data_service.js";
import { RuntimeServiceClient } from "../../gen/ibprovider/v1/runtime_service.js";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import { CLUSTER_LEADER_TTL_MS } from "../bus/busSettings.js";
import { streamOf } from "../bus/busSubjects.js";
import { Collector } from "../grpc/testing/streamCollector.js";
import { startEdgeProcess, startServiceProcess, type ServiceProcess } from "../grpc/testing/serviceProcess.js";
import { startNatsCluster, type NatsCluster, type NatsClusterNode } from "../testing/natsCluster.js";
import { natsServerVerdict } from "../testing/natsServer.js";

// docs/deploy.md's 3-node JetStream cluster in real processes: three nats-server nodes on loopback, a provider with
// BUS_URL listing all three and BUS_REPLICAS=3, an edge on another node than the provider's. The node leading the
// tick stream is killed (kill -9) mid-stream: JetStream elects another leader (4-9 s), and meanwhile the provider
// queues and retries, the edge remakes a consumer the dead node held; the client misses nothing.
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

const TOKEN = "cluster-token";
const PREFIX = "cluster";
/** Ticks the client must get after the kill: the feed flowing again, not a few already on their way. */
const TICKS_AFTER = 20;

describe.skipIf(!verdict.run)("a 3-node JetStream cluster (BUS_REPLICAS=3): one node killed", () => {
  let cluster: NatsCluster;
  let dir: string;
  let provider: ServiceProcess;
  let edge: ServiceProcess;
  let providerNode: NatsClusterNode | undefined;
  let leaderNode: NatsClusterNode;
  let edgeNode: NatsClusterNode;
  const auth = new Metadata();
  auth.set("authorization", `Bearer ${TOKEN}`);
  const tickStream = streamOf(PREFIX, "tick").name;

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    dir = mkdtempSync(join(tmpdir(), "ibp-cluster-"));
    cluster = await startNatsCluster();
    provider = await startServiceProcess({
      BUS_URL: cluster.urls,
      BUS_REPLICAS: "3",
      // The lease's bucket may lose its leader with the node too: the lease must outlive the election.
      BUS_LEADER_TTL_MS: String(CLUSTER_LEADER_TTL_MS),
      BUS_SUBJECT_PREFIX: PREFIX,
      PROVIDER_API_TOKEN: TOKEN,
      STORE_PATH: join(dir, "store.db"),
      SIMULATOR_PORT: "0",
      SIMULATOR_CLOSED_MARKETS: "live",
      ...(process.env.APP_TEST_LOG === undefined ? {} : { APP_TEST_LOG: process.env.APP_TEST_LOG }),
    });
    // The provider's node (nats.js picks one of BUS_URL's at random) and the tick stream's leader: the edge goes to
    // a node that is neither when there is one, so that the kill takes the stream's leader and spares the edge's link.
    providerNode = await cluster.nodeOf("ib-provider");
    leaderNode = await cluster.streamLeader(tickStream);
    edgeNode = cluster.nodes.find((n) => n !== providerNode && n !== leaderNode)!;
    edge = await startEdgeProcess({ BUS_URL: edgeNode.url, BUS_SUBJECT_PREFIX: PREFIX, PROVIDER_API_TOKEN: TOKEN, ...(process.env.EDGE_TEST_LOG === undefined ? {} : { EDGE_TEST_LOG: process.env.EDGE_TEST_LOG }) });
  }, 30_000);

  afterAll(async () => {
    for (const p of [edge, provider]) p?.child.kill("SIGKILL");
    await Promise.all([edge, provider].map((p) => p?.exited));
    await cluster?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("kill -9 of the node leading the tick stream: the edge's client gets every event once, in order, and the provider runs on", async () => {
    expect(providerNode, "the provider connected to a node of BUS_URL").toBeDefined();
    const client = new Collector(new MarketDataServiceClient(edge.address, credentials.createInsecure()).streamTicks({ connectorType: "ib", marketType: "spot", symbol: "BTCUSDT" }, auth));
    // When ticks arrive: the longest silence after the kill is what the client saw of the failover.
    const arrivals: number[] = [];
    client.call.on("data", (res: { events: { event?: { $case: string } }[] }) => {
      if (res.events.some((e) => e.event?.$case === "tick")) arrivals.push(Date.now());
    });
    await client.until(() => client.data.length >= 5, { what: "ticks at the edge's client", timeoutMs: 10_000 });
    const before = client.data.length;
    const killedMs = Date.now();
    await leaderNode.stop("SIGKILL");
    // The failover measured 4–13 s (heartbeats, then the election); a loaded 2-core CI run took over 20 s once.
    await client.until(() => client.data.length >= before + TICKS_AFTER, { what: "ticks after the node's death", timeoutMs: 45_000 });
    const after = [killedMs, ...arrivals.filter((t) => t > killedMs)];
    const longestSilenceMs = Math.max(...after.slice(1).map((t, i) => t - after[i]!));

    const seqs = client.data.map((e) => Number(e.sequence));
    // Nothing lost, nothing twice: one run of consecutive sequences (the first event is the join's snapshot).
    expect(seqs.slice(1).every((n, i, s) => i === 0 || n === s[i - 1]! + 1), JSON.stringify(seqs)).toBe(true);
    expect(client.error).toBeUndefined();
    expect(client.statuses(StreamStatusKind.STREAM_STATUS_KIND_GAP)).toBe(0);
    // The stream's leadership moved to a surviving node; the provider kept running and answers (through the edge:
    // a call travels over the bus).
    const newLeader = await cluster.streamLeader(tickStream);
    expect(newLeader).not.toBe(leaderNode);
    expect(provider.child.exitCode).toBeNull();
    const subscriptions = await new Promise<{ key: string }[]>((resolve, reject) =>
      new RuntimeServiceClient(edge.address, credentials.createInsecure()).listSubscriptions({}, auth, { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res!.subscriptions))),
    );
    expect(subscriptions.some((s) => s.key.startsWith("tick/"))).toBe(true);
    const statuses = client.events.filter((e) => e.event?.$case === "status").map((e) => StreamStatusKind[(e.event!.value as { kind: StreamStatusKind }).kind]);
    console.info(
      `cluster: ${leaderNode.name} killed (the tick stream's leader${leaderNode === providerNode ? ", the provider's node" : ""}; provider on ${providerNode!.name}, edge on ${edgeNode.name}): longest silence at the client ${longestSilenceMs} ms, leader now ${newLeader.name}; statuses ${statuses.join(" ")}`,
    );
  }, 60_000);
});
