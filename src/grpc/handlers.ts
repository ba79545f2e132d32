import {
  status,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import type { Logger } from "../log/logger.js";
import { apiErrorFromAdapter } from "./adapterErrors.js";
import type { AccessLog } from "./accessLog.js";
import type { RecentErrors } from "./recentErrors.js";
import { ApiError, bounded, unavailable } from "./apiError.js";
import type { AbortReason, CallContext, CallRegistry } from "./callContext.js";
import { INTERNAL_ERROR, toServiceError } from "./statusDetails.js";
import type { EncodedMessage } from "./streamEncoding.js";
import type { StreamSettings } from "../stream/streamSettings.js";
import { checkStringFields } from "./requests/stringFields.js";
import { activeStreams, grpcRequestDuration, streamMessagesOut } from "../metrics/metrics.js";
import { streamKindOfMethod } from "../metrics/streamMetrics.js";
import { clientOf } from "./callClient.js";
import { lineQuotaExceeded, type StreamQuotas } from "./streamQuotas.js";
import { LineQuotaError } from "../ib/feeds/clientLines.js";
import { isLease, leaseMetadata } from "./leaseMetadata.js";
import type { FeedJoin } from "../stream/consumerOptions.js";

/**
 * Records a finished call: its duration (a stream's lifetime) with its final status code in the metrics,
 * and its access log line.
 */
function observe(method: string, startedMs: number, code: status, ctx: CallContext, deps: HandlerDeps, bytesOut: number, messages?: number, error?: ApiError): void {
  const ms = performance.now() - startedMs;
  const codeName = status[code] ?? String(code);
  grpcRequestDuration.observe({ method, code: codeName, client: ctx.client }, ms / 1000);
  if (error !== undefined && code === error.code) deps.recentErrors?.record(method, ctx.client, error);
  const { accessLog } = deps;
  if (accessLog?.enabled !== true) return;
  const forwarded = ctx.metadata.get("x-forwarded-for")[0];
  accessLog.write({
    protocol: "grpc",
    client: ctx.client,
    peer: ctx.peer,
    ...(typeof forwarded === "string" ? { forwardedFor: bounded(forwarded, 128) } : {}),
    method,
    status: codeName,
    ms,
    bytesOut,
    ...(messages === undefined ? {} : { messages }),
  });
}

/** A unary handler: a plain async function (nice-grpc style). */
/** A unary handler: its response, or the response already encoded (see acceptPreEncoded). */
export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res | EncodedMessage>;
/**
 * A server-stream handler: an async generator that stops when ctx.signal aborts. It may yield messages
 * already encoded (streamEncoding.ts), written as they are: the service must be registered through
 * acceptPreEncoded.
 */
export type ServerStreamHandler<Req, Res> = (request: Req, ctx: CallContext) => AsyncIterable<Res | EncodedMessage>;

export interface HandlerDeps {
  calls: CallRegistry;
  log: Logger;
  /** Drain wait and in-flight bound of every stream (the rest of the settings are the feeds'). */
  streams: Pick<StreamSettings, "maxDrainWaitMs" | "maxInFlightBytes">;
  /** One line per finished call (default: none). */
  accessLog?: AccessLog;
  /** The last failed calls with their reasons (default: not kept). */
  recentErrors?: RecentErrors;
  /** Open streams per client against their `streams` quota (default: not limited). */
  quotas?: StreamQuotas;
  /**
   * Authentication is on: every call must carry the client the auth interceptor resolved, and one that
   * does not is refused (callClient.ts clientOf). Default false: every call is `anonymous`.
   */
  authenticated?: boolean;
  /**
   * The provider role's secret for its own lease streams (`ibp-lease` metadata, sent only by its bus code
   * over loopback): a stream carrying it is an edge's lease (CallContext.lease). Undefined: no leases.
   */
  leaseSecret?: string;
}

const SHUTTING_DOWN = unavailable("server is shutting down; reconnect to another instance or retry", "SHUTTING_DOWN");

/** The call's context, and the error to refuse it with when its client is unknown (clientOf: fail closed). */
function contextFor(
  method: string,
  call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
  controller: AbortController,
  deps: HandlerDeps,
): { ctx: CallContext; refused: ApiError | undefined } {
  const client = clientOf(call.metadata, deps.authenticated ?? false);
  const ctx: CallContext = {
    method,
    signal: controller.signal,
    metadata: call.metadata,
    peer: call.getPeer(),
    client: client instanceof ApiError ? UNRESOLVED_CLIENT_LABEL : client,
    log: deps.log.child({ method }),
    fail: (error) => controller.abort(error satisfies AbortReason),
  };
  if (client instanceof ApiError) ctx.log.error({ peer: ctx.peer }, "a call reached its handler without the client its authentication resolved; refused (fail closed)");
  if (deps.leaseSecret !== undefined && "write" in call && isLease(call.metadata, deps.leaseSecret)) {
    const lease = { joined: (join: FeedJoin) => call.sendMetadata(leaseMetadata(join)) };
    return { ctx: { ...ctx, lease }, refused: client instanceof ApiError ? client : undefined };
  }
  return { ctx, refused: client instanceof ApiError ? client : undefined };
}

/** The client name a refused call is logged and measured under (not a valid client name: it cannot collide). */
const UNRESOLVED_CLIENT_LABEL = "(unresolved)";

/** Maps anything thrown to what the caller sees; unexpected errors are logged and become a bare INTERNAL. */
function errorFor(err: unknown, ctx: CallContext): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof LineQuotaError) return lineQuotaExceeded(err);
  const fromAdapter = apiErrorFromAdapter(err);
  if (fromAdapter !== undefined) return fromAdapter;
  ctx.log.error({ err }, "handler failed");
  return INTERNAL_ERROR;
}

