import { status, type Server, type ServerDuplexStream, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ApiError } from "./apiError.js";
import { serializedFileDescriptors } from "./descriptorImage.js";
import { PeerStreamLimits, type StreamLimits } from "./peerStreamLimits.js";
import { toServiceError } from "./statusDetails.js";

/**
 * Open ServerReflectionInfo streams (v1 and v1alpha together) per connection and in total. Reflection needs
 * no token, so unbounded it would let anyone who can connect hold server memory as Watch streams once did.
 * `buf curl` and grpcurl open one per invocation.
 */
export type ReflectionLimits = StreamLimits;

export const DEFAULT_REFLECTION_LIMITS: ReflectionLimits = { perConnection: 16, total: 256 };

/**
 * Server reflection from the committed descriptor image, so `buf curl` (and grpcurl-style tools) can call
 * the API with no .proto files at hand. @grpc/reflection only reads `fileDescriptorProtos` from the
 * package definition, so one synthetic entry carrying every file is enough. Its streams are bounded per
 * connection and in total (RESOURCE_EXHAUSTED REFLECTION_STREAM_LIMIT beyond): the returned counter
 * says how many are open.
 */
export function addReflection(server: Server, limits: ReflectionLimits = DEFAULT_REFLECTION_LIMITS): PeerStreamLimits {
  const packageDefinition = {
    "ibprovider.image": { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos: serializedFileDescriptors() },
  } as unknown as PackageDefinition;
  const streams = new PeerStreamLimits(limits, reflectionLimit);
  // @grpc/reflection registers its handlers itself: hand it a server whose addService bounds them first.
  const bounding = {
    addService: (definition: Parameters<Server["addService"]>[0], implementation: UntypedServiceImplementation) =>
      server.addService(definition, bounded(implementation, streams)),
  } as unknown as Server;
  new ReflectionService(packageDefinition).addToServer(bounding);
  return streams;
}

/** Each bidi handler admitted by `streams` first; its place is given back when the stream ends, however. */
function bounded(implementation: UntypedServiceImplementation, streams: PeerStreamLimits): UntypedServiceImplementation {
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    wrapped[name] = (call: ServerDuplexStream<unknown, unknown>) => {
      const release = streams.admit(call.getPeer());
      if (release instanceof ApiError) {
        call.emit("error", toServiceError(release));
        return;
      }
      // 'finish': our status went out; 'cancelled'/'close': the client or the connection went away.
      for (const event of ["finish", "cancelled", "close"]) call.once(event, release);
      (handler as (call: ServerDuplexStream<unknown, unknown>) => void)(call);
    };
  }
  return wrapped;
}

function reflectionLimit(scope: "connection" | "server", limit: number): ApiError {
  const message =
    scope === "connection"
      ? `at most ${limit} reflection streams per connection are open; close one first`
      : `the server holds its maximum of ${limit} reflection streams; retry later`;
  return new ApiError(status.RESOURCE_EXHAUSTED, message, "REFLECTION_STREAM_LIMIT", { limit: String(limit), scope });
}
