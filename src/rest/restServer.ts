import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createFileRegistry, type JsonObject } from "@bufbuild/protobuf";
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { status as GrpcCode, type ChannelCredentials } from "@grpc/grpc-js";
import express, { type Express, type Request, type RequestHandler } from "express";
import { AccessLog } from "../grpc/accessLog.js";
import { ApiError, bounded, echo } from "../grpc/apiError.js";
import type { TokenAuthenticator } from "../grpc/auth.js";
import type { Logger } from "../log/logger.js";
import { httpRequestDuration, metricsRegistry } from "../metrics/metrics.js";
import { cors } from "./cors.js";
import { candlesCsvRenderer } from "./csvCandles.js";
import { docsRouter } from "./docsPage.js";
import { rpcRoutes, type RpcRoute } from "./httpRules.js";
import { openApiDocument, type OperationalRoute } from "./openApi.js";
import { RpcChannel } from "./rpcChannel.js";
import { answeredStatus, headerValue, HttpError, restErrorHandler, rpcGateway, sendStatus } from "./rpcGateway.js";
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from "../stream/streamSettings.js";
import { consoleRouter } from "./ui/consoleRouter.js";
import { ConsoleState } from "./ui/consoleState.js";
import { SharedStreams } from "./sharedStreams.js";
import { statusJsonOfApiError } from "./rpcStatus.js";

/**
 * The longest request target (path and query) the bridge reads. Our longest real one (candles with
 * from/to) is under 300 characters; a 15 KB path once reached the gRPC server as a 5,000-character
 * symbol. Beyond this: 414 before any routing.
 */
export const MAX_URL_CHARS = 4_096;

/** grpc-js's default receive limit: a body the gRPC server would refuse is refused here already. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface Readiness {
  ready: boolean;
  /** Shown in the /api/health/ready body (e.g. the Gateway's connection state). */
  detail: JsonObject;
}

export interface RestServerOptions {
  host: string;
  /** 0 = ephemeral (tests). */
  port: number;
  log: Logger;
  /** The compiled protos (routes, messages, comments): gen/ibprovider.binpb in the service. */
  descriptors: FileDescriptorSet;
  /** Where the gRPC server listens, and how to reach it (TLS when it serves TLS). */
  grpc: { target: string; credentials: ChannelCredentials; channelOptions?: Record<string, string | number> };
  /** The gRPC server's authenticator: guards /api/metrics, and RPC routes before their request is read. */
  auth: TokenAuthenticator;
  readiness: () => Readiness;
  tls?: { certFile: string; keyFile: string } | undefined;
  corsOrigins?: readonly string[];
  serviceVersion: string;
  startedAt: Date;
  maxBodyBytes?: number;
  /** Access log lines at info (ACCESS_LOG=on) instead of debug. */
  accessLog?: boolean;
  /** The streams' settings: a REST stream whose client stopped reading is closed after the gRPC drain wait and a margin. */
  streams?: Pick<StreamSettings, "maxDrainWaitMs">;
}

/** Beyond the gRPC drain wait: the gRPC side ends the call first (CLIENT_NOT_READING), then the socket goes. */
const STALLED_READER_MARGIN_MS = 10_000;

/** Forms besides JSON for some unary answers (responseRenderer.ts): the bridge knows them only by this list. */
const RENDERERS = [candlesCsvRenderer];

const OPERATIONAL_ROUTES: OperationalRoute[] = [
  { path: "/api/health/live", summary: "Liveness", description: "The process is up: `{status, timestamp, uptimeSec}`. No token.", contentType: "application/json", open: true },
  { path: "/api/health/ready", summary: "Readiness", description: "200 while the IB Gateway is connected, 503 otherwise. No token.", contentType: "application/json", open: true },
  { path: "/api/metrics", summary: "Prometheus metrics", description: "Prometheus text format. Needs the token when one is configured.", contentType: "text/plain", open: false },
  { path: "/api/docs-json", summary: "This OpenAPI document", description: "Generated from the protos' google.api.http rules and comments. No token.", contentType: "application/json", open: true },
];

/**
 * The REST bridge at :8081/api (express 5): every google.api.http route of the compiled protos, relayed to
 * the gRPC server as its client; health, Prometheus metrics and the OpenAPI document beside them.
 */
export class RestServer {
  readonly routes: readonly RpcRoute[];
  readonly openApi: JsonObject;
  /** The console's live views (/ui/live): streams shared by its clients, and its state frames. */
  readonly sharedStreams: SharedStreams;
  readonly consoleState: ConsoleState;
  private readonly channel: RpcChannel;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private boundPort: number | undefined;

