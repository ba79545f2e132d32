import type { ClientReadableStream } from "@grpc/grpc-js";
import { status as GrpcCode } from "@grpc/grpc-js";
import { fromBinary, toBinary, toJson, type JsonObject, type JsonValue, type Registry } from "@bufbuild/protobuf";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { ApiError, invalidArgument, notFound } from "../grpc/apiError.js";
import type { TokenAuthenticator } from "../grpc/auth.js";
import type { Logger } from "../log/logger.js";
import { httpOpenStreams, httpRequestDuration } from "../metrics/metrics.js";
import { deadlineOf, metadataOf, MetadataTooLargeError } from "./httpMetadata.js";
import type { HttpMethod, RpcRoute } from "./httpRules.js";
import { PathDecodingError } from "./pathTemplate.js";
import { BindingError, bindRequest } from "./requestBinding.js";
import { jsonChunks, pagedResponse } from "./pagedResponse.js";
import { chosenRenderer, type ResponseRenderer } from "./responseRenderer.js";
import { isServiceError, type RpcChannel } from "./rpcChannel.js";
import { httpStatusOf, retryAfterHeaderOf, statusJsonOfApiError, statusJsonOfCallError, type StatusJson } from "./rpcStatus.js";
import type { SharedStreams } from "./sharedStreams.js";
import { errorFrame, framingFor, resultFrame, STREAM_HEADERS, type StreamFraming } from "./streamFraming.js";

export interface RpcGatewayOptions {
  routes: readonly RpcRoute[];
  registry: Registry;
  channel: RpcChannel;
  log: Logger;
  /**
   * The gRPC server's own authenticator, asked first so that a caller without a valid token learns that
   * before anything about its request (the gRPC server checks again: it stays the authority).
   */
  auth: TokenAuthenticator;
  /** Largest request body accepted (HTTP 413 beyond); the gRPC server's receive limit. */
  maxBodyBytes: number;
  /** How long a REST stream waits for a client that stopped reading before it closes the connection. */
  stalledReaderMs: number;
  /** Forms other than JSON for some unary answers (`?format=`, `Accept`): responseRenderer.ts. */
  renderers?: readonly ResponseRenderer[];
  /**
   * Streams only, each shared by the callers that ask for it with the same identity (sharedStreams.ts):
   * the console's live views at /ui/live. Unary routes are not served there.
   */
  shared?: SharedStreams;
}

/** A bridge error with the HTTP status to answer, when it is not the gRPC code's own. */
export class HttpError extends Error {
  constructor(
    readonly apiError: ApiError,
    readonly httpStatus = httpStatusOf(apiError.code),
    readonly headers: Record<string, string> = {},
  ) {
    super(apiError.message);
    this.name = "HttpError";
  }
}

export function sendStatus(res: Response, httpStatus: number, body: StatusJson, headers: Record<string, string> = {}): void {
  res.status(httpStatus).set(headers).type("application/json").send(JSON.stringify(body));
}

/**
 * The REST face of every annotated RPC: finds the route (404 for an unknown path, 405 with `Allow` for a
 * known path and another method), builds the request message from body, path and query, calls the gRPC
 * server with the caller's token headers as metadata, and writes the answer in canonical proto3 JSON, or
 * the stream as NDJSON/SSE. Knows no RPC by name.
 */
