import { Metadata, type CallOptions, type Client, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { resumableStream, type ResumeOptions } from "./resumableStream.js";
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

/** A request with every field set: proto defaults (decoding an empty message), our defaults, then the caller's. */
function completeRequest<Req>(definition: MethodDefinition<Req, unknown>, input: Partial<Req> | undefined): Req {
  const base = definition.requestDeserialize(Buffer.alloc(0));
  const defaults: Record<string, string> = {};
  if (typeof (base as Record<string, unknown>).connectorType === "string") defaults.connectorType = "ib";
  if (typeof (base as Record<string, unknown>).marketType === "string") defaults.marketType = "spot";
  // A field passed as undefined keeps its default rather than reaching the encoder as undefined.
  const given = Object.fromEntries(Object.entries(input ?? {}).filter(([, value]) => value !== undefined));
  return { ...base, ...defaults, ...given };
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

/** Resumable streams for every server-streaming RPC of `service` (see {@link resumableStream}). */
export function streamMethods<S extends object>(client: Client, service: S): StreamMethods<S> {
  const methods: Record<string, unknown> = {};
  for (const [name, def] of definitions(service)) {
    if (!def.responseStream) continue;
    methods[name] = (input: Partial<unknown> | undefined, options: ResumeOptions = {}) => {
      const request = completeRequest(def, input);
      const open = () => client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new Metadata()) as ClientReadableStream<{ events: StreamEvent[] }>;
      return resumableStream(open, options);
    };
  }
  return methods as StreamMethods<S>;
}
