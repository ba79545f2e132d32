import type { ClientReadableStream } from "@grpc/grpc-js";
import type { JsonValue } from "@bufbuild/protobuf";
import type { Response } from "express";
import { INTERNAL_ERROR } from "../grpc/statusDetails.js";
import type { Logger } from "../log/logger.js";
import { httpOpenStreams } from "../metrics/metrics.js";
import { isServiceError } from "./rpcChannel.js";
import { sendStatus } from "./rpcGateway.js";
import { httpStatusOf, retryAfterHeaderOf, statusJsonOfApiError, statusJsonOfCallError, type StatusJson } from "./rpcStatus.js";
import { errorFrame, resultFrame, STREAM_HEADERS } from "./streamFraming.js";
import { StreamJoinState } from "./streamJoinState.js";

/** What a joiner's socket may hold unread before it is dropped (it reconnects and gets the state afresh). */
export const SHARED_STREAM_MAX_PENDING_BYTES = 1024 * 1024;

export interface SharedStreamsOptions {
  log: Logger;
  maxPendingBytes?: number;
}

interface Upstream {
  call: ClientReadableStream<Buffer>;
  joiners: Set<Response>;
  /** The first message arrived: the HTTP status is 200 for everyone from now on. */
  started: boolean;
  state: StreamJoinState;
  failure: StatusJson | undefined;
}

/**
 * Server streams relayed once to many HTTP clients (Server-Sent Events): the console's live views. Clients
 * asking for the same stream with the same identity share one gRPC call of the bridge, whose messages are
 * converted to JSON and framed once, then written to each; a client joining late first gets the stream's
 * state so far (StreamJoinState). The shared call never waits for a slow client: a client with more than
 * `maxPendingBytes` unread is disconnected (it reconnects and starts from the state). The last client to
 * leave cancels the call. Everything else (auth, validation, limits, errors) is the gRPC server's, as for
 * the bridge's own streams.
 */
export class SharedStreams {
  readonly #upstreams = new Map<string, Upstream>();
  readonly #maxPendingBytes: number;
  /** The clients answered as a stream (counted in httpOpenStreams): not those answered with an error status. */
  readonly #streaming = new WeakSet<Response>();

  constructor(private readonly options: SharedStreamsOptions) {
    this.#maxPendingBytes = options.maxPendingBytes ?? SHARED_STREAM_MAX_PENDING_BYTES;
  }

  /** Shared calls open now (tests and the bench count them). */
  get upstreamCount(): number {
    return this.#upstreams.size;
  }

  /** Clients following the shared calls now. */
  get clientCount(): number {
    let n = 0;
    for (const upstream of this.#upstreams.values()) n += upstream.joiners.size;
    return n;
  }

  /**
   * Adds `res` to the stream named `key` (the method, the caller's identity and the request), opening it
   * with `open` when nobody follows it yet; `render` turns a message into JSON.
   */
  join(key: string, res: Response, open: () => ClientReadableStream<Buffer>, render: (bytes: Buffer) => JsonValue): void {
    let upstream = this.#upstreams.get(key);
    if (upstream === undefined) {
      upstream = { call: open(), joiners: new Set(), started: false, state: new StreamJoinState(), failure: undefined };
      this.#upstreams.set(key, upstream);
      this.#relay(key, upstream, render);
    }
    const joined = upstream;
    joined.joiners.add(res);
    res.once("close", () => {
      if (this.#streaming.has(res)) httpOpenStreams.dec({ framing: "sse" });
      joined.joiners.delete(res);
      if (joined.joiners.size === 0 && this.#upstreams.get(key) === joined) {
        this.#upstreams.delete(key);
        joined.call.cancel();
      }
    });
    if (joined.started) {
      this.#start(res);
      const state = joined.state.snapshot();
      if (state !== undefined) this.#write(res, Buffer.from(resultFrame("sse", state)));
    }
  }

  #relay(key: string, upstream: Upstream, render: (bytes: Buffer) => JsonValue): void {
    const { call } = upstream;
    /** A message could not be converted: the stream is over (the messages the call still delivers are not relayed). */
    let broken = false;
    call.on("data", (bytes: Buffer) => {
      if (broken) return;
      let json: JsonValue;
      try {
        json = render(bytes);
      } catch (err) {
        this.options.log.error({ err }, "cannot convert a shared stream message to JSON");
        broken = true;
        upstream.failure = statusJsonOfApiError(INTERNAL_ERROR);
        call.cancel();
        return;
      }
      upstream.state.add(json);
      upstream.started = true;
      // One conversion and one buffer for every client of the stream.
      const frame = Buffer.from(resultFrame("sse", json));
      for (const res of upstream.joiners) {
        this.#start(res);
        this.#write(res, frame);
      }
    });
    call.on("error", (err) => {
      upstream.failure ??= isServiceError(err) ? statusJsonOfCallError(err) : statusJsonOfApiError(INTERNAL_ERROR);
    });
    call.on("end", () => {
      if (this.#upstreams.get(key) === upstream) this.#upstreams.delete(key);
      for (const res of upstream.joiners) this.#finish(res, upstream);
      upstream.joiners.clear();
    });
  }

  #start(res: Response): void {
    if (res.headersSent) return;
    this.#streaming.add(res);
    httpOpenStreams.inc({ framing: "sse" });
    res.status(200).set(STREAM_HEADERS.sse);
    res.flushHeaders();
  }

  #write(res: Response, frame: Buffer): void {
    if (res.destroyed) return;
    if (res.writableLength > this.#maxPendingBytes) {
      // Not reading: drop it rather than hold the stream (or memory) for it.
      this.options.log.debug({ pendingBytes: res.writableLength }, "a shared stream's client stopped reading; disconnected");
      res.destroy();
      return;
    }
    res.write(frame);
  }

  #finish(res: Response, upstream: Upstream): void {
    if (res.destroyed) return;
    const failure = upstream.failure;
    if (failure === undefined) {
      this.#start(res);
      res.end();
    } else if (res.headersSent) res.end(errorFrame("sse", failure));
    else sendStatus(res, httpStatusOf(failure.code), failure, retryAfterHeaderOf(failure));
  }
}