export function rpcGateway(options: RpcGatewayOptions): RequestHandler {
  const jsonBody = express.json({ limit: options.maxBodyBytes, strict: false, type: () => true });
  return (req, res, next) => {
    const started = performance.now();
    const candidates = options.routes.flatMap((route) => {
      const bound = route.template.match(req.path);
      return bound === undefined ? [] : [{ route, bound }];
    });
    if (candidates.length === 0) {
      next(new HttpError(notFound(`no route for ${req.method} ${req.path}`, "ROUTE_NOT_FOUND", { method: req.method, path: req.path })));
      return;
    }
    const allowed = [...new Set(candidates.map((c) => c.route.httpMethod))];
    const method = req.method;
    // The most literal segments wins: /api/accounts/{c}/{m}/positions over a template with a variable there.
    const chosen = candidates.filter((c) => c.route.httpMethod === method).sort((a, b) => b.route.template.literalCount - a.route.template.literalCount)[0];
    if (chosen === undefined) {
      if (req.method === "OPTIONS") {
        res.status(204).set("Allow", [...allowed, "OPTIONS"].join(", ")).end();
        return;
      }
      next(methodNotAllowed(req.method, req.path, allowed));
      return;
    }
    const { route, bound } = chosen;
    const caller = options.auth.authenticate(headerValue(req, "authorization"), headerValue(req, "x-api-token"));
    if (caller instanceof ApiError) {
      next(new HttpError(caller));
      return;
    }
    const { shared } = options;
    if (shared !== undefined && route.method.methodKind !== "server_streaming") {
      next(new HttpError(notFound(`${req.path} is not a stream: only server streams are shared here`, "ROUTE_NOT_FOUND", { method: req.method, path: req.path })));
      return;
    }
    // The access log names the route's template, never the raw path (restServer.ts accessLogger); where the
    // gateway is mounted under a prefix (the shared streams at /ui/live), the prefix and the template.
    const routeLabel = `${req.baseUrl}${route.template.source}`;
    res.locals.route = routeLabel;
    res.once("close", () => {
      const seconds = (performance.now() - started) / 1000;
      httpRequestDuration.observe({ method, route: routeLabel, status: answeredStatus(res) }, seconds);
    });

    const call = (body: JsonValue | undefined) => {
      // The query is the text after "?" (an absolute-form request target is no reason for a 500).
      const at = req.originalUrl.indexOf("?");
      const query = new URLSearchParams(at < 0 ? "" : req.originalUrl.slice(at + 1));
      const message = bindRequest(route, { pathVariables: bound, query, body }, options.registry);
      const renderer = chosenRenderer(options.renderers ?? [], route, query, headerValue(req, "accept"), () => res.append("Vary", "Accept"));
      const rendering = renderer === undefined ? undefined : { renderer, request: toJson(route.method.input, message, { registry: options.registry }) as JsonObject };
      const request = Buffer.from(toBinary(route.method.input, message));
      const metadata = metadataOf(req.headers, req.socket.remoteAddress);
      const deadline = deadlineOf(req.headers);
      const callOptions = deadline === undefined ? {} : { deadline };
      if (shared !== undefined) {
        // No deadline: the call outlives the caller that opened it.
        const key = `${route.grpcPath} ${caller.client} ${request.toString("base64")}`;
        shared.join(key, res, () => options.channel.serverStream(route.grpcPath, request, metadata, {}), (bytes) => responseJson(route, bytes, options.registry));
      } else if (route.method.methodKind === "server_streaming") {
        pipeStream(options.channel.serverStream(route.grpcPath, request, metadata, callOptions), route, req, res, options);
      } else {
        void unary(route, request, metadata, callOptions, res, options, rendering).catch(next);
      }
    };
    const callOrFail = (body: JsonValue | undefined) => {
      try {
        call(body);
      } catch (err) {
        next(err);
      }
    };
    if (route.body === "") callOrFail(undefined);
    else
      jsonBody(req, res, (err?: unknown) => {
        if (err !== undefined) next(err);
        else callOrFail(req.body as JsonValue | undefined);
      });
  };
}

/** The status a call ended with: a client that left before its answer is nginx's 499, not the 200 express defaults to. */
export function answeredStatus(res: Response): number {
  return res.headersSent ? res.statusCode : 499;
}

