import { readFileSync } from "node:fs";
import { Metadata, Server, ServerCredentials, status, type handleServerStreamingCall, type handleUnaryCall, type ServerErrorResponse } from "@grpc/grpc-js";
import type { BusCall, CallReply } from "../bus/busRpc.js";
import { AccessLog } from "../grpc/accessLog.js";
import { unavailable } from "../grpc/apiError.js";
import type { TokenAuthenticator } from "../grpc/auth.js";
import { authInterceptor } from "../grpc/authInterceptor.js";
import { clientOf } from "../grpc/callClient.js";
import type { Logger } from "../log/logger.js";
import { grpcRequestDuration } from "../metrics/metrics.js";
import { HealthService } from "../../gen/grpc/health/v1/health.js";
import { CallRegistry } from "../grpc/callContext.js";
import { bindService } from "../grpc/serviceBinding.js";
import { HealthChecks } from "../grpc/services/healthChecks.js";
import { DEFAULT_STREAM_SETTINGS } from "../stream/streamSettings.js";
import { toServiceError } from "../grpc/statusDetails.js";
import { notServedAtEdge } from "./callableMethods.js";
import { FORWARDED_HEADERS } from "./providerCalls.js";
import { EdgeStream, errorEnd, type EdgeFeeds, type EdgeStreamSettings, type StreamEnd } from "./edgeStreams.js";

export interface EdgeGrpcServerOptions {
  host: string;
  port: number;
  auth: TokenAuthenticator;
  log: Logger;
  tls?: { certFile: string; keyFile: string } | undefined;
  accessLog?: boolean;
  /** Our API's methods by gRPC path (apiMethods); those not `atEdge` are answered NOT_SERVED_AT_EDGE. */
  methods: ReadonlyMap<string, { streaming: boolean; atEdge: boolean }>;
  /** Sends a call to the provider over the bus; `cancelled` aborts when the caller cancels it (the provider cancels it too). */
  forward(call: BusCall, cancelled: AbortSignal): Promise<CallReply>;
  /** Streams: leases from the provider, rows from JetStream (edgeStreams.ts). */
  feeds: EdgeFeeds;
  /** Heartbeats and STALE statuses of the edge's streams (the service's STREAM_* settings). */
  streamSettings: EdgeStreamSettings;
}

const identity = (bytes: Buffer): Buffer => bytes;


/**
 * The edge's gRPC server: every method of our API, with no IB connection behind it. The token is checked
 * here first (the same authenticator and interceptor as the provider's), then a unary call goes to the
 * provider over the bus with the caller's token, request bytes and deadline, and its answer (bytes, or the
 * status with its google.rpc.Status details: the same reasons as at the provider) comes back as it is.
 */
export class EdgeGrpcServer {
  private readonly server: Server;
  private readonly accessLog: AccessLog;
  private boundPort: number | undefined;

  /** grpc.health.v1 at the edge: our services SERVING while its bus is up (the provider's own health is the provider's). */
  readonly health: HealthChecks;
  private readonly calls = new CallRegistry();
  /** The streams being served (told when the bus goes away and comes back). */
  private readonly streams = new Set<EdgeStream>();

  constructor(private readonly options: EdgeGrpcServerOptions) {
    this.accessLog = new AccessLog(options.log, options.accessLog);
    this.server = new Server({ interceptors: [authInterceptor(options.auth, this.accessLog)] });
    // The services it serves (one not served at an edge: Check says NOT_FOUND, as for an unknown service).
    this.health = new HealthChecks([...new Set([...options.methods].filter(([, m]) => m.atEdge).map(([path]) => path.split("/")[1]!))]);
    this.server.addService(...bindService(HealthService, this.health, { calls: this.calls, log: options.log, streams: DEFAULT_STREAM_SETTINGS, accessLog: this.accessLog, authenticated: options.auth.enabled }));
    for (const [path, { streaming, atEdge }] of options.methods) {
      if (streaming) this.server.register(path, this.stream(path), identity, identity, "serverStream");
      else this.server.register(path, this.unary(path, atEdge), identity, identity, "unary");
    }
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error("edge gRPC server not started");
    return this.boundPort;
  }

  /**
   * The edge's bus connection went away or came back: its streams' clients hear it (RECONNECTING, then
   * LIVE: JetStream keeps what was published meanwhile, and each stream continues where it was).
   */
  busConnection(up: boolean): void {
    const [kind, message] = up
      ? (["live", "the edge's bus connection is back: events continue from where they stopped"] as const)
      : (["reconnecting", "the edge's bus connection is lost: reconnecting; events continue from where they stopped once it is back"] as const);
    for (const stream of this.streams) stream.tell(kind, message);
  }

