import type { JsonObject, JsonValue, Registry } from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import type { RequestHandler, Response } from "express";
import { ApiError, unavailable } from "../../grpc/apiError.js";
import type { TokenAuthenticator } from "../../grpc/auth.js";
import { maskAccountIds } from "../../grpc/recentErrors.js";
import { maskAccountId } from "../../domain/accountMask.js";
import type { Logger } from "../../log/logger.js";
import { httpOpenStreams, metricsRegistry } from "../../metrics/metrics.js";
import { metadataOf } from "../httpMetadata.js";
import type { RpcRoute } from "../httpRules.js";
import { isServiceError, type RpcChannel } from "../rpcChannel.js";
import { headerValue, HttpError, responseJson } from "../rpcGateway.js";
import { resultFrame, STREAM_HEADERS } from "../streamFraming.js";

/** How often the console's overview and feeds views are refreshed. */
export const CONSOLE_STATE_EVERY_MS = 2_000;

/** The reads a state is made of, by their REST routes (the API's own answers, rendered as the API renders them). */
const READS = { proof: "/api/exchanges/runtime-proof", subscriptions: "/api/subscriptions", errors: "/api/errors/recent" } as const;

/** A read's deadline: a state never waits on a stuck call for longer than a refresh. */
const READ_DEADLINE_MS = 5_000;

export interface ConsoleStateOptions {
  routes: readonly RpcRoute[];
  registry: Registry;
  channel: RpcChannel;
  auth: TokenAuthenticator;
  log: Logger;
  everyMs?: number;
}

/** The consoles of one identity: they see the same state, read once per refresh for all of them. */
interface Audience {
  consoles: Set<Response>;
  /** The first console's credentials: the reads are made as this identity. */
  metadata: Metadata;
  timer: ReturnType<typeof setTimeout> | undefined;
  last: Buffer | undefined;
}

/**
 * GET /ui/live/state (Server-Sent Events): what the console's overview and feeds views show (the runtime
 * proof, the shared subscriptions, the recent errors and the metrics text), read once every `everyMs` for every open console
 * of an identity and sent as one frame to each. Without it, each console polled three routes; 50 consoles
 * cost the service a fifth of a core (BENCHMARKS.md, console). Reads run only while a console listens.
 */
export class ConsoleState {
  readonly #audiences = new Map<string, Audience>();
  /** Undefined where the compiled protos lack the route (a bridge over other services, in tests). */
  readonly #reads: Record<keyof typeof READS, RpcRoute | undefined>;
  readonly #everyMs: number;
  #closed = false;

  constructor(private readonly options: ConsoleStateOptions) {
    this.#everyMs = options.everyMs ?? CONSOLE_STATE_EVERY_MS;
    const route = (path: string) => options.routes.find((r) => r.httpMethod === "GET" && r.template.source === path);
    this.#reads = { proof: route(READS.proof), subscriptions: route(READS.subscriptions), errors: route(READS.errors) };
  }