/** `responseSize` measures a response for the access log (only called when a line will be written). */
export function unary<Req, Res>(method: string, handler: UnaryHandler<Req, Res>, deps: HandlerDeps, responseSize?: (response: Res | EncodedMessage) => number): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const startedMs = performance.now();
    const controller = deps.calls.register("unary");
    const { ctx, refused } = contextFor(method, call, controller, deps);
    if (refused !== undefined) {
      callback(toServiceError(refused));
      observe(method, startedMs, refused.code, ctx, deps, 0, undefined, refused);
      deps.calls.release(controller);
      return;
    }
    const onCancel = () => controller.abort("cancelled");
    call.once("cancelled", onCancel);
    // Bounded before any work: no handler, IB request or log line sees an oversized string.
    const handled = (async () => {
      checkStringFields(call.request);
      return handler(call.request, ctx);
    })();
    handled.then(
      (response) => {
        // An EncodedMessage goes through the definition's pass-through serialiser (acceptPreEncoded).
        callback(null, response as Res);
        observe(method, startedMs, status.OK, ctx, deps, deps.accessLog?.enabled === true && responseSize !== undefined ? responseSize(response) : 0);
      },
      (err: unknown) => {
        const apiError = controller.signal.reason === "shutdown" ? SHUTTING_DOWN : errorFor(err, ctx);
        callback(toServiceError(apiError));
        observe(method, startedMs, controller.signal.reason === "cancelled" ? status.CANCELLED : apiError.code, ctx, deps, 0, undefined, apiError);
      },
    ).finally(() => {
      // As a stream's: the signal aborts when the call ends, so what the call started and no longer needs is
      // withdrawn (a GetCandles failing on one missing range leaves the others' history requests queued).
      if (!controller.signal.aborted) controller.abort();
      call.off("cancelled", onCancel);
      deps.calls.release(controller);
    });
  };
}

/**
 * Runs an async generator as a grpc-js server stream. Honours backpressure: after write() returns false
 * it waits for 'drain', raced against cancellation (after a cancel the drain never comes). On shutdown the
 * stream ends with UNAVAILABLE "server is shutting down" so clients know to reconnect; on client cancel the
 * generator is finalised (its finally blocks run) and nothing more is sent.
 */
