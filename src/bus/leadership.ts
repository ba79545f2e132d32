import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, StorageType } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { millis, nanos, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "../log/logger.js";
import type { BusSettings } from "./busSettings.js";
import { notClusteredProblem, replicasProblemOf } from "./busStreams.js";
import { BusUnavailableError } from "./busUnavailableError.js";

/**
 * One provider per IB account (per BUS_SUBJECT_PREFIX), and a standby beside it: whoever holds the prefix's
 * leader lease connects to IB and serves; another provider of the prefix waits until the lease is free.
 *
 * The lease is a JetStream KV key (bucket `<prefix>_leader`, key `provider`, the bucket's max age the TTL):
 * created only if absent (or deleted), then rewritten every `renewMs` with the revision last written, so a
 * lease another process wrote is noticed at once. A leader that dies stops rewriting it and JetStream drops
 * it `ttlMs` after its last write; a standby (polling every `renewMs`, and hearing a release at once) then
 * creates it. A leader that cannot renew for `ttlMs` (partitioned from the bus) must assume a standby holds
 * it now: `onLost` — the caller stops its IB connection and exits. A clean stop deletes the key (`release`).
 */
export interface Leadership {
  /** This process's id in the lease (host/pid/random). */
  readonly instance: string;
  /** Whether this process holds the lease now (false once lost or released). */
  isLeader(): boolean;
  /** Stops renewing and deletes the key (only if still this process's), so a standby takes over at once. */
  release(): Promise<void>;
}

export interface LeadershipOptions {
  /** How long the lease outlives its last renewal (default: settings.leaderTtlMs). */
  ttlMs?: number;
  /** How often the leader renews and a standby tries (default: a fifth of the TTL). */
  renewMs?: number;
  /** Called once when the lease is lost while leading (renewals failing for the TTL, or another holder). */
  onLost: (reason: string) => void;
  /** Stops waiting as standby: acquireLeadership rejects. */
  signal?: AbortSignal;
  /** This process's id in the lease (default: host/pid/random). */
  instance?: string;
}

/** What the lease's value says (JSON), for whoever looks (`nats kv get <prefix>_leader provider`). */
interface Holder {
  instance: string;
  host: string;
  pid: number;
  since: string;
}

export const LEADER_KEY = "provider";

/** The KV bucket holding a prefix's leader lease (its stream: KV_<bucket>). */
export function leaderBucketOf(subjectPrefix: string): string {
  return `${subjectPrefix}_leader`;
}

/** The renewal period for a TTL when none is given: five renewals per TTL, at least 100 ms apart. */
export function renewEveryFor(ttlMs: number): number {
  return Math.max(100, Math.round(ttlMs / 5));
}

/**
 * Resolves once this process leads `settings.subjectPrefix` (at once if nobody does); until then it waits
 * as standby, logging that once. Rejects if the connection closes or `signal` aborts while waiting.
 */
export async function acquireLeadership(nc: NatsConnection, settings: Pick<BusSettings, "subjectPrefix" | "leaderTtlMs" | "replicas">, log: Logger, options: LeadershipOptions): Promise<Leadership> {
  const ttlMs = options.ttlMs ?? settings.leaderTtlMs;
  const renewMs = options.renewMs ?? renewEveryFor(ttlMs);
  if (!(renewMs < ttlMs)) throw new Error(`the leader lease's renewal (${renewMs} ms) must come sooner than its TTL (${ttlMs} ms)`);
  const prefix = settings.subjectPrefix;
  const bucket = leaderBucketOf(prefix);
  const instance = options.instance ?? `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;
  const holder: Holder = { instance, host: hostname(), pid: process.pid, since: "" };
  const kv = await openBucket(nc, bucket, ttlMs, settings.replicas, log);

  // A release (a delete marker on the key's subject) wakes a standby at once; an expiry is only seen by polling.
  let wake: (() => void) | undefined;
  /** A release heard while trying (not waiting): the next wait is skipped. */
  let heard = false;
  let released: Subscription | undefined;
  const onRelease = () => {
    heard = true;
    wake?.();
  };
  const wait = () =>
    new Promise<void>((resolve) => {
      if (heard) {
        heard = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, renewMs);
      function done() {
        heard = false;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      }
      wake = done;
      options.signal?.addEventListener("abort", done);
    });

  let revision: number;
  let acquiredSentAt: number;
  let standbyLogged = false;
  let problemLogged = false;
  try {
    for (;;) {
      if (options.signal?.aborted) throw new Error(`stopped while waiting as standby for ${prefix}'s leader lease`);
      if (nc.isClosed()) throw new Error(`the bus connection closed while waiting as standby for ${prefix}'s leader lease`);
      const sentAt = performance.now();
      try {
        holder.since = new Date().toISOString();
        revision = await kv.create(LEADER_KEY, JSON.stringify(holder));
        acquiredSentAt = sentAt;
        break;
      } catch (err) {
        if (isWrongLastSequence(err)) {
          if (!standbyLogged) {
            standbyLogged = true;
            released ??= nc.subscribe(`$KV.${bucket}.${LEADER_KEY}`, { callback: (_e, m) => (m.headers?.get("KV-Operation") ? onRelease() : undefined) });
            const leader = await currentHolder(kv).catch(() => undefined);
            log.info({ subjectPrefix: prefix, leader: leader?.instance, leaderHost: leader?.host, instance, ttlMs }, `another provider leads ${prefix}: waiting as standby (no IB connection, no port listened on) until its lease lapses`);
          }
        } else if (!problemLogged) {
          problemLogged = true;
          log.warn({ err, subjectPrefix: prefix }, "the leader lease cannot be read or written now: trying again");
        }
      }
      await wait();
    }
  } finally {
    released?.unsubscribe();
  }
  log.info({ subjectPrefix: prefix, instance, ttlMs, renewMs, tookOver: standbyLogged }, standbyLogged ? `this provider leads ${prefix} now (the previous leader's lease lapsed or was released)` : `this provider leads ${prefix}`);

  let leading = true;
  let lastOkSentAt = acquiredSentAt!;
  let renewing = false;
  const lose = (reason: string) => {
    if (!leading) return;
    leading = false;
    clearInterval(timer);
    clearTimeout(deadline);
    options.onLost(reason);
  };
  // Renewals failing for the TTL: JetStream drops the lease no sooner than the TTL after the last renewal was
  // sent (if the bus is up) and a standby may take it then, so this process stops leading at that moment exactly.
  let deadline: NodeJS.Timeout | undefined;
  const armDeadline = () => {
    clearTimeout(deadline);
    deadline = setTimeout(
      () => lose(`the leader lease of ${prefix} could not be renewed for ${ttlMs} ms (the bus unreachable, or this process stalled): another provider may lead now`),
      Math.max(0, ttlMs - (performance.now() - lastOkSentAt)),
    );
  };
  armDeadline();
  const renew = async () => {
    if (!leading || renewing || nc.isClosed()) return;
    renewing = true;
    const sentAt = performance.now();
    try {
      revision = await kv.update(LEADER_KEY, JSON.stringify(holder), revision, Math.max(100, Math.min(renewMs, ttlMs - (sentAt - lastOkSentAt))));
      if (!leading) return;
      lastOkSentAt = sentAt;
      armDeadline();
    } catch (err) {
      if (leading && isWrongLastSequence(err)) {
        // A renewal written whose answer was lost leaves the key ours at a later revision (renewed from it at the
        // next turn; when it was written is not known, so the deadline stays); anyone else's, or none: lost.
        // (Not read now: tried again at the next renewal, lost at the deadline as any failure.)
        const now = await currentHolderEntry(kv).then(
          (entry) => ({ entry }),
          () => undefined,
        );
        if (!leading) return;
        if (now?.entry?.holder?.instance === instance) {
          revision = now.entry.revision;
        } else if (now !== undefined) {
          lose(`the leader lease of ${prefix} is ${now.entry?.holder === undefined ? "gone (deleted or lapsed)" : `held by ${now.entry.holder.instance}`} now: another provider may lead`);
        }
      }
    } finally {
      renewing = false;
    }
  };
  const timer = setInterval(() => void renew(), renewMs);

  return {
    instance,
    isLeader: () => leading,
    release: async () => {
      if (!leading) return;
      leading = false;
      clearInterval(timer);
      clearTimeout(deadline);
      if (nc.isClosed()) return;
      try {
        // Only the revision this process wrote: a lease someone else holds is not ours to delete.
        await kv.delete(LEADER_KEY, { previousSeq: revision });
        log.info({ subjectPrefix: prefix, instance }, "the leader lease is released: a standby takes over at once");
      } catch (err) {
        log.warn({ err, subjectPrefix: prefix }, "the leader lease could not be released: a standby takes over once it lapses");
      }
    },
  };
}

