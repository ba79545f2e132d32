import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import { startNatsCluster, type NatsCluster } from "../testing/natsCluster.js";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { until } from "../testing/until.js";
import { DEFAULT_BUS_SETTINGS, type BusSettings } from "./busSettings.js";
import { ensureStreams, streamConfigs } from "./busStreams.js";
import { acquireLeadership, leaderBucketOf, type Leadership } from "./leadership.js";
import { startProviderBus } from "./providerBus.js";

// BUS_REPLICAS against a real 3-node JetStream cluster on loopback (and a single server, which has no room for
// more than one copy): what the provider creates at start — each kind's stream and the leader lease's bucket.
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

const silent = createLogger("silent");
const settingsOf = (subjectPrefix: string, replicas: number, servers: readonly string[]): BusSettings => ({ ...DEFAULT_BUS_SETTINGS, subjectPrefix, replicas, servers, url: servers.join(","), leaderTtlMs: 1_000 });
const directory = { account: () => "DU1", feed: () => ({ market: "spot", symbol: "BTCUSDT" }) };

describe.skipIf(!verdict.run)("BUS_REPLICAS: the copies JetStream keeps of the provider's streams and leader lease", () => {
  let cluster: NatsCluster;
  let single: NatsServer;
  const connections: NatsConnection[] = [];
  const held: Leadership[] = [];
  const managerOf = async (servers: readonly string[]): Promise<JetStreamManager> => {
    const nc = await connect({ servers: [...servers], reconnect: false });
    connections.push(nc);
    return jetstreamManager(nc);
  };
  const lead = async (settings: BusSettings) => {
    const nc = await connect({ servers: [...settings.servers], reconnect: false });
    connections.push(nc);
    const leadership = await acquireLeadership(nc, settings, silent, { onLost: () => undefined });
    held.push(leadership);
    return leadership;
  };
  /** Every stream the provider of `prefix` creates: each kind's and the lease's bucket. */
  const streamsOf = (prefix: string) => [...streamConfigs(settingsOf(prefix, 1, [])).map((c) => c.name), `KV_${leaderBucketOf(prefix)}`];

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    [cluster, single] = await Promise.all([startNatsCluster(), startNatsServer()]);
  }, 30_000);

  afterAll(async () => {
    for (const l of held) await l.release().catch(() => undefined);
    for (const nc of connections) await nc.close().catch(() => undefined);
    await Promise.all([cluster?.close(), single?.close()]);
  });

  it("creates every stream and the leader's bucket with 3 replicas on a 3-node cluster, each on a different node", async () => {
    const servers = cluster.nodes.map((n) => n.url);
    const settings = settingsOf("r3", 3, servers);
    const jsm = await managerOf(servers);
    await ensureStreams(jsm, streamConfigs(settings));
    await lead(settings);
    for (const name of streamsOf("r3")) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas, name).toBe(3);
      expect(new Set([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)]), name).toEqual(new Set(["n1", "n2", "n3"]));
    }
  }, 20_000);

  it("brings a provider's existing one-copy streams and bucket to BUS_REPLICAS at its next start", async () => {
    const servers = cluster.nodes.map((n) => n.url);
    const jsm = await managerOf(servers);
    await ensureStreams(jsm, streamConfigs(settingsOf("grow", 1, servers)));
    await (await lead(settingsOf("grow", 1, servers))).release();
    for (const name of streamsOf("grow")) expect((await jsm.streams.info(name)).config.num_replicas, name).toBe(1);
    await ensureStreams(jsm, streamConfigs(settingsOf("grow", 3, servers)));
    await lead(settingsOf("grow", 3, servers));
    for (const name of streamsOf("grow")) expect((await jsm.streams.info(name)).config.num_replicas, name).toBe(3);
  }, 20_000);

  it("a node stopped and restarted on its ports and store catches up: every copy current again, every message kept", async () => {
    const settings = settingsOf("back", 3, cluster.nodes.map((n) => n.url));
    await ensureStreams(await managerOf(settings.servers), streamConfigs(settings));
    const [tick] = streamConfigs(settings);
    // A node leading neither the stream nor the cluster's meta group is stopped (no election: the two left go on
    // acknowledging, and the node rejoins at once), the stream written through its leader meanwhile.
    const leader = await cluster.streamLeader(tick!.name);
    const meta = await cluster.metaLeader();
    const node = cluster.nodes.find((n) => n !== leader && n !== meta)!;
    const jsm = await managerOf([leader.url]);
    const js = jsm.jetstream();
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) await js.publish(tick!.subjects![0]!.replace(">", "x"), new Uint8Array(8));
    };
    await publish(10);
    const { url, port } = node;
    await node.stop("SIGKILL");
    await publish(10);
    await node.restart();
    expect([node.url, node.port]).toEqual([url, port]);
    await until(
      async () => {
        const info = await jsm.streams.info(tick!.name);
        return info.state.messages === 20 && (info.cluster?.replicas ?? []).length === 2 && (info.cluster?.replicas ?? []).every((r) => r.current && (r.lag ?? 0) === 0);
      },
      { what: `${node.name}'s copy of ${tick!.name} current again`, timeoutMs: 10_000 },
    );
  }, 20_000);

  it("refuses more replicas than the cluster has servers, in one line naming BUS_REPLICAS", async () => {
    const servers = cluster.nodes.map((n) => n.url);
    await expect(startProviderBus(settingsOf("r5", 5, servers), directory, silent)).rejects.toThrow(/^BUS_REPLICAS 5: the bus's JetStream cluster cannot place 5 copies of R5_TICK \(JetStream: no suitable peers for placement\)/);
    // The lease's bucket is asked for by itself (after the streams, at start): the same line.
    await expect(lead(settingsOf("r5", 5, servers))).rejects.toThrow(/^BUS_REPLICAS 5: .*cannot place 5 copies of KV_r5_leader/);
    // An existing stream asked for more copies than there are servers: refused, as a new one.
    await expect(ensureStreams(await managerOf(servers), streamConfigs(settingsOf("r3", 5, servers)))).rejects.toThrow(/^BUS_REPLICAS 5: /);
  }, 20_000);

  it("refuses BUS_REPLICAS above 1 on a single nats-server, for new streams and for existing ones it would take silently", async () => {
    const servers = [single.url];
    const notClustered = /^BUS_REPLICAS 3: the bus is a single nats-server, not a JetStream cluster/;
    await expect(startProviderBus(settingsOf("one", 3, servers), directory, silent)).rejects.toThrow(notClustered);
    await expect(lead(settingsOf("one", 3, servers))).rejects.toThrow(notClustered);
    const jsm = await managerOf(servers);
    await ensureStreams(jsm, streamConfigs(settingsOf("one", 1, servers)));
    await (await lead(settingsOf("one", 1, servers))).release();
    await expect(ensureStreams(jsm, streamConfigs(settingsOf("one", 3, servers)))).rejects.toThrow(notClustered);
    await expect(lead(settingsOf("one", 3, servers))).rejects.toThrow(notClustered);
    for (const name of streamsOf("one")) expect((await jsm.streams.info(name)).config.num_replicas, name).toBe(1);
  }, 20_000);
});