  constructor(private readonly options: RestServerOptions) {
    const registry = createFileRegistry(options.descriptors);
    this.routes = rpcRoutes(registry);
    this.openApi = openApiDocument(
      this.routes,
      {
        title: "ib-provider",
        version: options.serviceVersion,
        description:
          "Interactive Brokers market data, accounts and symbols over REST: the gRPC API's google.api.http bindings, with grpc-gateway semantics (canonical proto3 JSON; errors as google.rpc.Status; streams as NDJSON or Server-Sent Events).",
      },
      OPERATIONAL_ROUTES,
      RENDERERS,
    );
    this.channel = new RpcChannel(options.grpc.target, options.grpc.credentials, options.grpc.channelOptions);
    const gateway = { routes: this.routes, registry, channel: this.channel, log: options.log, auth: options.auth, maxBodyBytes: this.maxBodyBytes, stalledReaderMs: (options.streams ?? DEFAULT_STREAM_SETTINGS).maxDrainWaitMs + STALLED_READER_MARGIN_MS, renderers: RENDERERS };
    this.sharedStreams = new SharedStreams({ log: options.log });
    this.consoleState = new ConsoleState({ routes: this.routes, registry, channel: this.channel, auth: options.auth, log: options.log });
    const app = this.buildApp(rpcGateway(gateway), rpcGateway({ ...gateway, shared: this.sharedStreams }));
    this.server =
      options.tls === undefined
        ? createHttpServer(app)
        : createHttpsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, app);
    // Slow-loris bounds for receiving a request; responses (streams) are not limited by these.
    this.server.headersTimeout = 20_000;
    this.server.requestTimeout = 60_000;
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  private get maxBodyBytes(): number {
    return this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error("REST server not started");
    return this.boundPort;
  }

  /** e.g. "http://127.0.0.1:8081". */
  get url(): string {
    const host = this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host;
    return `${this.options.tls === undefined ? "http" : "https"}://${host}:${this.port}`;
  }

  private buildApp(gateway: RequestHandler, sharedGateway: RequestHandler): Express {
    const app = express();
    app.disable("x-powered-by");
    app.set("etag", false);
    // Query strings are read per field by the binding (URLSearchParams), not by express.
    app.set("query parser", false);
    app.use(accessLogger(new AccessLog(this.options.log, this.options.accessLog), this.options.auth));
    app.use((_req, res, next) => {
      // Every answer is JSON, text or a stream of either: never let a browser sniff it into HTML.
      res.set("X-Content-Type-Options", "nosniff");
      next();
    });
    app.use(urlLengthLimit());
    if (!this.options.auth.enabled) app.use(loopbackHostsOnly(this.options.host));
    app.use(cors(this.options.corsOrigins ?? []));
    app.use(this.bodyLimit());

    const timed = (route: string, handler: RequestHandler): RequestHandler => (req, res, next) => {
      const started = performance.now();
      res.locals.route = route;
      res.once("close", () => httpRequestDuration.observe({ method: req.method, route, status: res.statusCode }, (performance.now() - started) / 1000));
      handler(req, res, next);
    };
    app.get("/api/health/live", timed("/api/health/live", (_req, res) => {
      res.json({ status: "ok", timestamp: new Date().toISOString(), uptimeSec: Math.floor((Date.now() - this.options.startedAt.getTime()) / 1000) });
    }));
    app.get("/api/health/ready", timed("/api/health/ready", (_req, res) => {
      const { ready, detail } = this.options.readiness();
      res.status(ready ? 200 : 503).json({ status: ready ? "ok" : "unavailable", timestamp: new Date().toISOString(), ...detail });
    }));
    app.get("/api/metrics", timed("/api/metrics", (req, res, next) => {
      const denied = this.options.auth.check(headerValue(req, "authorization"), headerValue(req, "x-api-token"));
      if (denied !== undefined) {
        next(new HttpError(denied));
        return;
      }
      metricsRegistry.metrics().then((text) => res.type(metricsRegistry.contentType).send(text), next);
    }));
    app.get("/api/docs-json", timed("/api/docs-json", (_req, res) => {
      res.json(this.openApi);
    }));
    app.use(docsRouter());
    // The browser console at /ui (docs/console.md): static files; its data come through the routes below with the token.
    app.use(consoleRouter(this.options.serviceVersion));
    // Its live views: one state for every open console, and each API stream shared by the consoles showing it.
    app.get("/ui/live/state", timed("/ui/live/state", this.consoleState.handler()));
    app.use("/ui/live", sharedGateway);
    for (const path of OPERATIONAL_ROUTES.map((r) => r.path)) {
      app.all(path, (req, _res, next) => next(new HttpError(methodNotAllowed(req.method, path), 405, { Allow: "GET" })));
    }
    app.use(gateway);
    app.use(restErrorHandler(this.options.log));
    return app;
  }

