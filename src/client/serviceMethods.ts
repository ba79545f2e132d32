import { Metadata, type CallOptions, type Client, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { resumableStream, type CallStart, type ResumeOptions, type StreamStart } from "./resumableStream.js";
import type { StreamEvent } from "./sequenceTracker.js";
import type { StreamItem } from "./streamItem.js";

/** One method of a ts-proto grpc-js service definition (gen/…/*_service.ts `…Service` objects). */
interface MethodDefinition<Req, Res> {
  path: string;
  responseStream: boolean;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(value: Buffer): Req;
  responseDeserialize(value: Buffer): Res;
}

type RequestOf<D> = D extends MethodDefinition<infer Req, unknown> ? Req : never;
type ResponseOf<D> = D extends MethodDefinition<unknown, infer Res> ? Res : never;
type EventOf<D> = ResponseOf<D> extends { events: Array<infer E> } ? E : never;

/** Fields left out of a request keep their proto defaults, except connectorType ("ib") and marketType ("spot"). */
export type RequestInput<Req> = Partial<Req>;

/** Per-call options of a unary method. */
export interface UnaryOptions {
  /** Milliseconds until DEADLINE_EXCEEDED. Default 30 s (GetCandles over long windows waits for IB's pacing). */
  timeoutMs?: number;
  signal?: AbortSignal;
  metadata?: Metadata;
}

/** The unary methods of a service as promise-returning functions. */
export type UnaryMethods<S> = {
  [K in keyof S as S[K] extends { responseStream: false } ? K : never]: (request?: RequestInput<RequestOf<S[K]>>, options?: UnaryOptions) => Promise<ResponseOf<S[K]>>;
};

/** The server-streaming methods of a service as resumable async iterables of their events. */
export type StreamMethods<S> = {
  [K in keyof S as S[K] extends { responseStream: true } ? K : never]: (request?: RequestInput<RequestOf<S[K]>>, options?: ResumeOptions) => AsyncGenerator<StreamItem<EventOf<S[K]>>, void, undefined>;
};

const DEFAULT_UNARY_TIMEOUT_MS = 30_000;

/** What a request's connectorType and marketType are when the caller leaves them out. */
export const REQUEST_DEFAULTS = { connectorType: "ib", marketType: "spot" } as const;

/** The fields of `input` that are set: a field passed as undefined keeps its default rather than reaching the encoder as undefined. */
export function definedFields<T extends object>(input: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** A request with every field set: proto defaults (decoding an empty message), our defaults, then the caller's. */
function completeRequest<Req>(definition: MethodDefinition<Req, unknown>, input: Partial<Req> | undefined): Req {
  const base = definition.requestDeserialize(Buffer.alloc(0));
  const defaults: Record<string, string> = {};
  if (typeof (base as Record<string, unknown>).connectorType === "string") defaults.connectorType = REQUEST_DEFAULTS.connectorType;
  if (typeof (base as Record<string, unknown>).marketType === "string") defaults.marketType = REQUEST_DEFAULTS.marketType;
  return { ...base, ...defaults, ...definedFields(input) };
}

function definitions<S extends object>(service: S): Array<[string, MethodDefinition<unknown, unknown>]> {
  return Object.entries(service) as Array<[string, MethodDefinition<unknown, unknown>]>;
}

/** Promise-returning unary methods for every unary RPC of `service`, over one grpc-js client (channel). */
export function unaryMethods<S extends object>(client: Client, service: S): UnaryMethods<S> {
  const methods: Record<string, unknown> = {};
  for (const [name, def] of definitions(service)) {
    if (def.responseStream) continue;
    methods[name] = (input: Partial<unknown> | undefined, options: UnaryOptions = {}) =>
      new Promise((resolve, reject) => {
        const callOptions: CallOptions = { deadline: Date.now() + (options.timeoutMs ?? DEFAULT_UNARY_TIMEOUT_MS) };
        const call = client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, completeRequest(def, input), options.metadata ?? new Metadata(), callOptions, (err: ServiceError | null, res?: unknown) => {
          options.signal?.removeEventListener("abort", cancel);
          if (err) reject(err);
          else resolve(res);
        });
        const cancel = () => call.cancel();
        if (options.signal?.aborted === true) call.cancel();
        else options.signal?.addEventListener("abort", cancel, { once: true });
      });
  }
  // The mapped type is built from the same definitions the loop walks.
  return methods as UnaryMethods<S>;
}

/** The replay fields every stream request has (start_time, after_sequence, epoch). */
interface ReplayFields {
  startTime?: { seconds: string; nanos: number } | undefined;
  afterSequence?: string | undefined;
  epoch?: string | undefined;
}

function timestampOf(time: Date | number): { seconds: string; nanos: number } {
  const ms = typeof time === "number" ? time : time.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** The request of one call: as given (`start` undefined), or with its replay fields set to `start` alone. */
function requestFrom<Req>(request: Req, start: CallStart | undefined): Req {
  if (start === undefined) return request;
  const fields: ReplayFields = { startTime: undefined, afterSequence: undefined, epoch: undefined };
  if ("time" in start) fields.startTime = timestampOf(start.time);
  else if ("afterSequence" in start) Object.assign(fields, { afterSequence: String(start.afterSequence), epoch: String(start.epoch) });
  return { ...request, ...fields };
}

/** A resume point the caller put in the request itself: the stream then knows where it stands from the start. */
function sequenceStartOf(request: ReplayFields): StreamStart | undefined {
  const { startTime, afterSequence, epoch } = request;
  return startTime === undefined && afterSequence !== undefined && epoch !== undefined && /^\d+$/.test(afterSequence) && /^[1-9]\d*$/.test(epoch) ? { afterSequence, epoch } : undefined;
}

/**
 * Resumable streams for every server-streaming RPC of `service` (see {@link resumableStream}). A
 * reconnect re-sends the request with its replay fields set to resume after the last event yielded.
 */
export function streamMethods<S extends object>(client: Client, service: S): StreamMethods<S> {
  const methods: Record<string, unknown> = {};
  for (const [name, def] of definitions(service)) {
    if (!def.responseStream) continue;
    methods[name] = (input: Partial<unknown> | undefined, options: ResumeOptions = {}) => {
      const request = completeRequest(def, input);
      const open = (start?: CallStart) =>
        client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, requestFrom(request, start), new Metadata()) as ClientReadableStream<{ events: StreamEvent[] }>;
      const start = options.start ?? sequenceStartOf(request as ReplayFields);
      return resumableStream(open, start === undefined ? options : { ...options, start });
    };
  }
  return methods as StreamMethods<S>;
}
