import { ServerInterceptingCall, ServerListenerBuilder, ResponderBuilder, type Metadata, type ServerInterceptor } from "@grpc/grpc-js";

/**
 * The caller's deadline (epoch ms), keyed by the call's metadata object as callClient.ts keys the client:
 * grpc-js consumes the grpc-timeout header before a handler sees the metadata, and a handler's signal only
 * says that the deadline has passed, not when it will. Calls that can tell at once that they would not
 * finish in time (a history call behind IB's pacing) read it here.
 */
const deadlines = new WeakMap<Metadata, number>();

/** Remembers each call's deadline for deadlineMsOf (calls without one are not recorded). */
export function deadlineInterceptor(): ServerInterceptor {
  return (_method, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const deadline = call.getDeadline();
        const ms = deadline instanceof Date ? deadline.getTime() : deadline;
        if (Number.isFinite(ms)) deadlines.set(metadata, ms);
        next(metadata);
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

/** The call's deadline in epoch ms, undefined when the caller set none. */
export function deadlineMsOf(metadata: Metadata): number | undefined {
  return deadlines.get(metadata);
}
