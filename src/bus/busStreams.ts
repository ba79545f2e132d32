import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { BusFeedKind } from "./busSubjects.js";
import type { BusSettings } from "./busSettings.js";
import { streamOf } from "./busSubjects.js";
import { BusUnavailableError } from "./busUnavailableError.js";

const KINDS: readonly BusFeedKind[] = ["tick", "trade", "orderBook", "candle", "account"];

/** A stream's configuration as created (what is not named: JetStream's defaults). */
export type KindStream = Partial<StreamConfig> & { name: string };

/** The JetStream stream of each kind of feed, as the settings want it. */
export function streamConfigs(settings: Pick<BusSettings, "subjectPrefix" | "retention" | "streamMaxBytes" | "duplicateWindowMs" | "replicas">): KindStream[] {
  return KINDS.map((kind) => {
    const { name, subject } = streamOf(settings.subjectPrefix, kind);
    const maxAgeMs = settings.retention[kind];
    return {
      name,
      subjects: [subject],
      description: `ib-provider ${kind} events (${settings.subjectPrefix})`,
      // Limits: events stay for every consumer until they age out (or the stream is full), not until read.
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(maxAgeMs),
      max_bytes: settings.streamMaxBytes === 0 ? -1 : settings.streamMaxBytes,
      max_msgs: -1,
      max_msg_size: -1,
      max_consumers: -1,
      num_replicas: settings.replicas,
      // Edges find where a feed's rows continue with direct gets (feedReader.ts findStart).
      allow_direct: true,
      // JetStream refuses a duplicate window longer than the stream's max age.
      duplicate_window: nanos(maxAgeMs === 0 ? settings.duplicateWindowMs : Math.min(maxAgeMs, settings.duplicateWindowMs)),
    };
  });
}

/**
 * Creates each kind's stream, or brings an existing one to the settings (a changed retention or BUS_REPLICAS
 * applies at the next start: JetStream adds or drops copies of a running stream). A stream JetStream cannot
 * change so (another storage type) stops start-up with its reason; more replicas than the bus has servers, with
 * one line naming BUS_REPLICAS.
 */
export async function ensureStreams(jsm: JetStreamManager, configs: readonly KindStream[]): Promise<void> {
  // All at once: on a cluster each new replicated stream waits ≈ 0.5 s for its group's first leader.
  await Promise.all(configs.map((config) => ensureStream(jsm, config)));
}

async function ensureStream(jsm: JetStreamManager, config: KindStream): Promise<void> {
  const { name, ...update } = config;
  const replicas = config.num_replicas ?? 1;
  let clustered: boolean;
  try {
    clustered = (await jsm.streams.info(name)).cluster !== undefined;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    try {
      await jsm.streams.add(config);
    } catch (e) {
      throw replicasProblemOf(e, replicas, name) ?? e;
    }
    return;
  }
  // A single nats-server (2.9) refuses a new stream of 3 replicas but takes the update to 3 without a word.
  if (replicas > 1 && !clustered) throw notClusteredProblem(replicas);
  try {
    await jsm.streams.update(name, update);
  } catch (err) {
    throw replicasProblemOf(err, replicas, name) ?? err;
  }
}

/**
 * JetStream's refusals of a replica count (nats-server's JSStreamReplicasNotSupportedErr, JSClusterNoPeersErr,
 * JSInsufficientResourcesErr) as the setting to change; undefined for any other error, or for one replica (then
 * "insufficient resources" is the servers' storage, not BUS_REPLICAS).
 */
export function replicasProblemOf(err: unknown, replicas: number, stream: string): BusUnavailableError | undefined {
  if (replicas <= 1 || !(err instanceof JetStreamApiError)) return undefined;
  if (err.code === REPLICAS_NOT_SUPPORTED) return notClusteredProblem(replicas, err);
  if (err.code === NO_SUITABLE_PEERS || err.code === INSUFFICIENT_RESOURCES) {
    return new BusUnavailableError(
      `BUS_REPLICAS ${replicas}: the bus's JetStream cluster cannot place ${replicas} copies of ${stream} (JetStream: ${err.message}); BUS_REPLICAS must be at most the cluster's JetStream servers that are up`,
      { cause: err },
    );
  }
  return undefined;
}

/** BUS_REPLICAS above 1 on a single nats-server. */
export function notClusteredProblem(replicas: number, cause?: unknown): BusUnavailableError {
  return new BusUnavailableError(
    `BUS_REPLICAS ${replicas}: the bus is a single nats-server, not a JetStream cluster (replicas > 1 not supported in non-clustered mode); set BUS_REPLICAS=1 or list a cluster's servers in BUS_URL (docs/deploy.md)`,
    { cause },
  );
}

/** nats-server's error codes (server/errors.json) for what a replica count can run into. */
const NO_SUITABLE_PEERS = 10005;
const INSUFFICIENT_RESOURCES = 10023;
const REPLICAS_NOT_SUPPORTED = 10074;
