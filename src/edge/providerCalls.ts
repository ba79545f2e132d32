import { Metadata } from "@grpc/grpc-js";
import type { BusCall, CallReply } from "../bus/busRpc.js";
import { isServiceError, type RpcChannel } from "../rest/rpcChannel.js";

/** The caller's headers an edge forwards (the provider checks the token again: it stays the authority). */
export const FORWARDED_HEADERS = ["authorization", "x-api-token", "x-forwarded-for"] as const;

const STATUS_DETAILS = "grpc-status-details-bin";

/**
 * The provider's answer to an edge's call: the call made on the provider's own gRPC server (as the REST
 * bridge does: auth, validation, limits, IB pacing and errors are exactly the gRPC ones), its reply's bytes
 * or its status with the google.rpc.Status details (the reason) sent back as they are. Only our API's unary
 * methods; streams reach edges through JetStream, not as calls.
 */
export function providerCalls(channel: RpcChannel, unaryMethods: ReadonlySet<string>): (call: BusCall, cancelled?: AbortSignal) => Promise<CallReply> {
  return async (call, cancelled) => {
    if (!unaryMethods.has(call.method)) return { ok: false, code: 12, message: `${call.method.slice(0, 120)} is not a unary method of this service` };
    const metadata = new Metadata();
    for (const name of FORWARDED_HEADERS) {
      const value = call.headers[name];
      if (value !== undefined) metadata.set(name, value);
    }
    try {
      const made = channel.unary(call.method, Buffer.from(call.body), metadata, call.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + call.timeoutMs) });
      // The edge's caller gave up: the provider's handler is cancelled as a gRPC caller's would be (IB requests and pacing slots freed).
      const cancel = () => made.cancel();
      cancelled?.addEventListener("abort", cancel, { once: true });
      const body = await made.response.finally(() => cancelled?.removeEventListener("abort", cancel));
      return { ok: true, body };
    } catch (err) {
      if (!isServiceError(err)) throw err;
      const details = err.metadata?.get(STATUS_DETAILS)[0];
      return { ok: false, code: err.code, message: err.details, ...(Buffer.isBuffer(details) ? { details } : {}) };
    }
  };
}
