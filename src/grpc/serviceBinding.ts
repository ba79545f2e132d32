import type { MethodDefinition, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { unimplemented } from "./apiError.js";
import { serverStream, unary, type HandlerDeps, type ServerStreamHandler, type UnaryHandler } from "./handlers.js";
import { acceptPreEncoded } from "./streamEncoding.js";

type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer Req } ? Req : never;
type ResponseOf<M> = M extends { responseDeserialize: (bytes: Buffer) => infer Res } ? Res : never;

/**
 * An object with one handler per method of a generated service definition, named as ts-proto names them
 * (`streamTicks` for StreamTicks): the compiler holds a service to every method of its proto. A method not
 * built yet throws `unimplemented(...)` (UNIMPLEMENTED, never fake data).
 */
export type ServiceImplementation<D> = {
  [K in keyof D]: D[K] extends { responseStream: true } ? ServerStreamHandler<RequestOf<D[K]>, ResponseOf<D[K]>> : UnaryHandler<RequestOf<D[K]>, ResponseOf<D[K]>>;
};

/** "/ibprovider.v1.MarketDataService/StreamTicks" → "ibprovider.v1.MarketDataService.StreamTicks". */
export function methodName(path: string): string {
  return path.slice(1).replace("/", ".");
}

/** The fully-qualified service name of a generated definition (from its methods' paths). */
export function serviceName(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (first === undefined) throw new Error("a service definition without methods");
  return first.path.slice(1, first.path.indexOf("/", 1));
}

/**
 * The definition (with pre-encoded stream messages passed through) and the grpc-js handlers for `service`:
 * each method's name, kind and handler come from the definition, so no method name is written twice.
 */
export function bindService<D extends ServiceDefinition>(definition: D, service: ServiceImplementation<D>, deps: HandlerDeps): [D, UntypedServiceImplementation] {
  const handlers: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition) as [keyof D & string, MethodDefinition<unknown, unknown>][]) {
    const handler = service[key] as (request: unknown, ctx: Parameters<UnaryHandler<unknown, unknown>>[1]) => unknown;
    const call = (request: unknown, ctx: Parameters<UnaryHandler<unknown, unknown>>[1]) => handler.call(service, request, ctx);
    const responseSize = (response: unknown) => (Buffer.isBuffer(response) ? response.length : method.responseSerialize(response).length);
    handlers[key] = method.responseStream
      ? serverStream(methodName(method.path), call as ServerStreamHandler<unknown, unknown>, deps, responseSize)
      : unary(methodName(method.path), call as UnaryHandler<unknown, unknown>, deps, responseSize);
  }
  return [acceptPreEncoded(definition), handlers];
}

/**
 * A service whose contract is published but which is not built yet: every method answers UNIMPLEMENTED,
 * reason NOT_IMPLEMENTED, before reading its request (never fake data, nothing sent to IB). Its routes,
 * reflection and scopes are live, so clients can be written against it meanwhile.
 */
export function notBuilt<D extends ServiceDefinition>(definition: D): ServiceImplementation<D> {
  const methods: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition)) {
    const name = methodName(method.path);
    methods[key] = method.responseStream
      ? async function* () {
          throw unimplemented(name);
        }
      : async () => {
          throw unimplemented(name);
        };
  }
  return methods as ServiceImplementation<D>;
}