  /** 413 before reading: a declared length over the limit never gets buffered. */
  private bodyLimit(): RequestHandler {
    return (req, res, next) => {
      const length = Number(req.headers["content-length"] ?? "0");
      if (Number.isFinite(length) && length > this.maxBodyBytes) {
        const error = new ApiError(GrpcCode.RESOURCE_EXHAUSTED, `request body larger than ${this.maxBodyBytes} bytes`, "BODY_TOO_LARGE", { limit: String(this.maxBodyBytes) });
        // The unread body stays on the socket: close the connection after answering.
        res.set("Connection", "close");
        sendStatus(res, 413, statusJsonOfApiError(error));
        return;
      }
      next();
    };
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.server.on("error", (err) => this.options.log.error({ err }, "REST server error"));
    return this.boundPort;
  }

  /**
   * Stops accepting, lets running requests end for `graceMs` (open streams end when the gRPC server's
   * shutdown ends them: each gets its last error frame; the consoles' state streams end at once), then
   * closes what is left.
   */
  async stop(graceMs = 5_000): Promise<void> {
    // The consoles' state streams never end by themselves: end them now, and their reads with them.
    this.consoleState.close();
    if (this.boundPort === undefined) {
      this.channel.close();
      return;
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Keep-alive connections become idle as their last response ends: close each then, not after the
    // client's keep-alive timeout.
    this.server.closeIdleConnections();
    const sweeper = setInterval(() => this.server.closeIdleConnections(), 25);
    const timedOut = sleep(graceMs, "timeout" as const, { ref: false });
    const outcome = await Promise.race([closed.then(() => "closed" as const), timedOut]);
    clearInterval(sweeper);
    if (outcome === "timeout") {
      this.options.log.warn({ openConnections: this.sockets.size }, "REST grace period over: closing remaining connections");
      this.server.closeAllConnections();
      await closed;
    }
    this.channel.close();
  }
}

function methodNotAllowed(method: string, path: string): ApiError {
  return new ApiError(GrpcCode.UNIMPLEMENTED, `method ${method} is not allowed on ${path}; allowed: GET`, "METHOD_NOT_ALLOWED", { method, allowed: "GET" });
}

/**
 * One access log line per request when it ends: the client's name and address, the method and the route's
 * template (set by whatever answered; never the raw path or query), status, duration and bytes.
 */
/** The caller's client name for the access log (only resolved when a line is written). */
function clientName(auth: TokenAuthenticator, req: Request): string {
  const result = auth.authenticate(headerValue(req, "authorization"), headerValue(req, "x-api-token"));
  return "client" in result ? result.client : "(unauthenticated)";
}

function accessLogger(accessLog: AccessLog, auth: TokenAuthenticator): RequestHandler {
  return (req, res, next) => {
    if (!accessLog.enabled) {
      next();
      return;
    }
    const started = performance.now();
    const socket = req.socket;
    const writtenBefore = socket.bytesWritten;
    res.once("close", () => {
      const forwarded = req.headers["x-forwarded-for"];
      const length = Number(req.headers["content-length"]);
      accessLog.write({
        protocol: "rest",
        client: clientName(auth, req),
        peer: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`,
        ...(typeof forwarded === "string" ? { forwardedFor: bounded(forwarded, 128) } : {}),
        method: req.method,
        route: typeof res.locals.route === "string" ? res.locals.route : "(no route)",
        status: answeredStatus(res),
        ms: performance.now() - started,
        bytesOut: socket.bytesWritten - writtenBefore,
        ...(Number.isFinite(length) && length > 0 ? { bytesIn: length } : {}),
      });
    });
    next();
  };
}

function urlLengthLimit(): RequestHandler {
  return (req, res, next) => {
    if (req.originalUrl.length <= MAX_URL_CHARS) {
      next();
      return;
    }
    const error = new ApiError(GrpcCode.INVALID_ARGUMENT, `request target longer than ${MAX_URL_CHARS} characters (got ${req.originalUrl.length})`, "URI_TOO_LONG", {
      limit: String(MAX_URL_CHARS),
    });
    sendStatus(res, 414, statusJsonOfApiError(error));
  };
}

/**
 * Without a token the bridge listens on loopback only, but a web page can still reach it through a name
 * of its own that resolves to 127.0.0.1 (DNS rebinding): then the Host header carries that name. Only
 * loopback names (and the configured host) are served; anything else is 421 Misdirected Request.
 */
function loopbackHostsOnly(listenHost: string): RequestHandler {
  const allowed = new Set(["127.0.0.1", "localhost", "::1", listenHost.toLowerCase()]);
  return (req, res, next) => {
    const host = (req.headers.host ?? "").toLowerCase();
    const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d*$/, "");
    if (allowed.has(name)) {
      next();
      return;
    }
    sendStatus(res, 421, {
      code: GrpcCode.PERMISSION_DENIED,
      message: `Host ${echo(req.headers.host ?? "")} is not a loopback name: without PROVIDER_API_TOKEN the service answers only requests addressed to 127.0.0.1, localhost or [::1]`,
      details: [],
    });
  };
}
