import { Metadata, type StatusObject } from "@grpc/grpc-js";
import type { LeaseEnd, LeaseJoin, LeaseOpened } from "../bus/busLeases.js";
import type { BusCall } from "../bus/busRpc.js";
import { LEASE_HEADERS, leaseJoinOf } from "../grpc/leaseMetadata.js";
import type { RpcChannel } from "../rest/rpcChannel.js";
import { isFeedStream } from "../grpc/streamRequests.js";
import { FORWARDED_HEADERS } from "./providerCalls.js";

const STATUS_DETAILS = "grpc-status-details-bin";

/**
 * The provider's side of an edge's stream: the stream opened on the provider's own gRPC server with the
 * edge client's headers and request (so auth, validation, quotas, IB lines and errors are exactly a direct
 * client's) as a lease holder (`ibp-lease`: the process's secret). Its initial metadata names where the
 * feed's rows continue, its first message is the join (the events a joiner gets); then it is quiet until it
 * ends — the feed failed, the provider stops — or the lease is cancelled.
 */
export function providerLeases(
  channel: RpcChannel,
  secret: string,
  /** A running feed's subject and JetStream stream (BusPublisher.addressOf). */
  addressOf: (key: string) => { subject: string; stream: string } | undefined,
): (call: BusCall) => Promise<LeaseOpened> {
  return (call) => {
    // Only the feeds' streams: another stream (a backfill) would run here for an edge that cannot serve it.
    if (!isFeedStream(call.method)) return Promise.resolve({ ok: false, code: 12, message: `${call.method.slice(0, 120)} is not a feed stream of this service` });
    const metadata = new Metadata();
    for (const name of FORWARDED_HEADERS) {
      const value = call.headers[name];
      if (value !== undefined) metadata.set(name, value);
    }
    metadata.set(LEASE_HEADERS.secret, secret);
    const stream = channel.serverStream(call.method, Buffer.from(call.body), metadata, {});
    let resolveEnded: (end: LeaseEnd) => void = () => undefined;
    const ended = new Promise<LeaseEnd>((resolve) => (resolveEnded = resolve));
    // Every end, an error or not, comes as a status; 'error' is listened to so that it is never unhandled.
    stream.on("error", () => undefined);
    stream.on("status", (status: StatusObject) => resolveEnded(endOf(status)));
    return new Promise<LeaseOpened>((resolve) => {
      let join: LeaseJoin | undefined;
      let failure: string | undefined;
      stream.once("metadata", (md: Metadata) => {
        const at = leaseJoinOf(md);
        if (at === undefined) return;
        const address = addressOf(at.key);
        if (address === undefined) failure = "the feed's rows cannot be named on the bus yet (the provider's IB account is not known)";
        else join = { ...address, symbol: at.symbol, epoch: at.epoch, after: at.after };
      });
      stream.once("data", (bytes: Buffer) => {
        if (join === undefined) {
          stream.cancel();
          return resolve({ ok: false, code: 14, message: failure ?? "the provider's stream did not say where its feed continues" });
        }
        resolve({ ok: true, join, bytes, ended, cancel: () => stream.cancel() });
      });
      void ended.then((end) => resolve({ ok: false, ...end }));
    });
  };
}

function endOf(status: StatusObject): LeaseEnd {
  if (status.code === 0) return { code: 0, message: "the stream ended at the provider" };
  const details = status.metadata.get(STATUS_DETAILS)[0];
  return { code: status.code, message: status.details, ...(Buffer.isBuffer(details) ? { details } : {}) };
}