  async start(): Promise<number> {
    const { tls, host, port } = this.options;
    const credentials = tls === undefined ? ServerCredentials.createInsecure() : ServerCredentials.createSsl(null, [{ private_key: readFileSync(tls.keyFile), cert_chain: readFileSync(tls.certFile) }]);
    const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) => this.server.bindAsync(target, credentials, (err, bound) => (err ? reject(err) : resolve(bound))));
    return this.boundPort;
  }

  async stop(graceMs: number): Promise<void> {
    // Health Watch streams hear NOT_SERVING, then end: they would hold the shutdown for its whole grace.
    this.health.setAllNotServing();
    await new Promise((resolve) => setTimeout(resolve, 10));
    this.calls.abortAll("stream");
    const drained = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    const timer = setTimeout(() => this.server.forceShutdown(), graceMs);
    await drained;
    clearTimeout(timer);
  }

  private unary(path: string, atEdge: boolean): handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      const headers = forwardedHeaders(call);
      const deadline = call.getDeadline();
      const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : Number.POSITIVE_INFINITY;
      // No deadline: none at the provider either (the bus bounds its own wait, then cancels the call there).
      const timeoutMs = Number.isFinite(deadlineMs) ? Math.max(1, deadlineMs - Date.now()) : undefined;
      const startedMs = performance.now();
      // The edge's own access line and latency metric (the interceptor writes only the refused ones): who called it, and how it ended.
      const logged = (code: status, bytesOut: number) => {
        const resolved = clientOf(call.metadata, this.options.auth.enabled);
        const client = typeof resolved === "string" ? resolved : "(unresolved)";
        const method = path.slice(1).replace("/", ".");
        const codeName = status[code] ?? String(code);
        grpcRequestDuration.observe({ method, code: codeName, client }, (performance.now() - startedMs) / 1000);
        if (!this.accessLog.enabled) return;
        const forwardedFor = call.metadata.get("x-forwarded-for")[0];
        this.accessLog.write({
          protocol: "grpc",
          client,
          peer: call.getPeer(),
          ...(typeof forwardedFor === "string" ? { forwardedFor: forwardedFor.slice(0, 128) } : {}),
          method,
          status: codeName,
          ms: performance.now() - startedMs,
          bytesOut,
        });
      };
      // Not relayed to the provider (SERVICES_NOT_AT_EDGE); a stream of such a service is refused by its EdgeStream.
      if (!atEdge) {
        callback(toServiceError(notServedAtEdge(path)));
        logged(status.UNIMPLEMENTED, 0);
        return;
      }
      const cancelled = new AbortController();
      call.once("cancelled", () => cancelled.abort());
      this.options.forward({ method: path, headers, body: call.request, timeoutMs }, cancelled.signal).then(
        (reply) => {
          if (reply.ok) callback(null, Buffer.from(reply.body));
          else callback(serviceErrorOf(reply));
          logged(reply.ok ? status.OK : reply.code, reply.ok ? reply.body.length : 0);
        },
        (err: unknown) => {
          this.options.log.error({ err, method: path }, "a call to the provider over the bus failed");
          callback({ code: status.UNAVAILABLE, details: "the provider could not be reached over the bus; retry" });
          logged(status.UNAVAILABLE, 0);
        },
      );
    };
  }

  private stream(path: string): handleServerStreamingCall<Buffer, Buffer> {
    return (call) => {
      const controller = this.calls.register("stream");
      const stopping = () => stream.stop(SHUTTING_DOWN);
      const end = (ended: StreamEnd | undefined) => {
        this.streams.delete(stream);
        controller.signal.removeEventListener("abort", stopping);
        this.calls.release(controller);
        if (ended === undefined) return; // cancelled by its client
        if (!("message" in ended) || ended.code === 0) call.end();
        else call.emit("error", serviceErrorOf({ ok: false, ...ended }));
      };
      const stream = new EdgeStream(call, { method: path, headers: forwardedHeaders(call), body: call.request }, this.options.feeds, this.options.streamSettings, this.options.log, end);
      // The server stops: the stream ends UNAVAILABLE, as the provider's do (clients resume at another edge).
      if (controller.signal.aborted) return stopping();
      controller.signal.addEventListener("abort", stopping, { once: true });
      this.streams.add(stream);
      void stream.run();
    };
  }
}

const SHUTTING_DOWN = errorEnd(unavailable("server is shutting down; reconnect to another instance or retry", "SHUTTING_DOWN"));

/** The caller's headers the provider is given, and who called the edge: the chain of addresses, the edge's own peer last. */
function forwardedHeaders(call: { metadata: Metadata; getPeer(): string }): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = call.metadata.get(name)[0];
    if (typeof value === "string") headers[name] = value;
  }
  headers["x-forwarded-for"] = headers["x-forwarded-for"] === undefined ? call.getPeer() : `${headers["x-forwarded-for"]}, ${call.getPeer()}`;
  return headers;
}

function serviceErrorOf(reply: Extract<CallReply, { ok: false }>): ServerErrorResponse {
  const metadata = new Metadata();
  if (reply.details !== undefined) metadata.set("grpc-status-details-bin", Buffer.from(reply.details));
  return Object.assign(new Error(reply.message), { code: reply.code, details: reply.message, metadata });
}