export function serverStream<Req, Res>(
  method: string,
  handler: ServerStreamHandler<Req, Res>,
  deps: HandlerDeps,
  responseSize?: (response: Res) => number,
): handleServerStreamingCall<Req, Res> {
  const kind = streamKindOfMethod(method) ?? "other";
  return (call) => {
    const startedMs = performance.now();
    const controller = deps.calls.register("stream");
    const { ctx, refused } = contextFor(method, call, controller, deps);
    // Health Watch streams have their own per-connection and total limits (HealthWatchLimits).
    const releaseQuota = refused ?? (kind === "health" || deps.quotas === undefined ? () => undefined : deps.quotas.acquire(ctx.client));
    if (releaseQuota instanceof ApiError) {
      call.emit("error", toServiceError(releaseQuota));
      observe(method, startedMs, releaseQuota.code, ctx, deps, 0, 0, releaseQuota);
      deps.calls.release(controller);
      return;
    }
    // Label children resolved once per call: per-message metric updates must not hash label sets.
    const messagesOut = streamMessagesOut.labels(kind, ctx.client);
    const open = activeStreams.labels(kind, ctx.client);
    const onCancel = () => controller.abort("cancelled");
    call.once("cancelled", onCancel);
    open.inc();
    let finalCode: status = status.OK;
    let finalError: ApiError | undefined;
    const inFlight = new InFlight(deps.streams.maxInFlightBytes);
    let bytesOut = 0;
    let messages = 0;

    const run = async () => {
      checkStringFields(call.request);
      const iterator = handler(call.request, ctx)[Symbol.asyncIterator]();
      try {
        while (!controller.signal.aborted) {
          const next = await iterator.next();
          if (next.done || controller.signal.aborted) break;
          // An EncodedMessage goes through the definition's pass-through serialiser (acceptPreEncoded).
          messagesOut.inc();
          const size = Buffer.isBuffer(next.value) ? next.value.length : 0;
          messages++;
          // Messages not pre-encoded (health) are measured only when a line will be written.
          bytesOut += Buffer.isBuffer(next.value) || responseSize === undefined || deps.accessLog?.enabled !== true ? size : responseSize(next.value as Res);
          const sent = inFlight.track(size);
          const accepted = call.write(next.value as Res, sent);
          if ((!accepted || inFlight.full) && !(await inFlight.room(call, controller.signal, deps.streams.maxDrainWaitMs))) {
            throw CLIENT_NOT_READING;
          }
        }
      } finally {
        // Finalise the generator (runs its finally: unsubscribe, release IB lines).
        await iterator.return?.();
      }
    };

    run().then(
      () => {
        const reason = controller.signal.reason as AbortReason | undefined;
        if (reason === "cancelled") {
          finalCode = status.CANCELLED;
          return;
        }
        const apiError = reason === "shutdown" ? SHUTTING_DOWN : reason instanceof Error ? errorFor(reason, ctx) : undefined;
        if (apiError === undefined) call.end();
        else {
          finalCode = apiError.code;
          finalError = apiError;
          call.emit("error", toServiceError(apiError));
        }
      },
      (err: unknown) => {
        const reason = controller.signal.reason as AbortReason | undefined;
        if (reason === "cancelled") {
          finalCode = status.CANCELLED;
          return;
        }
        const apiError = reason === "shutdown" ? SHUTTING_DOWN : errorFor(reason instanceof Error ? reason : err, ctx);
        finalCode = apiError.code;
        finalError = apiError;
        call.emit("error", toServiceError(apiError));
      },
    ).finally(() => {
      // The call's signal aborts when the call ends, whatever ended it (a feed's error too): what the
      // adapter holds for the call (its client's IB line charges) is given back on it.
      if (!controller.signal.aborted) controller.abort();
      open.dec();
      releaseQuota();
      observe(method, startedMs, finalCode, ctx, deps, bytesOut, messages, finalError);
      call.off("cancelled", onCancel);
      deps.calls.release(controller);
    });
  };
}

/**
 * The bytes of a stream's messages not yet handed to HTTP/2. grpc-js accepts up to 16 messages per call
 * before write() says "wait" — with 256 KiB messages, 4 MiB per lagging stream — so a stream also waits
 * while more than `maxBytes` are pending (StreamSettings.maxInFlightBytes).
 */
class InFlight {
  private bytes = 0;
  private onRoom: (() => void) | undefined;

  constructor(private readonly maxBytes: number) {}

  get full(): boolean {
    return this.bytes > this.maxBytes;
  }

  /** Counts a message; the returned callback is its write callback. */
  track(size: number): () => void {
    this.bytes += size;
    return () => {
      this.bytes -= size;
      if (!this.full) this.onRoom?.();
    };
  }

  /**
   * Waits until the call drains and the pending bytes are under the bound, or the call ends, or at most
   * `maxWaitMs` (false: a client that keeps its stream open without reading would otherwise hold it).
   */
  room(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal, maxWaitMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let drained = call.writableNeedDrain !== true;
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        call.off("drain", onDrain);
        signal.removeEventListener("abort", onAbort);
        this.onRoom = undefined;
        resolve(ok);
      };
      const check = () => {
        if (drained && !this.full) finish(true);
      };
      const onDrain = () => {
        drained = true;
        check();
      };
      const onAbort = () => finish(true);
      const timer = setTimeout(() => finish(false), maxWaitMs);
      call.on("drain", onDrain);
      signal.addEventListener("abort", onAbort, { once: true });
      this.onRoom = check;
      check();
    });
  }
}

export const CLIENT_NOT_READING = new ApiError(status.RESOURCE_EXHAUSTED, "the client has not read from this stream for too long; closing it", "CLIENT_NOT_READING");
