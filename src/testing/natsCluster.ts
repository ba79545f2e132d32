import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { endServer, launchServer, leaveNothingBehind } from "./natsServer.js";

// Run only where natsServerVerdict() says so (the same nats-server, skipped or failing in CI alike).

export interface NatsClusterNode {
  /** Its server name (n1, n2, n3): what JetStream's cluster info names as a leader or replica. */
  readonly name: string;
  /** nats://127.0.0.1:<port> (the same across restarts). */
  readonly url: string;
  readonly port: number;
  /** The route port the other nodes solicit (the same across restarts). */
  readonly clusterPort: number;
  /** Its monitoring endpoint, http://127.0.0.1:<port> (/connz, /jsz; the same across restarts). */
  readonly monitorUrl: string;
  /** The running server's process id (undefined while stopped). */
  readonly pid: number | undefined;
  /** Its store directory (kept across a restart). */
  readonly storeDir: string;
  /** Stops this node (SIGTERM; SIGKILL: a crash) and waits for its exit; its store is kept. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it again on the same ports and store; resolves once JetStream answers through it. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly NatsClusterNode[];
  /** Every node's URL, comma-separated: a BUS_URL for the whole cluster. */
  readonly urls: string;
  /** The node the stream's JetStream leader is on now (the cluster's answer through a running node). */
  streamLeader(stream: string): Promise<NatsClusterNode>;
  /** The node the JetStream meta leader (placements, stream and consumer creation) is on now, per a running node's /jsz. */
  metaLeader(): Promise<NatsClusterNode>;
  /** The running node a client connection named `name` (connect's `name`) is connected to, if any. */
  nodeOf(connectionName: string): Promise<NatsClusterNode | undefined>;
  /** Stops every node (SIGKILL: nothing of it is kept) and removes their store directories. */
  close(): Promise<void>;
}

/** The name every node is started with (`cluster.name`): JetStream's cluster needs one, the same on all. */
const CLUSTER_NAME = "ibp-test";
/** How long the cluster may take to elect its JetStream meta leader (≈ 0.3 s on loopback) or a node to rejoin. */
const READY_TIMEOUT_MS = 15_000;

/**
 * A real JetStream cluster of `size` nats-server processes (Debian's 2.9: clustered JetStream needs its routes
 * at start, so each node has a config file naming all of them), on loopback, each node storing in a directory of
 * its own under one temporary directory. Resolves once JetStream answers through every node (a meta leader
 * elected, every peer joined). Client ports are the servers' own picks (-1, read from their logs); route ports
 * must be known before any node starts, so they are probed free (bound on port 0, then released).
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), "ibp-nats-cluster-"));
  const children = new Map<string, ChildProcess>();
  const forget = leaveNothingBehind(() => {
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const clusterPorts = await freePorts(size);
  const routes = clusterPorts.map((p) => `nats-route://127.0.0.1:${p}`);
  const launches: (() => Promise<void>)[] = [];
  const nodes: NatsClusterNode[] = clusterPorts.map((clusterPort, i) => {
    const name = `n${i + 1}`;
    const storeDir = join(dir, name);
    const configFile = join(dir, `${name}.conf`);
    mkdirSync(storeDir);
    let port = -1;
    let monitorPort = -1;
    // Rewritten at each start: the first picks the client and monitoring ports, a restart keeps them.
    const writeConfig = () =>
      writeFileSync(
        configFile,
        [
          `server_name: ${name}`,
          `listen: "127.0.0.1:${port}"`,
          `http: "127.0.0.1:${monitorPort}"`,
          `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
          `cluster {`,
          `  name: ${CLUSTER_NAME}`,
          `  listen: "127.0.0.1:${clusterPort}"`,
          // Its own route among them is recognised and dropped by the server.
          `  routes: [${routes.map((r) => JSON.stringify(r)).join(", ")}]`,
          `}`,
          "",
        ].join("\n"),
      );
    const launch = async () => {
      writeConfig();
      const started = await launchServer(["-c", configFile]);
      children.set(name, started.child);
      port = started.port;
      monitorPort = Number(/Starting http monitor on [^\s]+:(\d+)/.exec(started.log)?.[1] ?? Number.NaN);
    };
    launches.push(launch);
    const node: NatsClusterNode = {
      name,
      get url() {
        return `nats://127.0.0.1:${port}`;
      },
      get port() {
        return port;
      },
      clusterPort,
      get monitorUrl() {
        return `http://127.0.0.1:${monitorPort}`;
      },
      get pid() {
        return children.get(name)?.pid;
      },
      storeDir,
      stop: async (signal = "SIGTERM") => {
        const running = children.get(name);
        children.delete(name);
        await endServer(running, signal);
      },
      restart: async () => {
        await node.stop();
        await launch();
        await jetstreamAnswersThrough(node);
      },
    };
    return node;
  });
  const close = async () => {
    await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
    rmSync(dir, { recursive: true, force: true });
    forget();
  };
  try {
    await Promise.all(launches.map((launch) => launch()));
    await Promise.all(nodes.map((n) => jetstreamAnswersThrough(n)));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    streamLeader: async (stream) => {
      const nc = await connect({ servers: nodes.filter((n) => n.pid !== undefined).map((n) => n.url), reconnect: false, timeout: READY_TIMEOUT_MS });
      try {
        const info = await (await jetstreamManager(nc)).streams.info(stream);
        const node = nodes.find((n) => n.name === info.cluster?.leader);
        if (node === undefined) throw new Error(`stream ${stream} has no leader among ${nodes.map((n) => n.name).join(", ")} now (${JSON.stringify(info.cluster)})`);
        return node;
      } finally {
        await nc.close();
      }
    },
    metaLeader: async () => {
      const running = nodes.find((n) => n.pid !== undefined);
      if (running === undefined) throw new Error("no node of the cluster is running");
      const jsz = (await (await fetch(`${running.monitorUrl}/jsz`)).json()) as { meta_cluster?: { leader?: string } };
      const node = nodes.find((n) => n.name === jsz.meta_cluster?.leader);
      if (node === undefined) throw new Error(`the cluster has no meta leader now (${JSON.stringify(jsz.meta_cluster)})`);
      return node;
    },
    nodeOf: async (connectionName) => {
      for (const node of nodes) {
        if (node.pid === undefined) continue;
        const connz = (await (await fetch(`${node.monitorUrl}/connz?limit=1024`)).json()) as { connections?: { name?: string }[] };
        if ((connz.connections ?? []).some((c) => c.name === connectionName)) return node;
      }
      return undefined;
    },
    close,
  };
}

/** `count` distinct loopback ports free now: all bound at once (so distinct), then released. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/**
 * Asks JetStream for the account's info through `node` until it answers: a meta leader is elected and this node
 * has joined it. Before then the server answers 503 ("JetStream system temporarily unavailable") or not at all.
 */
async function jetstreamAnswersThrough(node: NatsClusterNode): Promise<void> {
  const giveUpAt = Date.now() + READY_TIMEOUT_MS;
  const nc = await connect({ servers: node.url, reconnect: false, timeout: READY_TIMEOUT_MS });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 1_000, checkAPI: false });
    for (;;) {
      try {
        await jsm.getAccountInfo();
        return;
      } catch (err) {
        if (Date.now() > giveUpAt) throw new Error(`the JetStream cluster did not answer through ${node.name} within ${READY_TIMEOUT_MS} ms`, { cause: err });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    await nc.close();
  }
}
