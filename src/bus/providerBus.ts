import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../log/logger.js";
import type { FeedTaps } from "../stream/feedTap.js";
import { busConnected } from "./busMetrics.js";
import { BusUnavailableError } from "./busUnavailableError.js";
import { batchBytesFor } from "./busBatch.js";
import { serveCalls, type BusCall, type CallReply } from "./busRpc.js";
import { serveLeases, type LeaseOpened } from "./busLeases.js";
import { BusPublisher, type BusDirectory, type BusPublisherStats } from "./busPublisher.js";
import { tlsOptionsOf, type BusSettings } from "./busSettings.js";
import { ensureStreams, streamConfigs } from "./busStreams.js";
import { JetStreamAcks } from "./jetStreamAcks.js";
import { acquireLeadership, type Leadership, type LeadershipOptions } from "./leadership.js";

/** The provider role's side of the bus: its publisher taps every feed's journal. */
export interface ProviderBus {
  readonly taps: FeedTaps;
  /** Whether the connection to the bus is up now. */
  isConnected(): boolean;
  stats(): BusPublisherStats;
  /**
   * Resolves once this process leads its prefix (the leader lease, leadership.ts): at once when no other
   * provider does, else after waiting as standby. Before the IB connection, so that one account has one.
   */
  lead(options: LeadershipOptions): Promise<Leadership>;
  /** Answers the edges' calls (one provider per subject prefix; busRpc.ts) until closed. */
  answerCalls(handle: (call: BusCall, cancelled: AbortSignal) => Promise<CallReply>): void;
  /** Grants the edges' stream leases (busLeases.ts) with `open` until closed. */
  answerLeases(open: (call: BusCall) => Promise<LeaseOpened>): void;
  /** Where a running feed's rows go on the bus (BusPublisher.addressOf). */
  addressOf(key: string): { subject: string; stream: string } | undefined;
  /** The edges' leases held now. */
  leases(): number;
  /** Publishes what is still queued (at most `graceMs`), then runs `published` if given, then closes the connection. */
  close(graceMs: number, published?: () => Promise<void>): Promise<void>;
}

/** How long the first connection may take before start-up fails. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Between reconnect attempts once connected (NATS's default, 2 s, would hold publishing back longer after a restart). */
const RECONNECT_WAIT_MS = 250;

/**
 * Connects to the bus (BUS_URL) and creates or updates each kind's JetStream stream; fails with a
 * BusUnavailableError naming BUS_URL and the address when it cannot. Once started it reconnects forever:
 * while the bus is away, feeds and local clients go on and the publisher sheds (see BusPublisher) — for up
 * to BUS_LEADER_TTL_MS: then the leader lease is lost and the provider stops (leadership.ts).
 */
export async function startProviderBus(settings: BusSettings, directory: BusDirectory, log: Logger): Promise<ProviderBus> {
  const where = `BUS_URL ${settings.url}`;
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: [...settings.servers], name: "ib-provider", timeout: CONNECT_TIMEOUT_MS, maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_WAIT_MS, noAsyncTraces: true, ...tlsOptionsOf(settings.servers) });
  } catch (err) {
    throw new BusUnavailableError(`${where}: cannot connect to the bus (${messageOf(err)}); the provider role needs it (unset BUS_URL for the all-in-one process)`, { cause: err });
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: CONNECT_TIMEOUT_MS });
    await ensureStreams(jsm, streamConfigs(settings));
  } catch (err) {
    await nc.close();
    // Already one line naming its setting (BUS_REPLICAS).
    if (err instanceof BusUnavailableError) throw err;
    throw new BusUnavailableError(`${where}: JetStream is not usable there (${messageOf(err)}); the bus must run JetStream (nats-server -js)`, { cause: err });
  }
  const acks = new JetStreamAcks(nc, settings.ackTimeoutMs);
  // A batch must fit the server's messages (max_payload, 1 MiB by default; a server may be set lower).
  const publisher = new BusPublisher(acks, directory, { ...settings, maxBatchBytes: batchBytesFor(nc.info?.max_payload ?? 1024 * 1024) }, log);
  let connected = true;
  busConnected.set(1);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        connected = false;
        busConnected.set(0);
        publisher.setConnected(false);
        // Their answers will not come: retried (with the same Nats-Msg-Id) once the bus is back.
        acks.failAll("the bus connection was lost");
        log.warn({ bus: settings.url }, "the bus connection is lost: reconnecting; feeds and local clients go on, events queue (bounded) meanwhile");
      } else if (status.type === "reconnect") {
        connected = true;
        busConnected.set(1);
        publisher.setConnected(true);
        log.info({ bus: settings.url }, "the bus connection is back");
      }
    }
  })();
  log.info({ bus: settings.url, subjectPrefix: settings.subjectPrefix }, "provider role: publishing every feed's events to the bus");
  let answering: { close(): Promise<void> } | undefined;
  let leasing: { close(): Promise<void>; readonly size: number } | undefined;
  return {
    taps: publisher,
    isConnected: () => connected,
    stats: () => publisher.stats(),
    lead: (options) => acquireLeadership(nc, settings, log, options),
    answerCalls: (handle) => {
      answering ??= serveCalls(nc, settings.subjectPrefix, handle);
    },
    answerLeases: (open) => {
      leasing ??= serveLeases(nc, settings.subjectPrefix, open, undefined, () => !connected);
    },
    addressOf: (key) => publisher.addressOf(key),
    leases: () => leasing?.size ?? 0,
    close: async (graceMs, published) => {
      await answering?.close();
      await leasing?.close();
      await publisher.close(graceMs);
      // E.g. the leader lease released: only now, so that a standby's first rows come after this provider's last.
      await published?.();
      acks.close();
      busConnected.set(0);
      await nc.close();
    },
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