export function headerValue(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

function methodNotAllowed(method: string, path: string, allowed: HttpMethod[]): HttpError {
  const error = new ApiError(GrpcCode.UNIMPLEMENTED, `method ${method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`, "METHOD_NOT_ALLOWED", {
    method,
    allowed: allowed.join(","),
  });
  return new HttpError(error, 405, { Allow: allowed.join(", ") });
}

async function unary(
  route: RpcRoute,
  request: Buffer,
  metadata: ReturnType<typeof metadataOf>,
  callOptions: { deadline?: Date },
  res: Response,
  options: RpcGatewayOptions,
  rendering?: { renderer: ResponseRenderer; request: JsonObject },
): Promise<void> {
  const call = options.channel.unary(route.grpcPath, request, metadata, callOptions);
  // A caller that hangs up cancels the call: no IB request is spent on an answer nobody reads.
  const onClose = () => {
    if (!res.writableFinished) call.cancel();
  };
  res.once("close", onClose);
  let bytes: Buffer;
  try {
    bytes = await call.response;
  } catch (err) {
    if (res.destroyed) return;
    throw err;
  } finally {
    res.off("close", onClose);
  }
  if (res.destroyed) return;
  if (bytes.length > LARGE_ANSWER_BYTES) {
    const written = await writePaged(route, bytes, res, options, rendering);
    if (written) return;
  }
  const json = responseJson(route, bytes, options.registry);
  if (rendering !== undefined) {
    const { body, headers } = rendering.renderer.render(json, rendering.request);
    res.status(200).set(headers).type(`${rendering.renderer.mediaType}; charset=utf-8`).send(body);
    return;
  }
  res.status(200).type("application/json").send(JSON.stringify(json));
}

/**
 * Answers above this are converted and written a page at a time (pagedResponse.ts): a year of min1 candles
 * (44 MB) converted whole held the event loop ≈ 4 s as JSON, ≈ 6 s as CSV.
 */
export const LARGE_ANSWER_BYTES = 1024 * 1024;

/**
 * Writes a large answer a page per event-loop turn, the very bytes the whole conversion gives; false when
 * it has nothing to page (no repeated message field), or a renderer cannot take pages, or a renderer is
 * asked for with a `response_body` (none is today): the caller then converts it whole. The first page is
 * converted before the status is sent, so a failure there is still an error response; after it the
 * status is 200 and a failure ends the connection (restErrorHandler). A client that goes away, or stops
 * reading for longer than `stalledReaderMs`, ends the writing.
 */
async function writePaged(
  route: RpcRoute,
  bytes: Buffer,
  res: Response,
  options: RpcGatewayOptions,
  rendering?: { renderer: ResponseRenderer; request: JsonObject },
): Promise<boolean> {
  if (rendering !== undefined && (rendering.renderer.renderPaged === undefined || route.responseBody !== "")) return false;
  const paged = pagedResponse(route.method.output, bytes, options.registry);
  if (paged === undefined) return false;
  let form: { chunks: AsyncIterable<string>; headers: Record<string, string>; type: string };
  if (rendering === undefined) {
    const responseBody = route.responseBody === "" ? undefined : route.method.output.fields.find((f) => f.name === route.responseBody)!.jsonName;
    form = { chunks: jsonChunks(paged, responseBody), headers: {}, type: "application/json" };
  } else {
    const { chunks, headers } = rendering.renderer.renderPaged!(paged, rendering.request);
    form = { chunks, headers, type: `${rendering.renderer.mediaType}; charset=utf-8` };
  }
  const chunks = form.chunks[Symbol.asyncIterator]();
  try {
    let next = await chunks.next();
    if (res.destroyed) return true;
    res.status(200).set(form.headers).type(form.type);
    while (!next.done) {
      if (!res.write(next.value) && !(await drained(res, options.stalledReaderMs))) return true;
      if (res.destroyed) return true;
      next = await chunks.next();
      if (res.destroyed) return true;
    }
    res.end();
    return true;
  } finally {
    // A client gone mid-answer: the pages not read are never converted.
    await chunks.return?.();
  }
}

/**
 * Waits until the response can take more: true on 'drain', false when the client went away or has not
 * read for `stalledMs` (the connection is then closed: it would hold the answer's bytes meanwhile). A
 * destroyed response never drains: 'close' ends the wait.
 */
function drained(res: Response, stalledMs: number): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(stalled);
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const stalled = setTimeout(() => {
      done(false);
      res.destroy();
    }, stalledMs);
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

/** The response in canonical proto3 JSON, zero values included (grpc-gateway's EmitUnpopulated). */
export function responseJson(route: RpcRoute, bytes: Buffer, registry: Registry): JsonValue {
  const output = route.method.output;
  const json = toJson(output, fromBinary(output, bytes), { registry, alwaysEmitImplicit: true });
  if (route.responseBody === "") return json;
  const field = output.fields.find((f) => f.name === route.responseBody)!;
  return (json as JsonObject)[field.jsonName] ?? null;
}

/**
 * Relays a gRPC server stream. The HTTP status is decided by the first event: a failure before any
 * message is a plain error response (401, 400, ...), after it a last error frame. Backpressure runs end
 * to end: a full socket pauses the gRPC call, whose flow control then holds the server's writes. A
 * client that goes away cancels the call at once.
 */
function pipeStream(call: ClientReadableStream<Buffer>, route: RpcRoute, req: Request, res: Response, options: RpcGatewayOptions): void {
  const framing: StreamFraming = framingFor(req.headers.accept);
  let started = false;
  let failure: StatusJson | undefined;
  let done = false;
  const start = () => {
    if (started) return;
    started = true;
    httpOpenStreams.inc({ framing });
    res.status(200).set(STREAM_HEADERS[framing]);
    res.flushHeaders();
  };
  const finish = () => {
    if (done) return;
    done = true;
    if (res.destroyed) return;
    if (failure === undefined) {
      start();
      res.end();
    } else if (started) {
      res.end(errorFrame(framing, failure));
    } else {
      sendStatus(res, httpStatusOf(failure.code), failure, retryAfterHeaderOf(failure));
    }
  };

  res.once("close", () => {
    if (started) httpOpenStreams.dec({ framing });
    if (!done) {
      done = true;
      call.cancel();
    }
  });
  call.on("data", (bytes: Buffer) => {
    if (done) return;
    let json: JsonValue;
    try {
      json = responseJson(route, bytes, options.registry);
    } catch (err) {
      options.log.error({ err, method: route.grpcPath }, "cannot convert a stream message to JSON");
      failure = statusJsonOfApiError(new ApiError(GrpcCode.INTERNAL, "internal error", "INTERNAL"));
      call.cancel();
      finish();
      return;
    }
    start();
    if (!res.write(resultFrame(framing, json))) {
      call.pause();
      // A client that never reads again would hold the socket, the paused call and its buffers for as
      // long as it keeps the connection: give up after what the gRPC side allows and a margin.
      const stuck = setTimeout(() => {
        if (done) return;
        done = true;
        call.cancel();
        res.destroy();
      }, options.stalledReaderMs);
      const forget = () => clearTimeout(stuck);
      res.once("close", forget);
      res.once("drain", () => {
        forget();
        res.off("close", forget);
        call.resume();
      });
    }
  });
  // grpc-js emits 'error' before the buffered messages are read and 'end' after them: keep the
  // failure and write it after the last message.
  call.on("error", (err) => {
    failure = isServiceError(err) ? statusJsonOfCallError(err) : statusJsonOfApiError(new ApiError(GrpcCode.INTERNAL, "internal error", "INTERNAL"));
  });
  call.on("end", finish);
}

/** Final error handler: every failure becomes a google.rpc.Status JSON body; nothing escapes. */
export function restErrorHandler(log: Logger): (err: unknown, req: Request, res: Response, next: NextFunction) => void {
  return (err, req, res, _next) => {
    const { httpStatus, body, headers } = httpErrorOf(err);
    if (httpStatus >= 500 && !isServiceError(err)) log.error({ err, method: req.method, path: req.path }, "REST request failed");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendStatus(res, httpStatus, body, headers);
  };
}

function httpErrorOf(err: unknown): { httpStatus: number; body: StatusJson; headers: Record<string, string> } {
  if (err instanceof HttpError) return { httpStatus: err.httpStatus, body: statusJsonOfApiError(err.apiError), headers: err.headers };
  if (isServiceError(err)) {
    const body = statusJsonOfCallError(err);
    return { httpStatus: httpStatusOf(body.code), body, headers: retryAfterHeaderOf(body) };
  }
  if (err instanceof BindingError) return fromApiError(invalidArgument(err.field === "" ? "request" : err.field, err.description));
  if (err instanceof MetadataTooLargeError) {
    return fromApiError(new ApiError(GrpcCode.INVALID_ARGUMENT, err.message, err.reason, { limit: String(err.limit), got: String(err.got) }), 431);
  }
  if (err instanceof PathDecodingError) return fromApiError(invalidArgument("path", err.message));
  const bodyParser = bodyParserErrorOf(err);
  if (bodyParser !== undefined) return bodyParser;
  return fromApiError(new ApiError(GrpcCode.INTERNAL, "internal error", "INTERNAL"));
}

function fromApiError(error: ApiError, httpStatus = httpStatusOf(error.code)) {
  return { httpStatus, body: statusJsonOfApiError(error), headers: {} };
}

/** express.json's errors carry `type` and `status` (body-parser). */
function bodyParserErrorOf(err: unknown) {
  if (!(err instanceof Error) || !("type" in err) || typeof err.type !== "string") return undefined;
  switch (err.type) {
    case "entity.parse.failed":
      return fromApiError(invalidArgument("body", `malformed JSON: ${err.message}`, "MALFORMED_BODY"));
    case "entity.too.large": {
      const limit = "limit" in err ? String(err.limit) : "";
      return fromApiError(new ApiError(GrpcCode.RESOURCE_EXHAUSTED, `request body larger than ${limit} bytes`, "BODY_TOO_LARGE", { limit }), 413);
    }
    case "encoding.unsupported":
    case "charset.unsupported":
      return fromApiError(invalidArgument("body", err.message, "UNSUPPORTED_ENCODING"), 415);
    case "request.aborted":
      return fromApiError(new ApiError(GrpcCode.CANCELLED, "request aborted", "CANCELLED"));
    default:
      return undefined;
  }
}
