import type { BusFeedKind } from "./busSubjects.js";

/**
 * The provider role's bus (BUS_URL set): where every shared feed's events are published and how. One
 * object, read by the publisher and the stream setup, documented once (docs/deploy.md). Importing it costs
 * nothing: no NATS module is loaded here.
 */
export interface BusSettings {
  /** The NATS servers (BUS_URL: one, or a cluster's, comma-separated). */
  servers: readonly string[];
  /** BUS_URL as messages and logs show it (a password in it masked). */
  url: string;
  /** The first subject token and the streams' name prefix (BUS_SUBJECT_PREFIX). */
  subjectPrefix: string;
  /**
   * How long each kind's JetStream stream keeps events (ms; 0 = no age limit): how far back a consumer of the
   * bus can start (BUS_RETENTION_TICKS, _TRADES, _DEPTH, _CANDLES, _ACCOUNT).
   */
  retention: Readonly<Record<BusFeedKind, number>>;
  /** Each stream's size cap in bytes (BUS_STREAM_MAX_BYTES; 0 = none): the oldest events go first when it is reached. */
  streamMaxBytes: number;
  /** Events waiting to be published (BUS_QUEUE_EVENTS); beyond it the oldest are shed and counted. */
  maxQueued: number;
  /** Publishes awaiting their acknowledgement at once (the pipeline's depth). */
  maxInFlight: number;
  /** How long a publish waits for JetStream's acknowledgement before it counts as failed (and is retried). */
  ackTimeoutMs: number;
  /** JetStream drops a message whose Nats-Msg-Id it stored this recently (a provider's retry never duplicates). */
  duplicateWindowMs: number;
  /**
   * How often the feeds' recorders hand their events over in the provider role (BUS_FLUSH_MS): what the
   * bus adds to an event's latency at least. The all-in-one process keeps the recorder's own 25 ms.
   */
  flushEveryMs: number;
  /**
   * How long the prefix's leader lease outlives its leader's last renewal (BUS_LEADER_TTL_MS; renewed every
   * fifth of it): how long a standby provider waits after the leader died, and how long a leader cut off from
   * the bus goes on before it stops (src/bus/leadership.ts).
   */
  leaderTtlMs: number;
  /**
   * Copies JetStream keeps of every stream the provider creates and of the leader lease's bucket (BUS_REPLICAS,
   * 1..5): 3 on a 3-node cluster, so that the loss of one node loses no event and stops no feed. At most the
   * cluster's JetStream servers (1 for a single nats-server); an existing stream is brought to it at start.
   */
  replicas: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const DEFAULT_BUS_SETTINGS: Readonly<Omit<BusSettings, "servers" | "url">> = Object.freeze({
  subjectPrefix: "ibp",
  retention: Object.freeze({ tick: DAY, trade: DAY, orderBook: HOUR, candle: 7 * DAY, account: 7 * DAY }),
  streamMaxBytes: 1024 ** 3,
  maxQueued: 100_000,
  maxInFlight: 1_024,
  ackTimeoutMs: 2_000,
  duplicateWindowMs: 2 * 60_000,
  // The provider role's default: events reach the bus within ≈ 5 ms (p99 ≈ 11 ms through JetStream at 10k
  // events/s) for ≈ 9 µs of CPU per event more than 25 ms would cost; the store keeps its 25 ms pace.
  flushEveryMs: 5,
  leaderTtlMs: 5_000,
  replicas: 1,
});

/**
 * The shortest leader lease (BUS_LEADER_TTL_MS) that survives a JetStream cluster's loss of a node: the groups the
 * node led (the lease's bucket among them) have no leader until an election, 4-9 s (nats-server's raft election
 * timeout), and no renewal is written meanwhile; 15 s leaves a renewal (a fifth of it) and a second round to spare.
 */
export const CLUSTER_LEADER_TTL_MS = 15_000;

/**
 * NATS connection options a tls:// BUS_URL needs: TLS required (nats.js takes the scheme for nats://
 * and would talk in clear to a server that offers no TLS; the edge's calls carry callers' tokens).
 */
export function tlsOptionsOf(servers: readonly string[]): { tls?: Record<string, never> } {
  return servers.some((s) => s.trim().toLowerCase().startsWith("tls://")) ? { tls: {} } : {};
}
