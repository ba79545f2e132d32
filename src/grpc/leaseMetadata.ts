import { timingSafeEqual } from "node:crypto";
import { Metadata } from "@grpc/grpc-js";
import type { FeedJoin } from "../stream/consumerOptions.js";

/**
 * The metadata of a lease stream (CallContext.lease): the provider's bus code opens an edge's stream on
 * its own gRPC server with the process's secret in `ibp-lease`; the stream's initial metadata says where
 * its feed's recorded rows continue (`ibp-feed`, `ibp-epoch`, `ibp-after` = `seq:sub`).
 */
export const LEASE_HEADERS = Object.freeze({ secret: "ibp-lease", feed: "ibp-feed", symbol: "ibp-symbol", epoch: "ibp-epoch", after: "ibp-after" });

/** Whether the call carries this process's lease secret (compared in constant time). */
export function isLease(metadata: Metadata, secret: string): boolean {
  const value = metadata.get(LEASE_HEADERS.secret)[0];
  if (typeof value !== "string") return false;
  const a = Buffer.from(value);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function leaseMetadata(join: FeedJoin): Metadata {
  const md = new Metadata();
  md.set(LEASE_HEADERS.feed, join.key);
  md.set(LEASE_HEADERS.symbol, encodeURIComponent(join.symbol));
  md.set(LEASE_HEADERS.epoch, String(join.epoch));
  md.set(LEASE_HEADERS.after, `${join.after.seq}:${join.after.sub}`);
  return md;
}

/** The join a lease stream's initial metadata names; undefined when it names none (not a feed stream). */
export function leaseJoinOf(md: Metadata): FeedJoin | undefined {
  const key = md.get(LEASE_HEADERS.feed)[0];
  const symbol = md.get(LEASE_HEADERS.symbol)[0];
  const epoch = Number(md.get(LEASE_HEADERS.epoch)[0]);
  const [seq, sub] = String(md.get(LEASE_HEADERS.after)[0] ?? "").split(":").map(Number);
  if (typeof key !== "string" || typeof symbol !== "string" || !Number.isSafeInteger(epoch) || !Number.isSafeInteger(seq) || !Number.isSafeInteger(sub)) return undefined;
  return { key, symbol: decodeURIComponent(symbol), epoch, after: { seq: seq!, sub: sub! } };
}
