import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../log/logger.js";
import { sendCall, type BusCall, type CallReply } from "./busRpc.js";
import { tlsOptionsOf, type BusSettings } from "./busSettings.js";
import { BusUnavailableError } from "./busUnavailableError.js";
import { LeaseClient, type LeaseEvents, type LeaseReply } from "./busLeases.js";
import { FeedTails } from "./feedTails.js";
import { findStart, findStartAt, type FeedMessage, type FeedPosition, type ReadStart, type TimeStart } from "./feedReader.js";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";

/** The edge role's side of the bus: calls to the provider, stream leases, the feeds' rows from JetStream. */
export interface EdgeBus {
  /** Sends a call to the provider; `cancelled` aborted (its caller gave up) cancels it there too. */
  call(call: BusCall, cancelled?: AbortSignal): Promise<CallReply>;
  /** Asks the provider for a stream's lease (busLeases.ts), renewed until released. */
  lease(call: BusCall, events: LeaseEvents): Promise<LeaseReply>;
  release(id: string): void;
  /** The leases this edge holds. */
  leases(): number;
  findStart(stream: string, subject: string, after: FeedPosition): Promise<ReadStart>;
  findStartAt(stream: string, subject: string, atMs: number, snapshotEveryMs: number | undefined): Promise<TimeStart>;
  read(stream: string, subject: string, streamSeq: number, signal: AbortSignal): AsyncIterable<FeedMessage>;
  isConnected(): boolean;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 5_000;
const RECONNECT_WAIT_MS = 250;

/**
 * Connects an edge to the bus (BUS_URL), or fails with a BusUnavailableError naming BUS_URL and the
 * address: an edge without its bus has nothing to serve. Once started it reconnects forever; meanwhile its
 * calls fail UNAVAILABLE.
 */
export async function connectEdgeBus(settings: BusSettings, log: Logger, onConnection: (up: boolean) => void = () => undefined): Promise<EdgeBus> {
  const nc = await connectOrFail(settings, "ib-provider edge", "the edge role needs it");
  let connected = true;
  // Aborted when the connection is lost: calls awaiting an answer then fail UNAVAILABLE at once (an answer
  // sent meanwhile is lost), not DEADLINE_EXCEEDED at their deadline (60 s without one).
  let lost = new AbortController();
  let tails: FeedTails | undefined;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        connected = false;
        lost.abort();
        lost = new AbortController();
        log.warn({ bus: settings.url }, "the bus connection is lost: reconnecting; calls fail UNAVAILABLE meanwhile");
        onConnection(false);
      } else if (status.type === "reconnect") {
        connected = true;
        log.info({ bus: settings.url }, "the bus connection is back");
        tails?.reset();
        onConnection(true);
      }
    }
  })();
  const leases = new LeaseClient(nc, settings.subjectPrefix);
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: CONNECT_TIMEOUT_MS });
  } catch (err) {
    leases.close();
    await nc.close();
    throw new BusUnavailableError(`BUS_URL ${settings.url}: JetStream is not usable there (${err instanceof Error ? err.message : String(err)}); the bus must run JetStream (nats-server -js)`, { cause: err });
  }
  const js = jetstream(nc, { timeout: CONNECT_TIMEOUT_MS });
  // One consumer per feed for all of this edge's streams of it (feedTails.ts).
  tails = new FeedTails(js, jsm);
  const feedTails = tails;
  return {
    lease: (call, events) => (connected ? leases.open(call, events) : Promise.resolve({ ok: false, code: 14, message: `the bus (${settings.url}) is not reachable from this edge; retry` })),
    release: (id) => leases.release(id),
    leases: () => leases.size,
    findStart: (stream, subject, after) => findStart(jsm, stream, subject, after),
    findStartAt: (stream, subject, atMs, snapshotEveryMs) => findStartAt(js, jsm, stream, subject, atMs, snapshotEveryMs),
    read: (stream, subject, streamSeq, signal) => feedTails.read(stream, subject, streamSeq, signal),
    call: (call, cancelled) => (connected ? sendCall(nc, settings.subjectPrefix, call, { lost: lost.signal, ...(cancelled === undefined ? {} : { cancelled }) }) : Promise.resolve({ ok: false, code: 14, message: `the bus (${settings.url}) is not reachable from this edge; retry` })),
    isConnected: () => connected,
    close: () => {
      leases.close();
      feedTails.close();
      return nc.close();
    },
  };
}

async function connectOrFail(settings: BusSettings, name: string, why: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: [...settings.servers], name, timeout: CONNECT_TIMEOUT_MS, maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_WAIT_MS, noAsyncTraces: true, ...tlsOptionsOf(settings.servers) });
  } catch (err) {
    throw new BusUnavailableError(`BUS_URL ${settings.url}: cannot connect to the bus (${err instanceof Error ? err.message : String(err)}); ${why}`, { cause: err });
  }
}