/**
 * The prefix's lease bucket, created if absent; an existing one brought to this TTL (a changed BUS_LEADER_TTL_MS)
 * and to BUS_REPLICAS copies (JetStream adds or drops them under a running lease: the leader renews on).
 */
async function openBucket(nc: NatsConnection, bucket: string, ttlMs: number, replicas: number, log: Logger): Promise<KV> {
  const stream = `KV_${bucket}`;
  let kv: KV;
  try {
    kv = await new Kvm(nc).create(bucket, { ttl: ttlMs, history: 1, storage: StorageType.File, replicas, description: "ib-provider: the provider leading this prefix (its lease)" });
  } catch (err) {
    throw replicasProblemOf(err, replicas, stream) ?? err;
  }
  const manager = await jetstreamManager(nc);
  const info = await manager.streams.info(stream);
  // As the feeds' streams (busStreams.ts): a single nats-server would take 3 replicas of an existing bucket silently.
  if (replicas > 1 && info.cluster === undefined) throw notClusteredProblem(replicas);
  const ttlChanged = millis(info.config.max_age) !== ttlMs;
  if (ttlChanged) {
    // Changed under a leader, its lease would lapse on another schedule than the one it renews on (a shorter TTL:
    // before its own deadline, and a standby would take it while it still holds IB): refused while one leads.
    const holder = await currentHolder(kv);
    if (holder !== undefined) {
      throw new BusUnavailableError(
        `BUS_LEADER_TTL_MS ${ttlMs} differs from the leading provider's (${millis(info.config.max_age)} ms, ${holder.instance}): every provider of the prefix needs the same; change it while none leads (stop the leader first)`,
      );
    }
    log.warn({ bucket, was: millis(info.config.max_age), ttlMs }, "the leader lease's TTL differs from the bucket's: the bucket is updated (every provider of the prefix should have the same BUS_LEADER_TTL_MS)");
  }
  if (info.config.num_replicas !== replicas) {
    log.warn({ bucket, was: info.config.num_replicas, replicas }, "the leader lease's bucket has another number of replicas: it is updated (every provider of the prefix should have the same BUS_REPLICAS)");
  }
  if (ttlChanged || info.config.num_replicas !== replicas) {
    try {
      await manager.streams.update(stream, { ...info.config, max_age: nanos(ttlMs), duplicate_window: Math.min(info.config.duplicate_window, nanos(ttlMs)), num_replicas: replicas });
    } catch (err) {
      throw replicasProblemOf(err, replicas, stream) ?? err;
    }
  }
  return kv;
}

async function currentHolderEntry(kv: KV): Promise<{ revision: number; holder: Holder | undefined } | undefined> {
  const entry = await kv.get(LEADER_KEY);
  if (entry === null) return undefined;
  if (entry.operation !== "PUT") return { revision: entry.revision, holder: undefined };
  try {
    return { revision: entry.revision, holder: JSON.parse(entry.string()) as Holder };
  } catch {
    return { revision: entry.revision, holder: undefined };
  }
}

async function currentHolder(kv: KV): Promise<Holder | undefined> {
  return (await currentHolderEntry(kv))?.holder;
}

function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}
