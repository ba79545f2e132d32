import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { RecordedFeedKind } from "../store/storeSettings.js";
import type { BusSettings } from "./busSettings.js";
import { streamOf } from "./busSubjects.js";

const KINDS: readonly RecordedFeedKind[] = ["tick", "trade", "orderBook", "candle", "account"];

/** A stream's configuration as created (what is not named: JetStream's defaults). */
export type KindStream = Partial<StreamConfig> & { name: string };

/** The JetStream stream of each kind of feed, as the settings want it. */
export function streamConfigs(settings: Pick<BusSettings, "subjectPrefix" | "retention" | "streamMaxBytes" | "duplicateWindowMs">): KindStream[] {
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
      num_replicas: 1,
      // Edges find where a feed's rows continue with direct gets (feedReader.ts findStart).
      allow_direct: true,
      // JetStream refuses a duplicate window longer than the stream's max age.
      duplicate_window: nanos(maxAgeMs === 0 ? settings.duplicateWindowMs : Math.min(maxAgeMs, settings.duplicateWindowMs)),
    };
  });
}

/**
 * Creates each kind's stream, or brings an existing one to the settings (a changed retention applies at
 * the next start). A stream JetStream cannot change so (another storage type) stops start-up with its reason.
 */
export async function ensureStreams(jsm: JetStreamManager, configs: readonly KindStream[]): Promise<void> {
  for (const config of configs) {
    try {
      await jsm.streams.info(config.name);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
        await jsm.streams.add(config);
        continue;
      }
      throw err;
    }
    const { name, ...update } = config;
    await jsm.streams.update(name, update);
  }
}