  /** Consoles listening now (tests). */
  get consoleCount(): number {
    let n = 0;
    for (const audience of this.#audiences.values()) n += audience.consoles.size;
    return n;
  }

  /**
   * The service stops: every console's stream ends now (it would otherwise hold the REST server's stop for
   * its whole grace period: it never ends by itself) and no read runs any more; later requests are refused.
   */
  close(): void {
    this.#closed = true;
    const audiences = [...this.#audiences.values()];
    this.#audiences.clear();
    for (const audience of audiences) {
      clearTimeout(audience.timer);
      for (const res of audience.consoles) res.end();
    }
  }

  handler(): RequestHandler {
    return (req, res, next) => {
      const caller = this.options.auth.authenticate(headerValue(req, "authorization"), headerValue(req, "x-api-token"));
      if (caller instanceof ApiError) {
        next(new HttpError(caller));
        return;
      }
      if (this.#closed) {
        next(new HttpError(unavailable("the service is shutting down", "SHUTTING_DOWN")));
        return;
      }
      if (req.method === "HEAD") {
        // express routes HEAD to GET handlers: no body is ever sent, so nothing is to be read or held for it.
        res.status(200).set(STREAM_HEADERS.sse).end();
        return;
      }
      let audience = this.#audiences.get(caller.client);
      if (audience === undefined) {
        let metadata: Metadata;
        try {
          metadata = metadataOf(req.headers, req.socket.remoteAddress);
        } catch (err) {
          next(err);
          return;
        }
        audience = { consoles: new Set(), metadata, timer: undefined, last: undefined };
        this.#audiences.set(caller.client, audience);
        void this.#refresh(caller.client, audience);
      }
      const joined = audience;
      joined.consoles.add(res);
      httpOpenStreams.inc({ framing: "sse" });
      res.status(200).set(STREAM_HEADERS.sse);
      res.flushHeaders();
      if (joined.last !== undefined) res.write(joined.last);
      res.once("close", () => {
        httpOpenStreams.dec({ framing: "sse" });
        joined.consoles.delete(res);
        if (joined.consoles.size === 0 && this.#audiences.get(caller.client) === joined) {
          this.#audiences.delete(caller.client);
          clearTimeout(joined.timer);
        }
      });
    };
  }

  async #refresh(client: string, audience: Audience): Promise<void> {
    const { metadata } = audience;
    const [proof, subscriptions, errors, metrics] = await Promise.allSettled([
      this.#read(this.#reads.proof, metadata),
      this.#read(this.#reads.subscriptions, metadata),
      this.#read(this.#reads.errors, metadata),
      metricsRegistry.metrics(),
    ]);
    if (this.#audiences.get(client) !== audience) return;
    const state: JsonObject = {
      proof: valueOrProblem(proof, maskedProof),
      subscriptions: valueOrProblem(subscriptions, maskedKeys),
      errors: valueOrProblem(errors),
      metrics: metrics.status === "fulfilled" ? { text: metrics.value } : { problem: "metrics unavailable" },
    };
    audience.last = Buffer.from(resultFrame("sse", state));
    for (const res of audience.consoles) {
      // A console that has not read the last states has no use for one more.
      if (!res.destroyed && res.writableLength < audience.last.length * 2) res.write(audience.last);
    }
    audience.timer = setTimeout(() => void this.#refresh(client, audience), this.#everyMs);
  }

  async #read(route: RpcRoute | undefined, metadata: Metadata): Promise<JsonValue> {
    if (route === undefined) throw new Error("not served by this service");
    const bytes = await this.options.channel.unary(route.grpcPath, Buffer.alloc(0), metadata, { deadline: new Date(Date.now() + READ_DEADLINE_MS) }).response;
    return responseJson(route, bytes, this.options.registry);
  }
}

/**
 * The runtime proof with its account ids masked (as the console shows them, and as logs and recent errors
 * write them): the state goes to every console of the client, none of which needs them whole.
 */
function maskedProof(proof: JsonValue): JsonValue {
  if (typeof proof !== "object" || proof === null || Array.isArray(proof)) return proof;
  const masked: JsonObject = { ...proof };
  if (typeof proof.activeAccount === "string" && proof.activeAccount !== "") masked.activeAccount = maskAccountId(proof.activeAccount);
  if (Array.isArray(proof.managedAccounts)) masked.managedAccounts = proof.managedAccounts.map((a) => (typeof a === "string" ? maskAccountId(a) : a));
  if (typeof proof.lastError === "string") masked.lastError = maskAccountIds(proof.lastError);
  return maskedKeys(masked);
}

/** Subscriptions (in the proof or listed) with the account ids in their keys masked: `account/<id>`, `orders/<id>`. */
function maskedKeys(value: JsonValue): JsonValue {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !Array.isArray(value.subscriptions)) return value;
  const subscriptions = value.subscriptions.map((s) => (typeof s === "object" && s !== null && !Array.isArray(s) && typeof s.key === "string" ? { ...s, key: maskAccountIds(s.key) } : s));
  return { ...value, subscriptions };
}

function valueOrProblem(result: PromiseSettledResult<JsonValue>, shown: (value: JsonValue) => JsonValue = (value) => value): JsonObject {
  if (result.status === "fulfilled") return { value: shown(result.value) };
  const reason: unknown = result.reason;
  const message = isServiceError(reason) ? reason.details : reason instanceof Error ? reason.message : String(reason);
  return { problem: message };
}
